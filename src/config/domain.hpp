// The domain model: plain structs for the parts of libvirt's domain XML that
// vnumad reads, derives or turns into a QEMU command line. Parsing and writing
// live in domain_xml.{hpp,cpp}; validation in domain_validate.{hpp,cpp}.
//
// Sizes are bytes. Ids are libvirt's (guest cell ids, vCPU ids, host node ids).
// Everything the model does not describe stays in `xml` (the parsed tree) so that
// writing back keeps unknown elements.
#pragma once

#include "config/cpuset.hpp"

#include <boost/property_tree/ptree.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::config {

// ---- <vnuma> -----------------------------------------------------------------

enum class vnuma_mode { host, node };
enum class vnuma_distribution { contiguous, siblings, round_robin, interleave };

std::string_view to_string(vnuma_mode m);
std::string_view to_string(vnuma_distribution d);  // "round-robin" etc., as in XML
// parse_* accept exactly the XML spellings; `what` names the attribute in errors.
result<vnuma_mode> parse_vnuma_mode(std::string_view text, std::string_view what = "<vnuma mode>");
result<vnuma_distribution> parse_vnuma_distribution(std::string_view text,
                                                    std::string_view what = "<vnuma distribution>");

struct vnuma_def {
  vnuma_mode mode = vnuma_mode::host;
  vnuma_distribution distribution = vnuma_distribution::contiguous;
  std::optional<std::uint64_t> memory_bytes;   // <vnuma><memory>
  std::optional<id_set> partition_nodeset;     // <partition nodeset> (host nodes)
  std::optional<unsigned> partition_cells;     // <partition cells>

  bool operator==(const vnuma_def&) const = default;
};

// ---- CPUs --------------------------------------------------------------------

struct vcpu_def {                              // <vcpu placement cpuset current>N</vcpu>
  unsigned max = 1;
  std::optional<unsigned> current;
  std::string placement = "static";            // static | auto
  std::optional<id_set> cpuset;                // host CPUs

  bool operator==(const vcpu_def&) const = default;
};

struct vcpu_entry {                            // <vcpus><vcpu id enabled hotpluggable order/>
  unsigned id = 0;
  bool enabled = true;
  bool hotpluggable = false;
  std::optional<unsigned> order;

  bool operator==(const vcpu_entry&) const = default;
};

struct vcpupin {
  unsigned vcpu = 0;
  id_set cpuset;                               // host CPUs

  bool operator==(const vcpupin&) const = default;
};

struct iothreadpin {                           // <iothreadpin iothread='1' cpuset='0-3'/>
  unsigned iothread = 0;                       // 1..<iothreads>
  id_set cpuset;                               // host CPUs

  bool operator==(const iothreadpin&) const = default;
};

struct cputune_def {
  std::vector<vcpupin> vcpupins;
  std::optional<id_set> emulatorpin;
  std::vector<iothreadpin> iothreadpins;

  bool operator==(const cputune_def&) const = default;
};

struct cpu_topology {
  unsigned sockets = 1;
  unsigned dies = 1;
  unsigned clusters = 1;
  unsigned cores = 1;
  unsigned threads = 1;

  bool operator==(const cpu_topology&) const = default;
};

struct numa_cell {
  unsigned id = 0;
  std::optional<id_set> cpus;                  // guest vCPU ids; absent = memory-only cell
  std::uint64_t memory_bytes = 0;
  std::optional<std::string> mem_access;       // shared | private
  std::optional<bool> discard;
  std::map<unsigned, unsigned> distances;      // sibling cell id -> value

  bool operator==(const numa_cell&) const = default;
};

struct cpu_def {
  std::string mode;                            // host-passthrough | host-model | maximum | custom | "" (absent)
  std::optional<std::string> match;
  std::optional<std::string> check;
  std::optional<std::string> model;
  std::optional<std::string> vendor;
  std::optional<cpu_topology> topology;
  std::vector<numa_cell> cells;                // <cpu><numa><cell>, in document order

  bool operator==(const cpu_def&) const = default;
};

// ---- memory ------------------------------------------------------------------

enum class numa_policy { strict, preferred, interleave, restrictive };
std::string_view to_string(numa_policy p);
result<numa_policy> parse_numa_policy(std::string_view text, std::string_view what = "<numatune mode>");

struct numatune_memory {
  numa_policy mode = numa_policy::strict;
  std::optional<id_set> nodeset;               // host nodes
  std::string placement = "static";            // static | auto

  bool operator==(const numatune_memory&) const = default;
};

struct memnode {
  unsigned cellid = 0;
  numa_policy mode = numa_policy::strict;
  id_set nodeset;                              // host nodes

