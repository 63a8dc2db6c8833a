#include "config/domain_validate.hpp"

#include "config/units.hpp"

#include <set>
#include <string>

namespace vnumad::config {
namespace {

// Each check returns the first problem; validate_domain adds the source prefix.
using check = result<void>;

error fail(errc code, std::string message) { return make_error(code, std::move(message)); }

check check_vnuma_conflicts(const domain& d) {
  if (!d.vnuma) return {};
  const std::string head = "<vnuma> derives ";
  auto conflict = [&](std::string_view element) {
    return fail(errc::conflicting_element,
                head + std::string(element) + ", but the domain also writes " + std::string(element) +
                    " by hand: remove " + std::string(element) + " or remove <vnuma>");
  };
  if (d.cpu.topology) return conflict("<cpu><topology>");
  if (!d.cpu.cells.empty()) return conflict("<cpu><numa>");
  if (d.cputune && !d.cputune->vcpupins.empty()) return conflict("<cputune><vcpupin>");
  if (d.cputune && d.cputune->emulatorpin) return conflict("<cputune><emulatorpin>");
  if (d.numatune) return conflict("<numatune>");
  if (!d.vcpus.empty()) return conflict("<vcpus>");
  const vnuma_def& v = *d.vnuma;
  if (v.mode != vnuma_mode::node && (v.partition_nodeset || v.partition_cells))
    return fail(errc::conflicting_element, "<vnuma mode='" + std::string(to_string(v.mode)) +
                                               "'><partition>: <partition> is only valid with mode='node'");
  if (v.partition_cells) {
    unsigned cells = *v.partition_cells;
    if (cells == 0)
      return fail(errc::invalid_value, "<partition cells='0'>: a guest needs at least 1 cell");
    if (cells > d.vcpu.max)
      return fail(errc::invalid_value, "<partition cells='" + std::to_string(cells) + "'>: " + std::to_string(cells) +
                                           " cells is more than the " + std::to_string(d.vcpu.max) +
                                           " vCPUs of <vcpu> (every cell needs a vCPU; use at most " +
                                           std::to_string(d.vcpu.max) + " cells)");
  }
  if (v.memory_bytes && *v.memory_bytes == 0)
    return fail(errc::invalid_value, "<vnuma><memory>0</memory>: guest memory must be positive");
  return {};
}

check check_vcpus(const domain& d) {
  const unsigned max = d.vcpu.max;
  if (max < 1 || max > max_vcpus)
    return fail(errc::invalid_value, "<vcpu>" + std::to_string(max) + "</vcpu>: the vCPU count must be 1.." +
                                         std::to_string(max_vcpus));
  if (d.vcpu.current) {
    unsigned cur = *d.vcpu.current;
    if (cur < 1)
      return fail(errc::invalid_value, "<vcpu current='0'>: at least 1 vCPU must be online (valid: 1.." +
                                           std::to_string(max) + ")");
    if (cur > max)
      return fail(errc::invalid_value, "<vcpu current='" + std::to_string(cur) + "'>: current " + std::to_string(cur) +
                                           " is larger than the " + std::to_string(max) + " vCPUs of <vcpu> (valid: 1.." +
                                           std::to_string(max) + ")");
  }
  if (d.vcpus.empty()) return {};
  if (d.vcpus.size() != max)
    return fail(errc::invalid_value, "<vcpus> lists " + std::to_string(d.vcpus.size()) + " vCPUs but <vcpu> has " +
                                         std::to_string(max) + " (list each vCPU 0.." + std::to_string(max - 1) +
                                         " once)");
  std::set<unsigned> seen;
  unsigned enabled = 0;
  for (const vcpu_entry& e : d.vcpus) {
    std::string elem = "<vcpus><vcpu id='" + std::to_string(e.id) + "'>";
    if (e.id >= max)
      return fail(errc::invalid_value, elem + ": id " + std::to_string(e.id) + " is out of range (valid: 0.." +
                                           std::to_string(max - 1) + ")");
    if (!seen.insert(e.id).second) return fail(errc::duplicate_element, elem + " is listed twice");
    if (!e.enabled && !e.hotpluggable)
      return fail(errc::invalid_value, elem + ": a vCPU that is not hotpluggable must be enabled");
    if (e.enabled) ++enabled;
  }
  if (enabled != d.current_vcpus())
    return fail(errc::invalid_value, "<vcpus> enables " + std::to_string(enabled) + " vCPUs but <vcpu current> is " +
                                         std::to_string(d.current_vcpus()) + " (they must agree)");
  return {};
}

check check_cputune(const domain& d) {
  if (!d.cputune) return {};
  std::set<unsigned> seen;
  for (const vcpupin& p : d.cputune->vcpupins) {
    std::string elem = "<vcpupin vcpu='" + std::to_string(p.vcpu) + "'>";
    if (p.vcpu >= d.vcpu.max)
      return fail(errc::invalid_value, elem + ": vCPU " + std::to_string(p.vcpu) + " does not exist (valid: 0.." +
                                           std::to_string(d.vcpu.max - 1) + ")");
    if (!seen.insert(p.vcpu).second) return fail(errc::duplicate_element, elem + " appears twice (one per vCPU)");
  }
  return {};
}

// libvirt numbers iothreads 1..<iothreads>; a pin or a disk naming another
// would leave QEMU without the object it refers to.
check check_iothreads(const domain& d) {
  auto valid = [&](unsigned id) { return id >= 1 && id <= d.iothreads; };
  auto range = [&] { return d.iothreads ? " (valid: 1.." + std::to_string(d.iothreads) + ")" : " (no <iothreads>)"; };
  if (d.cputune) {
    std::set<unsigned> seen;
    for (const iothreadpin& p : d.cputune->iothreadpins) {
      std::string elem = "<iothreadpin iothread='" + std::to_string(p.iothread) + "'>";
      if (!valid(p.iothread))
        return fail(errc::invalid_value, elem + ": iothread " + std::to_string(p.iothread) + " does not exist" + range());
      if (!seen.insert(p.iothread).second)
        return fail(errc::duplicate_element, elem + " appears twice (one per iothread)");
      if (p.cpuset.empty()) return fail(errc::invalid_value, elem + ": the cpuset is empty");
    }
  }
  for (const disk_def& disk : d.devices.disks) {
    if (!disk.iothread) continue;
    std::string elem = "<disk><target dev='" + disk.target_dev + "'><driver iothread='" +
                       std::to_string(*disk.iothread) + "'>";
    if (!valid(*disk.iothread))
      return fail(errc::invalid_value, elem + ": iothread " + std::to_string(*disk.iothread) + " does not exist" + range());
    if (disk.bus != "virtio")
      return fail(errc::unsupported, elem + ": only virtio disks run in an iothread (bus is '" + disk.bus + "')");
  }
  return {};
}

check check_cells(const domain& d) {
  const auto& cells = d.cpu.cells;
  if (d.cpu.topology) {
    const cpu_topology& t = *d.cpu.topology;
    unsigned long long product = 1ull * t.sockets * t.dies * t.clusters * t.cores * t.threads;
    if (product != d.vcpu.max)
      return fail(errc::invalid_value,
                  "<topology sockets='" + std::to_string(t.sockets) + "' dies='" + std::to_string(t.dies) +
                      "' clusters='" + std::to_string(t.clusters) + "' cores='" + std::to_string(t.cores) +
                      "' threads='" + std::to_string(t.threads) + "'>: gives " + std::to_string(product) +
                      " vCPUs but <vcpu> has " + std::to_string(d.vcpu.max) +
                      " (sockets*dies*clusters*cores*threads must equal it)");
  }
  if (cells.empty()) return {};
  std::set<unsigned> ids;
  for (const numa_cell& c : cells)
    if (!ids.insert(c.id).second)
      return fail(errc::duplicate_element, "<cell id='" + std::to_string(c.id) +
                                               "'> appears twice: exactly one <cell> per guest NUMA cell is allowed");
  if (*ids.rbegin() != cells.size() - 1)
    return fail(errc::invalid_value, "<cpu><numa>: cell ids " + format_id_set(id_set(ids.begin(), ids.end())) +
                                         " are not contiguous from 0 (valid: 0-" + std::to_string(cells.size() - 1) +
                                         ", one <cell> per id)");
  id_set used;
  for (const numa_cell& c : cells) {
    std::string elem = "<cell id='" + std::to_string(c.id) + "'";
    if (c.memory_bytes == 0) return fail(errc::invalid_value, elem + " memory='0'>: a cell needs memory");
    if (!c.cpus) continue;
    elem += " cpus='" + format_id_set(*c.cpus) + "'>";
    for (unsigned cpu : *c.cpus) {
      if (cpu >= d.vcpu.max)
        return fail(errc::invalid_value, elem + ": vCPU " + std::to_string(cpu) + " does not exist (valid: 0.." +
                                             std::to_string(d.vcpu.max - 1) + ")");
      if (!used.insert(cpu).second)
        return fail(errc::invalid_value, elem + ": vCPU " + std::to_string(cpu) +
                                             " is already in another cell (cells may not overlap)");
    }
    for (auto [to, value] : c.distances) {
      if (!ids.count(to))
        return fail(errc::invalid_value, elem + "<sibling id='" + std::to_string(to) + "'>: there is no cell " +
                                             std::to_string(to));
      if ((to == c.id) != (value == 10))
        return fail(errc::invalid_value, elem + "<sibling id='" + std::to_string(to) + "' value='" +
                                             std::to_string(value) + "'>: the local distance is 10 and only it");
    }
  }
  return {};
}

check check_numatune(const domain& d) {
  if (!d.numatune) return {};
  const numatune_def& t = *d.numatune;
  if (t.memnodes.empty()) return {};
  if (d.cpu.cells.empty())
    return fail(errc::invalid_value, "<memnode cellid='" + std::to_string(t.memnodes.front().cellid) +
                                         "'>: element 'memnode' is invalid without any guest NUMA cells "
                                         "(add <cpu><numa><cell>, or use <numatune><memory>)");
  if (t.memory && t.memory->placement == "auto")
    return fail(errc::unsupported, "<numatune><memory placement='auto'> with <memnode>: per-node binding is not "
                                   "compatible with automatic NUMA placement (use placement='static' with a nodeset)");
  for (const memnode& m : t.memnodes)
    if (m.cellid >= d.cpu.cells.size())
      return fail(errc::invalid_value, "<memnode cellid='" + std::to_string(m.cellid) + "'>: there is no guest cell " +
                                           std::to_string(m.cellid) + " (valid: 0.." +
                                           std::to_string(d.cpu.cells.size() - 1) + ")");
  return {};
}

check check_memory(const domain& d) {
  const std::size_t cells = d.cpu.cells.size();
  // With <vnuma> the cells come from the expansion; the argv builder checks
  // memory devices against them.
  if (d.max_memory_bytes && cells == 0 && !d.vnuma)
    return fail(errc::unsupported, "<maxMemory>: At least one numa node has to be configured when enabling memory "
                                   "hotplug (add <cpu><numa><cell>, or use <vnuma>)");
  if (d.memory_bytes && *d.memory_bytes == 0)
    return fail(errc::invalid_value, "<memory>0</memory>: guest memory must be positive");
  if (!d.memory_bytes && cells == 0 && !d.vnuma)
    return fail(errc::missing_element, "<memory> is missing and there are no <cell> sizes to derive it from");
  for (const memory_device_def& m : d.devices.memory_devices) {
    std::string elem = "<memory model='" + m.model + "'>";
    if (m.target_size_bytes == 0) return fail(errc::invalid_value, elem + "<target><size>: must be positive");
    if (m.target_node && *m.target_node >= cells && !d.vnuma)
      return fail(errc::invalid_value, elem + "<target><node>" + std::to_string(*m.target_node) +
                                           "</node>: can't add memory backend for guest node '" +
                                           std::to_string(*m.target_node) + "' as the guest has only '" +
                                           std::to_string(cells) + "' NUMA nodes configured");
  }
  return {};
}

check check_controllers(const domain& d) {
  const std::size_t cells = d.cpu.cells.size();
  for (const controller_def& c : d.devices.controllers) {
    if (!c.target_node || d.vnuma) continue;
    if (*c.target_node >= cells)
      return fail(errc::invalid_value,
                  "<controller type='" + c.type + "' index='" + std::to_string(c.index) + "' model='" + c.model +
                      "'><target><node>" + std::to_string(*c.target_node) + "</node>: " +
                      (c.model.empty() ? "controller" : c.model) + " with index " + std::to_string(c.index) +
                      " is configured for a NUMA node (" + std::to_string(*c.target_node) +
                      ") not present in the domain's <cpu><numa> array (" + std::to_string(cells) + ")");
  }
  return {};
}

}  // namespace

result<void> validate_domain(const domain& d) {
  for (auto fn : {check_vnuma_conflicts, check_vcpus, check_cputune, check_iothreads, check_cells, check_numatune,
                  check_memory, check_controllers}) {
    auto r = fn(d);
    if (!r) {
      std::string source = !d.source_file.empty() ? d.source_file : "<domain " + d.name + ">";
      return make_error(r.error().code, source + ": " + r.error().message);
    }
  }
  return {};
}

}  // namespace vnumad::config
