// One function per QMP command the daemon uses: encoders build a qmp_command,
// decoders turn the "return" value into plain structs. Pure, no I/O, so they
// are tested on recorded replies of the real QEMU (tests/data/qmp).
#pragma once

#include "qmp/qmp_message.hpp"
#include "util/error.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vnumad::qmp {

// The topology properties of a vCPU slot; absent keys stay empty (QEMU leaves
// out what the machine does not have, e.g. die-id or cluster-id).
struct cpu_props {
  std::optional<std::int64_t> node_id;
  std::optional<std::int64_t> socket_id;
  std::optional<std::int64_t> die_id;
  std::optional<std::int64_t> cluster_id;
  std::optional<std::int64_t> core_id;
  std::optional<std::int64_t> thread_id;

  friend bool operator==(const cpu_props&, const cpu_props&) = default;
};

// One entry of query-hotpluggable-cpus: a slot, plugged when qom_path is set.
struct hotpluggable_cpu {
  std::string type;  // the device_add driver, e.g. "max-x86_64-cpu"
  std::int64_t vcpus_count = 1;
  cpu_props props;
  std::optional<std::string> qom_path;

  bool plugged() const { return qom_path.has_value(); }
};

// One entry of query-cpus-fast: a present vCPU and its host thread.
struct cpu_info {
  std::int64_t cpu_index = 0;
  std::int64_t thread_id = 0;  // host TID of the vCPU thread, for pinning
  cpu_props props;
  std::string qom_path;
  std::string target;
};

// One entry of query-memory-devices ("dimm" and friends).
struct memory_device {
  std::string type;  // "dimm", "nvdimm", "virtio-mem", ...
  std::string id;
  std::string memdev;  // QOM path of the backend, e.g. "/objects/mem-dimm0"
  std::uint64_t addr = 0;
  std::uint64_t size = 0;
  std::int64_t slot = -1;
  std::int64_t node = -1;
  bool hotplugged = false;
  bool hotpluggable = false;
};

// One entry of query-memdev: a memory backend object and its binding.
struct memdev {
  std::string id;                  // the object id, e.g. "ram-node0", "memdimm0"
  std::uint64_t size = 0;
  std::set<unsigned> host_nodes;   // empty: not bound
  std::string policy;              // "default", "preferred", "bind", "interleave"
  bool share = false;              // MAP_SHARED (memfd, share=on files)
};

struct vm_status {
  std::string status;  // "prelaunch", "running", "paused", "shutdown", ...
  bool running = false;
};

// Encoding the props back into a device_add for the same slot.
boost::json::object encode_cpu_props(const cpu_props& props);

qmp_command query_hotpluggable_cpus();
result<std::vector<hotpluggable_cpu>> decode_hotpluggable_cpus(const boost::json::value& reply);

// device_add driver=TYPE id=ID plus the slot's props.
qmp_command device_add_cpu(const std::string& type, const std::string& id, const cpu_props& props);

qmp_command query_cpus_fast();
result<std::vector<cpu_info>> decode_cpus_fast(const boost::json::value& reply);

// query-iothreads: each iothread object's id ("iothread1") and host thread.
struct iothread_info {
  std::string id;
  std::int64_t thread_id = 0;
};
qmp_command query_iothreads();
result<std::vector<iothread_info>> decode_iothreads(const boost::json::value& reply);

qmp_command device_del(const std::string& id);

// object-add memory-backend-ram, bound to host nodes when `host_nodes` is not
// empty. `policy` is QEMU's HostMemPolicy: "default", "preferred", "bind",
// "interleave".
qmp_command object_add_memory_backend_ram(const std::string& id, std::uint64_t size_bytes,
                                          const std::set<unsigned>& host_nodes, const std::string& policy = "bind");
// object-add / device_add with arguments built elsewhere (qemu/memory_hotplug
// builds a dimm's backend and device as boot-time -object/-device JSON).
qmp_command object_add(boost::json::object arguments);
qmp_command device_add(boost::json::object arguments);
qmp_command object_del(const std::string& id);

// device_add pc-dimm backed by `memdev` (the object id) on guest node `node`.
qmp_command device_add_pc_dimm(const std::string& id, const std::string& memdev, unsigned node);

qmp_command query_memory_devices();
result<std::vector<memory_device>> decode_memory_devices(const boost::json::value& reply);

qmp_command query_memdev();
result<std::vector<memdev>> decode_memdev(const boost::json::value& reply);

// The id of the device a DEVICE_DELETED event is about: its "device", or,
// when QEMU only names a path (QEMU 10 reports a vCPU unplug as
// {"path": "/machine/peripheral/vcpu5/lapic"}), the id under
// /machine/peripheral/. Empty when neither says.
std::string deleted_device_id(const boost::json::object& event_data);

qmp_command cont();
qmp_command stop();
qmp_command system_powerdown();
qmp_command system_reset();
qmp_command quit();

qmp_command query_status();
result<vm_status> decode_status(const boost::json::value& reply);

}  // namespace vnumad::qmp
