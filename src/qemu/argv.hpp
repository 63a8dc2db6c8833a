// The QEMU command line for a domain: a pure function from the (already
// expanded, or hand-written) domain plus facts about the host to argv, shaped
// as libvirt shapes it (vnuma-spec.md section 7; checked against libvirt's own
// test data in tests/qemu/conformance_test.cpp).
//
// Safety: the result is handed to execve() as is, never to a shell. Every
// value taken from the XML is one argument or one JSON string; values put into
// QEMU's key=value syntax have their commas doubled (qemu_option.hpp), and
// values no syntax can carry (newline, NUL, control characters) are rejected
// with an error naming the element.
//
// Choices where libvirt has no direct equivalent (libvirt passes fds, vnumad
// passes paths):
//  - QMP is a unix socket path QEMU listens on (server=on,wait=off);
//  - <interface type='bridge'> and type='network' become
//    -netdev '{"type":"bridge","br":NAME}' (qemu-bridge-helper attaches the
//    tap; for 'network' the network name is used as the bridge name). QEMU
//    must fork the helper, so such guests get -sandbox ...,spawn=allow;
//    all others keep libvirt's spawn=deny;
//  - huge page backends use the hugetlbfs mount itself as mem-path (QEMU
//    creates and unlinks its file there), other file backends use
//    <state_dir>/<backend id>;
//  - <qemu:commandline> arguments come last, as written, except the options
//    vnumad sets itself to supervise and confine QEMU (argv_passthrough.cpp);
//  - no -run-with user=: vnumad starts QEMU as its runas user already
//    (qemu/qemu_user.hpp says why), and passes chardev log files as fds
//    (qemu/file_access.hpp).
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::qemu {

struct host_facts {
  std::string qemu_binary = "/usr/bin/qemu-system-x86_64";
  // Host NUMA nodes that exist. Every nodeset in <numatune> and every memory
  // device <nodemask> must be a subset ("NUMA node 4 is unavailable").
  // Empty = unknown: no check (unit tests of unrelated options).
  config::id_set host_nodes;
  // For <numatune><memory placement='auto'> (or no nodeset): the nodes the
  // partitioner chose. Unset = all host_nodes (libvirt's numad advice stand-in).
  std::optional<config::id_set> auto_nodeset;
  std::map<std::uint64_t, std::string> hugetlbfs_mounts;  // page size bytes -> mount path
  std::uint64_t default_hugepage_bytes = 2 * 1024 * 1024;
  std::string qmp_socket_path;                             // required
  // Serial port 0 (pty or file) becomes a socket chardev here, which the
  // daemon connects to for `vnumactl console`; empty: a plain pty or file.
  std::string console_socket_path;
  std::string state_dir;                                   // per-guest dir for memory-backend-file paths
};

// Builds argv (argv[0] = host.qemu_binary). Fails with a message naming the
// element for: host nodes that do not exist, memory devices without
// <maxMemory> or guest NUMA, references to missing guest cells, a topology
// that does not match <vcpu>, a missing hugetlbfs mount, unrepresentable
// values, and devices vnumad does not drive.
result<std::vector<std::string>> build_argv(const config::domain& d, const host_facts& host);

// A vCPU that is online at start but hotpluggable: QEMU starts with only the
// non-hotpluggable ones (-smp CUR); the supervisor adds these with QMP
// device_add while the guest is still paused (-S), in this order.
struct hotplug_vcpu {
  unsigned id = 0;                     // libvirt vCPU id
  std::string driver;                  // e.g. "host-x86_64-cpu"
  std::string qom_id;                  // "vcpu<id>"
  unsigned socket_id = 0, die_id = 0, module_id = 0, core_id = 0, thread_id = 0;
  std::optional<unsigned> node_id;     // guest NUMA cell
  // The arguments of QMP device_add.
  boost::json::object device_add_arguments(bool with_module_id = false) const;
};

// Enabled hotpluggable vCPUs from <vcpus>, ordered by `order` (then id).
// Fails when the non-hotpluggable online vCPUs are not ids 0..CUR-1 (QEMU
// always creates the first CUR) or a vCPU is offline but not hotpluggable.
result<std::vector<hotplug_vcpu>> vcpus_to_hotplug(const config::domain& d);

// The QEMU CPU model name for -cpu and the hotplug driver ("qemu64", "host", "max", ...).
std::string cpu_model_name(const config::domain& d);

}  // namespace vnumad::qemu
