// Internal pieces of build_argv (argv.cpp), one file per concern: memory and
// guest NUMA (argv_memory.cpp), CPUs (argv_cpu.cpp), devices
// (argv_devices.cpp). Not for use outside src/qemu/argv*.cpp.
#pragma once

#include "qemu/argv.hpp"
#include "qemu/pci_address.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>
#include <vector>

namespace vnumad::qemu::detail {

// One command-line option. A -device whose PCI placement is known only when
// every device is placed (multifunction) carries `pci` and gets "bus"/"addr"
// when the argv is written out.
struct argv_item {
  std::string option;                    // "-object"; "" for a bare flag already in value
  std::string value;
  std::optional<boost::json::object> device;
  std::optional<pci_slot> pci;
};

struct argv_list {
  std::vector<argv_item> items;
  void add(std::string option, std::string value = {}) { items.push_back({std::move(option), std::move(value), {}, {}}); }
  void add_json(std::string option, const boost::json::object& o);
  void add_device(boost::json::object o, std::optional<pci_slot> pci = {}) {
    items.push_back({"-device", {}, std::move(o), pci});
  }
};

// Guest cells in id order with the vCPUs that no cell lists added to the
// first cell (libvirt does the same).
std::vector<config::numa_cell> effective_cells(const config::domain& d);

// -m value, the per-cell backends + -numa options, the memory devices.
struct memory_plan {
  std::string m_value;
  bool pc_ram_backend = false;           // -machine memory-backend=pc.ram
  bool nvdimm = false;                   // -machine nvdimm=on
  argv_list guest_ram;                   // pc.ram object, or per-cell objects and -numa node/dist
  argv_list devices;                     // memory device backends and -device
};
result<memory_plan> plan_memory(const config::domain& d, const host_facts& host, pci_allocator& pci);

// -smp value.
result<std::string> smp_value(const config::domain& d);

// Controllers, disks, interfaces, serial ports, balloon.
result<void> plan_controllers(const config::domain& d, pci_allocator& pci, argv_list& out);
result<void> plan_devices(const config::domain& d, const host_facts& host, pci_allocator& pci, argv_list& out);
// The serial ports (argv_serial.cpp). With a console socket, serial port 0
// of type pty or file is a socket chardev there (vnumactl console), a file
// serial's path becoming its logfile.
result<void> plan_serials(const config::domain& d, const std::string& console_socket, argv_list& out);

// -object iothread,id=iothreadN for N in 1..<iothreads>.
void add_iothreads(const config::domain& d, argv_list& out);
// The <qemu:commandline> arguments, refusing those vnumad sets itself
// (argv_passthrough.cpp says which and why).
result<std::vector<std::string>> passthrough_args(const config::domain& d);

// Writes the items, resolving -device PCI placement.
void flush(const argv_list& list, const pci_allocator& pci, std::vector<std::string>& argv);

// "<what>: NUMA node N is unavailable (host nodes: 0-3)" when `nodes` is not
// a subset of the host's nodes.
result<void> check_host_nodes(const config::id_set& nodes, const host_facts& host, std::string_view what);

}  // namespace vnumad::qemu::detail
