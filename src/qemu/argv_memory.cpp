// Guest RAM: -m, the memory backends of the guest NUMA cells (or pc.ram) and
// -numa node/dist; memory devices are in argv_memory_devices.cpp. The JSON
// compares equal to libvirt's for the conformance cases.
#include "qemu/argv_memory.hpp"

#include <algorithm>
#include <regex>

namespace vnumad::qemu::detail {
namespace {

using config::id_set;
using config::MiB;

// Machine types older than 5.1 still take "-numa node,mem=" when no cell
// needs a backend of its own; QEMU refuses mem= on newer ones.
bool legacy_numa_mem(const config::domain& d) {
  static const std::regex versioned(R"(^pc-(?:i440fx-|q35-)?(\d+)\.(\d+)$)");
  std::smatch m;
  std::string machine = d.os.machine.value_or("");
  if (!std::regex_match(machine, m, versioned)) return false;
  int major = std::stoi(m[1]), minor = std::stoi(m[2]);
  return major < 5 || (major == 5 && minor < 1);
}

}  // namespace

std::vector<config::numa_cell> effective_cells(const config::domain& d) {
  auto cells = d.cpu.cells;
  std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (cells.empty()) return cells;
  id_set listed;
  for (const auto& c : cells)
    if (c.cpus) listed.insert(c.cpus->begin(), c.cpus->end());
  for (unsigned v = 0; v < d.vcpu.max; ++v)
    if (!listed.count(v)) {
      if (!cells.front().cpus) cells.front().cpus.emplace();
      cells.front().cpus->insert(v);
    }
  return cells;
}

result<void> check_host_nodes(const config::id_set& nodes, const host_facts& host, std::string_view what) {
  if (host.host_nodes.empty()) return {};
  for (unsigned n : nodes)
    if (!host.host_nodes.count(n))
      return make_error(errc::node_unavailable, std::string(what) + ": NUMA node " + std::to_string(n) +
                                                    " is unavailable (host nodes: " +
                                                    config::format_id_set(host.host_nodes) + ")");
  return {};
}

result<memory_plan> plan_memory(const config::domain& d, const host_facts& host, pci_allocator& pci) {
  memory_builder b(d, host);
  memory_plan plan;
  const auto& cells = b.cells();

  // Host nodes named anywhere in <numatune> must exist, bound or not.
  if (d.numatune) {
    if (d.numatune->memory && d.numatune->memory->nodeset && d.numatune->memory->placement != "auto")
      if (auto ok = check_host_nodes(*d.numatune->memory->nodeset, host, "<numatune><memory nodeset>"); !ok)
        return ok.error();
    for (const auto& mn : d.numatune->memnodes) {
      std::string what = "<numatune><memnode cellid='" + std::to_string(mn.cellid) + "'>";
      if (auto ok = check_host_nodes(mn.nodeset, host, what); !ok) return ok.error();
      if (cells.empty())
        return make_error(errc::invalid_value, what + ": Element 'memnode' is invalid without any guest NUMA cells");
      if (!b.find_cell(mn.cellid))
        return make_error(errc::invalid_value, what + ": guest NUMA cell " + std::to_string(mn.cellid) +
                                                   " does not exist (cells: " +
                                                   std::to_string(cells.size()) + ")");
    }
    if (!d.numatune->memnodes.empty() && d.numatune->memory && d.numatune->memory->placement == "auto")
      return make_error(errc::unsupported,
                        "<numatune><memnode>: Per-node binding is not compatible with automatic NUMA placement "
                        "(<numatune><memory placement='auto'>); give <memory> a nodeset");
  }

  // Sizes are rounded up to 1 MiB per cell as libvirt does; -m is their sum.
  std::uint64_t initial = 0;
  for (const auto& c : cells) initial += round_up(c.memory_bytes, MiB);
  if (cells.empty()) initial = round_up(d.total_memory_bytes(), MiB);
  if (initial == 0) return make_error(errc::missing_element, "<memory>: the guest has no memory");

  const bool hotplug = d.max_memory_bytes.has_value();
  if (hotplug && cells.empty())
    return make_error(errc::unsupported,
                      "<maxMemory>: At least one numa node has to be configured when enabling memory hotplug "
                      "(add <cpu><numa><cell>)");
  if (!d.devices.memory_devices.empty() && !hotplug)
    return make_error(errc::missing_element,
                      "<devices><memory>: memory devices need <maxMemory slots='N'> to reserve address space");
  plan.m_value = "size=" + std::to_string(initial / 1024) + "k";
  if (hotplug) {
    if (d.max_memory_slots && *d.max_memory_slots) plan.m_value += ",slots=" + std::to_string(*d.max_memory_slots);
    plan.m_value += ",maxmem=" + std::to_string(*d.max_memory_bytes / 1024) + "k";
  }

  if (cells.empty()) {
    auto bind = b.cell_binding(std::nullopt);
    if (!bind) return bind.error();
    memory_builder::backend_request r;
    r.id = "pc.ram";
    r.what = "<memory>";
    r.size = initial;
    r.page = cell_page_size(d, 0, host);
    r.bind = *bind;
    auto o = b.backend(r);
    if (!o) return o.error();
    plan.guest_ram.add_json("-object", *o);
    plan.pc_ram_backend = true;
  } else {
    std::vector<boost::json::object> backends;
    bool all_plain = true;
    for (const auto& c : cells) {
      auto bind = b.cell_binding(c.id);
      if (!bind) return bind.error();
      memory_builder::backend_request r;
      r.id = "ram-node" + std::to_string(c.id);
      r.what = "<cell id='" + std::to_string(c.id) + "'>";
      r.size = round_up(c.memory_bytes, MiB);
      r.cell = c.id;
      r.page = cell_page_size(d, c.id, host);
      r.access = c.mem_access;
      r.discard = c.discard;
      r.bind = *bind;
      auto o = b.backend(r);
      if (!o) return o.error();
      all_plain = all_plain && o->size() == 3 && (*o)["qom-type"] == "memory-backend-ram";
      backends.push_back(std::move(*o));
    }
    const bool legacy = all_plain && legacy_numa_mem(d);
    for (std::size_t i = 0; i < cells.size(); ++i) {
      const auto& c = cells[i];
      std::string node = "node,nodeid=" + std::to_string(c.id);
      if (c.cpus && !c.cpus->empty()) node += ",cpus=" + config::format_id_ranges(*c.cpus, ",cpus=");
      if (legacy) {
        node += ",mem=" + std::to_string(round_up(c.memory_bytes, MiB) / MiB);
      } else {
        plan.guest_ram.add_json("-object", backends[i]);
        node += ",memdev=ram-node" + std::to_string(c.id);
      }
      plan.guest_ram.add("-numa", node);
    }
    bool any_distance = std::any_of(cells.begin(), cells.end(), [](const auto& c) { return !c.distances.empty(); });
    if (any_distance)
      for (const auto& src : cells)
        for (const auto& dst : cells) {
          unsigned val = src.id == dst.id ? 10 : 20;
          if (auto it = src.distances.find(dst.id); it != src.distances.end()) val = it->second;
          else if (auto jt = dst.distances.find(src.id); jt != dst.distances.end()) val = jt->second;
          plan.guest_ram.add("-numa", "dist,src=" + std::to_string(src.id) + ",dst=" + std::to_string(dst.id) +
                                          ",val=" + std::to_string(val));
        }
  }

  if (auto ok = plan_memory_devices(d, b, pci, plan); !ok) return ok.error();
  return plan;
}

}  // namespace vnumad::qemu::detail
