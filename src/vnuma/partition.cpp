#include "vnuma/partition.hpp"

#include "config/units.hpp"
#include "vnuma/hotplug_order.hpp"
#include "vnuma/no_fit_explanation.hpp"
#include "vnuma/node_choice.hpp"
#include "vnuma/partition_pinning.hpp"
#include "vnuma/partition_rules.hpp"

#include <algorithm>
#include <map>

namespace vnumad::vnuma {

namespace {

using config::vnuma_distribution;

std::string quoted(std::string_view guest) { return "'" + std::string(guest) + "'"; }

// Spec section 1: with <vnuma> these are derived, never hand-written. The
// validator rejects them too; checking here keeps expand() safe on a domain
// built in memory.
result<void> check_no_derived_elements(const config::domain& d) {
  auto conflict = [&](std::string_view element) {
    return make_error(errc::conflicting_element,
                      "<vnuma> derives " + std::string(element) + ": remove the hand-written " +
                          std::string(element) + " or the <vnuma> element");
  };
  if (d.cpu.topology) return conflict("<cpu><topology>");
  if (!d.cpu.cells.empty()) return conflict("<cpu><numa>");
  if (d.cputune && !d.cputune->vcpupins.empty()) return conflict("<cputune><vcpupin>");
  if (d.cputune && d.cputune->emulatorpin) return conflict("<cputune><emulatorpin>");
  if (d.numatune) return conflict("<numatune>");
  if (!d.vcpus.empty()) return conflict("<vcpus>");
  return {};
}

std::string cell_list(const std::vector<unsigned>& cells) {
  std::string text = cells.size() == 1 ? "cell " : "cells ";
  for (std::size_t i = 0; i < cells.size(); ++i) text += (i ? ", " : "") + std::to_string(cells[i]);
  return text;
}

// Memory and huge pages per node against the ledger (spec section 3,
// "Memory" and "Overcommit").
result<void> check_memory(const placement& p, const ledger& held, bool allow_overcommit,
                          std::vector<std::string>& warnings) {
  auto cells_with = [&](unsigned node, std::uint64_t page) {
    std::vector<unsigned> ids;
    for (const auto& c : p.cells)
      if (c.host_node == node && c.hugepage_bytes == page) ids.push_back(c.cell);
    return ids;
  };
  for (const auto& [node, bytes] : p.memory_per_node) {
    const std::uint64_t need = p.normal_memory_on(node);
    const std::uint64_t have = held.free_memory(node, p.guest);
    if (need <= have) continue;
    std::string what = "node " + std::to_string(node) + " has " + config::format_size(have) + " free, guest " +
                       quoted(p.guest) + " needs " + config::format_size(need) + " for " +
                       cell_list(cells_with(node, 0));
    if (!allow_overcommit) return make_error(errc::insufficient_memory, what);
    warnings.push_back(what + " (overcommitted)");
  }
  for (const auto& [key, pages] : p.hugepages_per_node) {
    const std::uint64_t have = held.free_hugepages(key.first, key.second, p.guest);
    if (pages <= have) continue;
    std::string what = "node " + std::to_string(key.first) + " has " + std::to_string(have) + " free " +
                       config::format_size(key.second) + " huge pages, guest " + quoted(p.guest) + " needs " +
                       std::to_string(pages) + " for " + cell_list(cells_with(key.first, key.second));
    if (!allow_overcommit) return make_error(errc::insufficient_hugepages, what);
    warnings.push_back(what + " (overcommitted)");
  }
  return {};
}

// The expanded elements of spec section 1 written into a copy of the domain.
config::domain expanded_domain(const config::domain& d, const host_topology& host, const placement& p,
                               const config::cpu_topology& topology, const std::vector<id_set>& cells) {
  config::domain out = d;
  out.vnuma.reset();
  out.cpu.topology = topology;
  out.cpu.cells.clear();
  std::uint64_t total = 0;
  for (const auto& c : p.cells) {
    config::numa_cell cell;
    cell.id = c.cell;
    cell.cpus = c.vcpus;
    cell.memory_bytes = c.memory_bytes;
    for (const auto& other : p.cells)
      cell.distances[other.cell] = cell_distance(host, c.cell, c.host_node, other.cell, other.host_node);
    out.cpu.cells.push_back(std::move(cell));
    total += c.memory_bytes;
  }
  const unsigned vcpus = d.vcpu.max;
  std::vector<unsigned> online = online_set(cells, d.current_vcpus());
  id_set enabled(online.begin(), online.end());
  out.vcpus.clear();
  for (unsigned v = 0; v < vcpus; ++v) out.vcpus.push_back(config::vcpu_entry{v, enabled.contains(v), v != 0, {}});
  config::cputune_def tune = d.cputune.value_or(config::cputune_def{});
  tune.vcpupins.clear();
  for (const auto& v : p.vcpus) tune.vcpupins.push_back(config::vcpupin{v.vcpu, v.host_cpus});
  tune.emulatorpin = p.emulator_cpus;
  out.cputune = std::move(tune);
  config::numatune_def numatune;
  for (const auto& c : p.cells)
    numatune.memnodes.push_back(config::memnode{c.cell, config::numa_policy::strict, {c.host_node}});
  out.numatune = std::move(numatune);
  if (!out.memory_backing) out.memory_backing = config::memory_backing_def{};
  out.memory_backing->locked = true;
  out.devices.memballoon_model = "none";
  out.memory_bytes = total;
  out.current_memory_bytes = total;
  return out;
}

}  // namespace

result<expansion> expand(const config::domain& d, const host_topology& host, const ledger& held,
                         const expand_options& opt) {
  if (!d.vnuma)
    return make_error(errc::missing_element, "domain " + quoted(d.name) +
                                                 " has no <vnuma> element: nothing to expand (its placement is "
                                                 "what it writes, see placement_of_explicit)");
  if (auto ok = check_no_derived_elements(d); !ok) return ok.error();
  const config::vnuma_def& v = *d.vnuma;

  auto candidates = candidate_nodes(v, host);
  if (!candidates) return candidates.error();
  auto cells_count = cell_count(v, candidates->size());
  if (!cells_count) return cells_count.error();
  const unsigned C = *cells_count;
  const unsigned N = d.vcpu.max;
  if (auto ok = check_divisible(N, C); !ok) return ok.error();

  std::optional<std::uint64_t> M = v.memory_bytes ? v.memory_bytes : d.memory_bytes;
  if (!M || *M == 0)
    return make_error(errc::missing_element,
                      "<vnuma> needs the guest's memory: write <memory> or <vnuma><memory> (e.g. <memory "
                      "unit='GiB'>32</memory>)");

  const std::vector<id_set> cells = vcpus_per_cell(v.distribution, N, C);
  const config::cpu_topology topology = guest_topology(v.distribution, N, C, host.threads_per_core);
  const bool dedicated = v.distribution == vnuma_distribution::siblings;
  std::vector<std::uint64_t> page(C), bytes(C);
  for (unsigned k = 0; k < C; ++k) {
    page[k] = hugepage_size_for_cell(d, k, host);
    bytes[k] = cell_memory(*M, C, page[k]);
  }

  // Node choice (node_choice.hpp) only when mode='node' leaves more nodes
  // open than there are cells.
  std::vector<unsigned> nodes = *candidates;
  // Set when fewer candidates have room than the guest needs nodes: a failure
  // below is then explained by that, not by the first node that lacked.
  std::optional<std::string> too_few_nodes;
  if (v.mode == config::vnuma_mode::node && C < candidates->size()) {
    cell_demand demand;
    demand.vcpus = N / C;
    demand.dedicated = dedicated;
    demand.guest_threads = topology.threads;
    bool uniform_pages = true;
    for (unsigned k = 1; k < C; ++k) uniform_pages = uniform_pages && page[k] == page[0];
    // Mixed page sizes across cells are rare; the choice then ranks on normal
    // memory and the checks below still hold every cell to its own pages.
    demand.hugepage_bytes = uniform_pages ? page[0] : 0;
    demand.memory_bytes = cell_memory(*M, C, demand.hugepage_bytes);
    std::vector<node_assessment> assessed;
    for (unsigned id : *candidates)
      assessed.push_back(assess_node(*host.find_node(id), held, opt.reserved_cpus, d.name, demand));
    nodes = choose_nodes(assessed, C, host);
    if (static_cast<unsigned>(std::count_if(assessed.begin(), assessed.end(),
                                            [](const node_assessment& a) { return a.fits; })) < C)
      too_few_nodes = "guest '" + d.name + "' " + explain_no_fit(assessed, C, demand);
  }
  auto explained = [&](error e) {
    if (too_few_nodes) e.message = *too_few_nodes;
    return e;
  };
  const std::vector<unsigned> node_of_cell = nodes_per_cell(v.distribution, C, nodes);

  placement p;
  p.guest = d.name;
  for (unsigned k = 0; k < C; ++k) {
    p.cells.push_back(cell_placement{k, node_of_cell[k], cells[k], bytes[k], page[k]});
    p.memory_per_node[node_of_cell[k]] += bytes[k];
    if (page[k]) p.hugepages_per_node[{node_of_cell[k], page[k]}] += bytes[k] / page[k];
  }
  if (auto ok = check_memory(p, held, opt.allow_overcommit, p.warnings); !ok) return explained(ok.error());

  pinning_context ctx{host, held, opt.reserved_cpus, d.name, opt.allow_overcommit};
  auto pins = dedicated ? pin_dedicated(ctx, cells, node_of_cell, N, topology.threads)
                        : pin_shared(ctx, cells, node_of_cell, N);
  if (!pins) return explained(pins.error());
  std::vector<unsigned> cell_of(N, 0);
  for (unsigned k = 0; k < C; ++k)
    for (unsigned vcpu : cells[k]) cell_of[vcpu] = k;
  for (unsigned vcpu = 0; vcpu < N; ++vcpu) p.vcpus.push_back(vcpu_placement{vcpu, cell_of[vcpu], pins->vcpu_cpus[vcpu]});
  p.dedicated_cpus = pins->dedicated;
  p.warnings.insert(p.warnings.end(), pins->warnings.begin(), pins->warnings.end());
  id_set used_nodes(node_of_cell.begin(), node_of_cell.end());
  p.emulator_cpus = emulator_cpus(ctx, std::vector<unsigned>(used_nodes.begin(), used_nodes.end()), p.dedicated_cpus);

  if (d.devices.memballoon_model && *d.devices.memballoon_model != "none")
    p.warnings.push_back("<memballoon model='" + *d.devices.memballoon_model +
                         "'> replaced by model='none': a balloon defeats per-node placement");
  config::domain out = expanded_domain(d, host, p, topology, cells);
  return expansion{std::move(out), std::move(p)};
}

}  // namespace vnumad::vnuma
