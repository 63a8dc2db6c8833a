#include "vnuma/partition_rules.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <cstdlib>

namespace vnumad::vnuma {

using config::vnuma_distribution;

namespace {

// "a", "a or b", "a, b or c"
std::string or_list(const std::vector<unsigned>& values) {
  std::string text;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i) text += i + 1 == values.size() ? " or " : ", ";
    text += std::to_string(values[i]);
  }
  return text;
}

std::uint64_t round_up(std::uint64_t value, std::uint64_t unit) { return (value + unit - 1) / unit * unit; }

}  // namespace

result<std::vector<unsigned>> candidate_nodes(const config::vnuma_def& v, const host_topology& host) {
  id_set with_cpus = host.nodes_with_cpus();
  if (v.mode == config::vnuma_mode::host || !v.partition_nodeset) {
    if (with_cpus.empty()) return make_error(errc::node_unavailable, "the host has no NUMA node with CPUs");
    return std::vector<unsigned>(with_cpus.begin(), with_cpus.end());
  }
  for (unsigned id : *v.partition_nodeset) {
    const host_node* n = host.find_node(id);
    std::string valid = " (nodes with CPUs: " + config::format_id_set(with_cpus) + ")";
    if (!n)
      return make_error(errc::node_unavailable, "<partition nodeset='" + config::format_id_set(*v.partition_nodeset) +
                                                    "'>: NUMA node " + std::to_string(id) +
                                                    " does not exist on this host" + valid);
    if (!n->has_cpus())
      return make_error(errc::node_unavailable, "<partition nodeset='" + config::format_id_set(*v.partition_nodeset) +
                                                    "'>: NUMA node " + std::to_string(id) +
                                                    " has no CPUs (memory-only) and cannot hold a cell" + valid);
  }
  if (v.partition_nodeset->empty())
    return make_error(errc::invalid_cpuset, "<partition nodeset> names no node");
  return std::vector<unsigned>(v.partition_nodeset->begin(), v.partition_nodeset->end());
}

result<unsigned> cell_count(const config::vnuma_def& v, std::size_t candidates) {
  if (v.mode == config::vnuma_mode::host) {
    if (v.partition_cells || v.partition_nodeset)
      return make_error(errc::invalid_value, "<vnuma mode='host'> takes no <partition>: use mode='node'");
    return static_cast<unsigned>(candidates);
  }
  if (!v.partition_cells) return static_cast<unsigned>(candidates);
  if (*v.partition_cells == 0)
    return make_error(errc::invalid_value, "<partition cells='0'>: a guest needs at least 1 cell");
  return *v.partition_cells;
}

result<void> check_divisible(unsigned vcpus, unsigned cells) {
  if (cells != 0 && vcpus % cells == 0) return {};
  std::vector<unsigned> counts;
  if (cells != 0) {
    if (vcpus / cells > 0) counts.push_back(vcpus / cells * cells);
    counts.push_back((vcpus / cells + 1) * cells);
  }
  // The divisors of N; more than eight are cut to the eight nearest to C.
  std::vector<unsigned> divisors;
  for (unsigned d = 1; d <= vcpus; ++d)
    if (vcpus % d == 0) divisors.push_back(d);
  if (divisors.size() > 8) {
    std::stable_sort(divisors.begin(), divisors.end(), [cells](unsigned a, unsigned b) {
      return std::abs(static_cast<long>(a) - static_cast<long>(cells)) <
             std::abs(static_cast<long>(b) - static_cast<long>(cells));
    });
    divisors.resize(8);
    std::sort(divisors.begin(), divisors.end());
  }
  return make_error(errc::vcpus_not_divisible_by_cells,
                    std::to_string(vcpus) + " vCPUs cannot be split evenly into " + std::to_string(cells) +
                        " cells: use " + or_list(counts) + " vCPUs, or " + or_list(divisors) + " cells");
}

std::vector<id_set> vcpus_per_cell(vnuma_distribution d, unsigned vcpus, unsigned cells) {
  std::vector<id_set> result(cells);
  if (cells == 0) return result;
  bool blocks = d == vnuma_distribution::contiguous || d == vnuma_distribution::siblings;
  unsigned per_cell = vcpus / cells;
  for (unsigned v = 0; v < vcpus; ++v) {
    unsigned cell = blocks ? std::min(v / std::max(per_cell, 1u), cells - 1) : v % cells;
    result[cell].insert(v);
  }
  return result;
}

config::cpu_topology guest_topology(vnuma_distribution d, unsigned vcpus, unsigned cells, unsigned host_threads) {
  config::cpu_topology t;
  unsigned per_cell = cells ? vcpus / cells : vcpus;
  switch (d) {
    case vnuma_distribution::contiguous:
    case vnuma_distribution::siblings:
      t.sockets = cells;
      t.threads = host_threads > 0 && per_cell % host_threads == 0 ? host_threads : 1;
      t.cores = per_cell / t.threads;
      break;
    case vnuma_distribution::round_robin:
      t.sockets = cells;
      t.cores = per_cell;
      t.threads = 1;
      break;
    case vnuma_distribution::interleave:
      // One socket per vCPU so that no virtual socket spans two cells.
      t.sockets = vcpus;
      t.cores = 1;
      t.threads = 1;
      break;
  }
  return t;
}

std::vector<unsigned> nodes_per_cell(vnuma_distribution d, unsigned cells, const std::vector<unsigned>& nodes) {
  std::vector<unsigned> result(cells);
  if (nodes.empty()) return result;
  const auto n = static_cast<unsigned>(nodes.size());
  if (d == vnuma_distribution::round_robin || d == vnuma_distribution::interleave) {
    for (unsigned k = 0; k < cells; ++k) result[k] = nodes[k % n];
    return result;
  }
  unsigned base = cells / n, remainder = cells % n, cell = 0;
  for (unsigned j = 0; j < n && cell < cells; ++j) {
    unsigned size = base + (j < remainder ? 1 : 0);
    for (unsigned i = 0; i < size; ++i) result[cell++] = nodes[j];
  }
  return result;
}

std::uint64_t cell_memory(std::uint64_t total_bytes, unsigned cells, std::uint64_t hugepage_bytes) {
  if (cells == 0) return 0;
  // ceil(M / C / MiB) MiB without losing the fraction of M / C.
  std::uint64_t mib = (total_bytes + std::uint64_t{cells} * config::MiB - 1) / (std::uint64_t{cells} * config::MiB);
  std::uint64_t bytes = mib * config::MiB;
  return hugepage_bytes ? round_up(bytes, hugepage_bytes) : bytes;
}

std::uint64_t hugepage_size_for_cell(const config::domain& d, unsigned cell, const host_topology& host) {
  if (!d.memory_backing || !d.memory_backing->hugepages) return 0;
  const auto& pages = d.memory_backing->pages;
  auto size_of = [&](const config::hugepage_def& p) { return p.size_bytes ? p.size_bytes : host.default_hugepage_bytes; };
  for (const auto& p : pages)
    if (p.nodeset && p.nodeset->contains(cell)) return size_of(p);
  for (const auto& p : pages)
    if (!p.nodeset) return size_of(p);
  // <page nodeset> entries that all miss this cell leave it on normal pages
  // (libvirt's hugepages-numa-nodeset-part); an empty <hugepages/> covers all.
  return pages.empty() ? host.default_hugepage_bytes : 0;
}

unsigned cell_distance(const host_topology& host, unsigned cell_i, unsigned node_i, unsigned cell_j, unsigned node_j) {
  if (cell_i != cell_j && node_i == node_j) return 11;
  return host.distance(node_i, node_j);
}

}  // namespace vnumad::vnuma