  bool operator==(const memnode&) const = default;
};

struct numatune_def {
  std::optional<numatune_memory> memory;
  std::vector<memnode> memnodes;

  bool operator==(const numatune_def&) const = default;
};

struct hugepage_def {                          // <hugepages><page size unit nodeset/>
  std::uint64_t size_bytes = 0;                // 0 = the host's default huge page size
  std::optional<id_set> nodeset;               // guest cells

  bool operator==(const hugepage_def&) const = default;
};

struct memory_backing_def {
  bool hugepages = false;                      // <hugepages> present (possibly empty)
  std::vector<hugepage_def> pages;
  bool locked = false;
  bool nosharepages = false;
  std::optional<std::string> source_type;      // file | anonymous | memfd
  std::optional<std::string> access_mode;      // shared | private
  std::optional<std::string> allocation_mode;  // immediate | ondemand
  std::optional<unsigned> allocation_threads;
  bool discard = false;

  bool operator==(const memory_backing_def&) const = default;
};

// ---- devices -----------------------------------------------------------------

struct pci_address {
  unsigned domain = 0, bus = 0, slot = 0, function = 0;
  bool multifunction = false;

  bool operator==(const pci_address&) const = default;
};

struct drive_address {                         // <address type='drive'>
  unsigned controller = 0, bus = 0, target = 0, unit = 0;

  bool operator==(const drive_address&) const = default;
};

struct disk_def {
  std::string type = "file";                   // file | block
  std::string device = "disk";                 // disk | cdrom
  std::string driver_type = "raw";             // qcow2 | raw
  std::optional<std::string> cache;
  std::string source;                          // file= or dev=
  std::string target_dev;                      // sda, vda
  std::string bus;                             // virtio | sata | scsi | ide
  bool readonly = false;
  std::optional<pci_address> pci;
  std::optional<drive_address> drive;
  std::optional<unsigned> iothread;            // <driver iothread='N'>: virtio disks only

  bool operator==(const disk_def&) const = default;
};

struct controller_def {
  std::string type;                            // pci | usb | sata | scsi | virtio-serial | ide
  unsigned index = 0;
  std::string model;                           // pcie-root, pcie-root-port, pcie-expander-bus, qemu-xhci, ...
  std::optional<std::string> model_name;       // <model name='pxb-pcie'/>
  std::optional<unsigned> target_node;         // guest NUMA cell of an expander bus
  std::optional<unsigned> target_bus_nr;       // <target busNr>
  std::optional<unsigned> target_chassis;
  std::optional<unsigned> target_port;
  std::optional<pci_address> pci;

  bool operator==(const controller_def&) const = default;
};

struct interface_def {
  std::string type;                            // user | bridge | network
  std::optional<std::string> mac;
  std::optional<std::string> source;           // bridge or network name
  std::string model = "virtio";
  std::optional<pci_address> pci;

  bool operator==(const interface_def&) const = default;
};

struct chardev_def {                           // <serial> or <console>
  std::string kind;                            // serial | console
  std::string type = "pty";                    // pty | file | unix | null
  std::optional<std::string> path;             // <source path>
  std::optional<std::string> mode;             // unix: bind | connect
  std::optional<std::string> target_type;      // isa-serial | serial | virtio
  std::optional<unsigned> target_port;
  std::optional<std::string> model_name;

  bool operator==(const chardev_def&) const = default;
};

struct input_def {
  std::string type;                            // mouse | keyboard | tablet
  std::string bus;                             // ps2 | usb | virtio

  bool operator==(const input_def&) const = default;
};

struct memory_device_def {                     // <memory model='dimm|nvdimm|virtio-mem'>
  std::string model = "dimm";
  std::optional<std::string> access;           // shared | private
  std::optional<bool> discard;
  std::optional<std::uint64_t> source_pagesize_bytes;
  std::optional<id_set> source_nodemask;       // host nodes
  std::optional<std::string> source_path;      // nvdimm backing file
  std::optional<bool> source_pmem;
  std::uint64_t target_size_bytes = 0;
  std::optional<unsigned> target_node;         // guest cell
  std::optional<std::uint64_t> target_label_bytes;      // nvdimm <label><size>
  std::optional<bool> target_readonly;
  std::optional<std::uint64_t> target_block_bytes;      // virtio-mem
  std::optional<std::uint64_t> target_requested_bytes;  // virtio-mem
  std::optional<std::uint64_t> target_address_base;     // virtio-mem <address base>
  std::optional<bool> target_dynamic_memslots;          // virtio-mem <target dynamicMemslots='yes'>
  std::optional<pci_address> pci;              // virtio-mem <address type='pci'>
  std::optional<unsigned> address_slot;        // <address type='dimm' slot base>
  std::optional<std::uint64_t> address_base;
  std::optional<std::string> alias;            // <alias name>, used as the QEMU id when present

