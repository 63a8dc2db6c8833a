#include "vnuma/partition_pinning.hpp"

#include "vnuma/partition_capacity.hpp"

#include <map>

namespace vnumad::vnuma {

namespace {

std::string quoted(std::string_view guest) { return "'" + std::string(guest) + "'"; }

std::string cell_list(const std::vector<unsigned>& cells) {
  std::string text = cells.size() == 1 ? "cell " : "cells ";
  for (std::size_t i = 0; i < cells.size(); ++i) text += (i ? ", " : "") + std::to_string(cells[i]);
  return text;
}

}  // namespace

result<pinning> pin_shared(const pinning_context& ctx, const std::vector<id_set>& cells,
                           const std::vector<unsigned>& nodes, unsigned vcpus) {
  pinning out;
  out.vcpu_cpus.resize(vcpus);
  for (std::size_t k = 0; k < cells.size(); ++k) {
    const unsigned node = nodes[k];
    id_set cpus = ctx.held.shared_cpus(node, ctx.guest);
    const std::size_t need = cells[k].size();
    if (need > cpus.size()) {
      std::string what = "node " + std::to_string(node) + " has " + std::to_string(cpus.size()) +
                         " CPUs not dedicated to other guests, guest " + quoted(ctx.guest) + " needs " +
                         std::to_string(need) + " for cell " + std::to_string(k);
      if (!ctx.allow_overcommit) return make_error(errc::insufficient_cpus, what);
      out.warnings.push_back(what + " (overcommitted)");
      if (cpus.empty()) {
        const host_node* n = ctx.host.find_node(node);
        if (n) cpus = n->cpus;
        out.warnings.push_back("other guests hold every CPU of node " + std::to_string(node) + " dedicated; cell " +
                               std::to_string(k) + " is pinned to them anyway");
      }
    }
    for (unsigned v : cells[k])
      if (v < vcpus) out.vcpu_cpus[v] = cpus;
  }
  return out;
}

result<pinning> pin_dedicated(const pinning_context& ctx, const std::vector<id_set>& cells,
                              const std::vector<unsigned>& nodes, unsigned vcpus, unsigned guest_threads) {
  pinning out;
  out.vcpu_cpus.resize(vcpus);
  guest_threads = std::max(guest_threads, 1u);
  // Cells sharing a node draw from one walk over its cores, in cell order.
  std::map<unsigned, std::vector<unsigned>> cells_of_node;
  for (std::size_t k = 0; k < cells.size(); ++k) cells_of_node[nodes[k]].push_back(static_cast<unsigned>(k));
  for (const auto& [node_id, node_cells] : cells_of_node) {
    const host_node* node = ctx.host.find_node(node_id);
    if (!node) return make_error(errc::node_unavailable, "NUMA node " + std::to_string(node_id) + " is unavailable");
    std::vector<unsigned> node_vcpus;
    for (unsigned k : node_cells) node_vcpus.insert(node_vcpus.end(), cells[k].begin(), cells[k].end());
    auto units = dedicated_units(*node, ctx.held, ctx.reserved, ctx.guest, guest_threads);
    const std::size_t need_units = (node_vcpus.size() + guest_threads - 1) / guest_threads;
    if (need_units > units.size()) {
      std::string what = "node " + std::to_string(node_id) + " has " +
                         std::to_string(units.size() * guest_threads) +
                         " free threads for dedicated pinning (reserved CPUs and cores held by other guests "
                         "skipped), guest " + quoted(ctx.guest) + " needs " + std::to_string(node_vcpus.size()) +
                         " for " + cell_list(node_cells);
      if (!ctx.allow_overcommit) return make_error(errc::insufficient_cpus, what);
      if (units.empty()) {
        // Nothing free to hold: the vCPUs run on the node's cores anyway,
        // still a guest core per host core, but hold none of them (two
        // guests never hold one thread).
        std::vector<std::vector<unsigned>> any;
        for (const id_set& core : node->cores)
          if (core.size() >= guest_threads) any.emplace_back(core.begin(), std::next(core.begin(), guest_threads));
        if (any.empty())
          for (unsigned cpu : node->cpus) any.push_back(std::vector<unsigned>(guest_threads, cpu));
        for (std::size_t i = 0; i < node_vcpus.size(); ++i) {
          const auto& unit = any[(i / guest_threads) % any.size()];
          out.vcpu_cpus[node_vcpus[i]] = {unit[i % guest_threads]};
        }
        out.warnings.push_back(what + "; no thread is free, so its vCPUs share the node's cores (overcommitted)");
        continue;
      }
      out.warnings.push_back(what + "; threads are reused from the first (overcommitted)");
    }
    for (std::size_t i = 0; i < node_vcpus.size(); ++i) {
      const auto& unit = units[(i / guest_threads) % units.size()];
      const unsigned thread = unit[(i % guest_threads) % unit.size()];
      out.vcpu_cpus[node_vcpus[i]] = {thread};
      out.dedicated.insert(thread);
    }
  }
  return out;
}

id_set emulator_cpus(const pinning_context& ctx, const std::vector<unsigned>& nodes, const id_set& own_dedicated) {
  id_set node_cpus;
  for (unsigned id : nodes)
    if (const host_node* n = ctx.host.find_node(id)) node_cpus.insert(n->cpus.begin(), n->cpus.end());
  id_set reserved;
  for (unsigned cpu : ctx.reserved)
    if (node_cpus.contains(cpu)) reserved.insert(cpu);
  if (!reserved.empty()) return reserved;
  const id_set others = ctx.held.dedicated_cpus(ctx.guest);
  id_set free;
  for (unsigned cpu : node_cpus)
    if (!others.contains(cpu) && !own_dedicated.contains(cpu)) free.insert(cpu);
  return free.empty() ? node_cpus : free;
}

}  // namespace vnumad::vnuma
