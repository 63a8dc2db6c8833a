// placement_of_explicit (partition.hpp): what a hand-written libvirt-style
// domain holds, so the ledger can count it next to expanded guests.
#include "vnuma/partition.hpp"

#include "config/units.hpp"
#include "vnuma/partition_rules.hpp"

#include <algorithm>

namespace vnumad::vnuma {

namespace {

// libvirt's wording (numatune-memnode-unavailable-strict,
// numatune-static-nodeset-exceed-hostnode): the lowest missing node is named.
result<void> check_host_nodes(const id_set& nodeset, const host_topology& host, std::string_view element) {
  for (unsigned id : nodeset)
    if (!host.find_node(id))
      return make_error(errc::node_unavailable, "NUMA node " + std::to_string(id) + " is unavailable (" +
                                                    std::string(element) + " nodeset='" +
                                                    config::format_id_set(nodeset) + "'; host nodes are " +
                                                    config::format_id_set(host.node_ids()) + ")");
  return {};
}

// Memory bound to several nodes is counted evenly over them, the first nodes
// taking the remainder (interleave and multi-node strict alike).
void charge(placement& p, const id_set& nodes, std::uint64_t bytes, std::uint64_t page_bytes) {
  const std::uint64_t n = nodes.size();
  std::uint64_t i = 0;
  for (unsigned node : nodes) {
    std::uint64_t share = bytes / n + (i++ < bytes % n ? 1 : 0);
    if (share == 0) continue;
    p.memory_per_node[node] += share;
    if (page_bytes) p.hugepages_per_node[{node, page_bytes}] += (share + page_bytes - 1) / page_bytes;
  }
}

}  // namespace

result<placement> placement_of_explicit(const config::domain& d, const host_topology& host) {
  placement p;
  p.guest = d.name;
  const id_set host_cpus = host.all_cpus();

  std::optional<id_set> global;
  std::map<unsigned, id_set> memnodes;
  if (d.numatune) {
    if (d.numatune->memory && d.numatune->memory->nodeset) {
      if (auto ok = check_host_nodes(*d.numatune->memory->nodeset, host, "<numatune><memory>"); !ok) return ok.error();
      global = d.numatune->memory->nodeset;
    }
    for (const auto& m : d.numatune->memnodes) {
      std::string element = "<memnode cellid='" + std::to_string(m.cellid) + "'>";
      if (auto ok = check_host_nodes(m.nodeset, host, element); !ok) return ok.error();
      memnodes[m.cellid] = m.nodeset;
    }
  }

  // vCPU pins: <vcpupin>, else <vcpu cpuset>, else none (floating).
  const unsigned vcpus = d.vcpu.max;
  std::vector<id_set> pins(vcpus, d.vcpu.cpuset.value_or(id_set{}));
  if (d.cputune)
    for (const auto& pin : d.cputune->vcpupins)
      if (pin.vcpu < vcpus) pins[pin.vcpu] = pin.cpuset;
  for (unsigned v = 0; v < vcpus; ++v)
    for (unsigned cpu : pins[v])
      if (!host_cpus.contains(cpu))
        return make_error(errc::invalid_value, "<vcpupin vcpu='" + std::to_string(v) + "' cpuset='" +
                                                   config::format_id_set(pins[v]) + "'>: host CPU " +
                                                   std::to_string(cpu) + " does not exist (host CPUs are " +
                                                   config::format_id_set(host_cpus) + ")");

  // Cells in id order; a domain without <numa> is one cell holding it all.
  std::vector<config::numa_cell> cells = d.cpu.cells;
  std::sort(cells.begin(), cells.end(), [](const auto& a, const auto& b) { return a.id < b.id; });
  if (cells.empty()) {
    config::numa_cell all;
    id_set ids;
    for (unsigned v = 0; v < vcpus; ++v) ids.insert(v);
    all.cpus = ids;
    all.memory_bytes = d.total_memory_bytes();
    cells.push_back(std::move(all));
  }
  std::vector<unsigned> cell_of(vcpus, cells.front().id);  // libvirt puts unlisted vCPUs in cell 0
  for (const auto& cell : cells) {
    const id_set vcpu_ids = cell.cpus.value_or(id_set{});
    for (unsigned v : vcpu_ids)
      if (v < vcpus) cell_of[v] = cell.id;
    const std::uint64_t page = hugepage_size_for_cell(d, cell.id, host);
    const id_set* bound = memnodes.contains(cell.id) ? &memnodes[cell.id] : (global ? &*global : nullptr);
    unsigned node = 0;
    if (bound) {
      node = *bound->begin();
      charge(p, *bound, cell.memory_bytes, page);
    } else {
      // Unbound memory lands wherever the kernel puts it: the ledger cannot
      // count it against a node. Name the node its vCPUs run on, if one.
      id_set pinned_nodes;
      for (unsigned v : vcpu_ids)
        if (v < vcpus)
          for (unsigned cpu : pins[v])
            if (auto n = host.node_of_cpu(cpu)) pinned_nodes.insert(*n);
      id_set with_cpus = host.nodes_with_cpus();
      node = pinned_nodes.size() == 1 ? *pinned_nodes.begin() : (with_cpus.empty() ? 0 : *with_cpus.begin());
      p.warnings.push_back("cell " + std::to_string(cell.id) + " memory (" + config::format_size(cell.memory_bytes) +
                           ") is not bound to a host node; the ledger does not count it");
    }
    p.cells.push_back(cell_placement{cell.id, node, vcpu_ids, cell.memory_bytes, page});
  }
  for (const auto& dimm : d.devices.memory_devices)
    if (dimm.source_nodemask) {
      if (auto ok = check_host_nodes(*dimm.source_nodemask, host, "<memory model='" + dimm.model + "'><source><nodemask>");
          !ok)
        return ok.error();
      charge(p, *dimm.source_nodemask, dimm.target_size_bytes, dimm.source_pagesize_bytes.value_or(0));
    }
  for (unsigned v = 0; v < vcpus; ++v) p.vcpus.push_back(vcpu_placement{v, cell_of[v], pins[v]});
  if (d.cputune && d.cputune->emulatorpin) p.emulator_cpus = *d.cputune->emulatorpin;
  return p;
}

}  // namespace vnumad::vnuma