  bool operator==(const memory_device_def&) const = default;
};

struct devices_def {
  std::optional<std::string> emulator;
  std::vector<disk_def> disks;
  std::vector<controller_def> controllers;
  std::vector<interface_def> interfaces;
  std::vector<chardev_def> serials;
  std::vector<chardev_def> consoles;
  std::vector<input_def> inputs;
  std::optional<std::string> memballoon_model; // virtio | none
  std::vector<memory_device_def> memory_devices;

  bool operator==(const devices_def&) const = default;
};

// ---- <qemu:commandline> -------------------------------------------------------

// libvirt's QEMU namespace (http://libvirt.org/schemas/domain/qemu/1.0):
// arguments appended to the command line as given, environment variables set
// for QEMU. qemu/argv.hpp says what vnumad lets them override.
struct qemu_env {
  std::string name;
  std::string value;

  bool operator==(const qemu_env&) const = default;
};

struct qemu_commandline_def {
  std::vector<std::string> args;
  std::vector<qemu_env> env;

  bool operator==(const qemu_commandline_def&) const = default;
};

inline constexpr const char* qemu_namespace = "http://libvirt.org/schemas/domain/qemu/1.0";

// ---- the domain --------------------------------------------------------------

enum class lifecycle_action { destroy, restart, preserve, rename_restart, coredump_destroy, coredump_restart };
std::string_view to_string(lifecycle_action a);
result<lifecycle_action> parse_lifecycle_action(std::string_view text, std::string_view what = "lifecycle action");

struct os_def {
  std::string type = "hvm";
  std::optional<std::string> arch;
  std::optional<std::string> machine;
  std::vector<std::string> boot_devs;
  std::optional<std::string> kernel;
  std::optional<std::string> initrd;
  std::optional<std::string> cmdline;

  bool operator==(const os_def&) const = default;
};

struct domain {
  std::string type = "kvm";                    // kvm | qemu
  std::string name;
  std::optional<std::string> uuid;
  std::optional<std::uint64_t> memory_bytes;   // <memory>
  std::optional<std::uint64_t> current_memory_bytes;
  std::optional<std::uint64_t> max_memory_bytes;        // <maxMemory slots>
  std::optional<unsigned> max_memory_slots;
  vcpu_def vcpu;
  std::vector<vcpu_entry> vcpus;               // <vcpus>; empty when absent
  unsigned iothreads = 0;                      // <iothreads>N</iothreads>: ids 1..N
  std::optional<cputune_def> cputune;
  std::optional<numatune_def> numatune;
  std::optional<memory_backing_def> memory_backing;
  cpu_def cpu;                                 // mode "" when <cpu> is absent
  os_def os;
  std::vector<std::string> features;           // names of <features> children
  // <features><tcg><tb-cache unit='MiB'>N</tb-cache></tcg>: the size of
  // TCG's translation cache (QEMU -accel tcg,tb-size=, whole MiB). QEMU's
  // default is 1 GiB per guest, which a guest with locked memory faults in.
  std::optional<std::uint64_t> tcg_tb_cache_bytes;
  std::optional<std::string> clock_offset;
  lifecycle_action on_poweroff = lifecycle_action::destroy;
  lifecycle_action on_reboot = lifecycle_action::restart;
  lifecycle_action on_crash = lifecycle_action::destroy;
  devices_def devices;
  std::optional<vnuma_def> vnuma;
  std::optional<qemu_commandline_def> qemu_commandline;

  // What the file says that vnumad does not act on, one message each
  // ("<devices><sound model='ich9'>: not supported, ignored"): the parser
  // fills it from what it did not read (xml::usage_scope). Shown by expand and
  // plan, logged by the daemon; vnumad.conf `strict = true` makes them errors.
  std::vector<std::string> warnings;

  // Where it came from, for error messages ("" when built in memory).
  std::string source_file;
  // The parsed document (the <domain> element's tree). The writer starts from it
  // and replaces what the model owns, so unknown elements survive a round trip.
  boost::property_tree::ptree xml;

  // Total guest memory: <memory>, or the sum of the cells when <memory> is absent.
  std::uint64_t total_memory_bytes() const;
  // vCPUs online at start: <vcpu current>, else <vcpu>.
  unsigned current_vcpus() const { return vcpu.current.value_or(vcpu.max); }

  // Compares the model and `xml`; tests and change detection that want the
  // model only compare copies with `xml` and `source_file` cleared.
  bool operator==(const domain&) const = default;
};

}  // namespace vnumad::config
