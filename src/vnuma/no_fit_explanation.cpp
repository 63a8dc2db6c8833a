#include "vnuma/no_fit_explanation.hpp"

#include "config/cpuset.hpp"
#include "config/units.hpp"

#include <algorithm>
#include <functional>
#include <map>
#include <sstream>
#include <utility>

namespace vnumad::vnuma {

namespace {

std::string nodes_word(const id_set& ids) { return ids.size() == 1 ? "node " : "nodes "; }

std::string plural(std::uint64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::uint64_t hugepages_needed(const cell_demand& d) {
  return (d.memory_bytes + d.hugepage_bytes - 1) / d.hugepage_bytes;
}

// One shortfall, grouped by how much the nodes have: "nodes 8-15 have 2".
using shortfall = std::map<std::uint64_t, id_set>;

void describe(std::ostringstream& out, const std::string& what, const shortfall& by_have,
              const std::function<std::string(std::uint64_t)>& amount, const std::string& needed, bool& first) {
  if (by_have.empty()) return;
  out << (first ? ": " : "; ") << what << ": ";
  first = false;
  bool first_group = true;
  // Most free first: the nodes closest to qualifying lead.
  for (auto it = by_have.rbegin(); it != by_have.rend(); ++it) {
    if (!first_group) out << ", ";
    first_group = false;
    out << nodes_word(it->second) << config::format_id_set(it->second) << (it->second.size() == 1 ? " has " : " have ")
        << amount(it->first);
  }
  out << " (" << needed << " needed)";
}

}  // namespace

std::string explain_no_fit(const std::vector<node_assessment>& assessed, unsigned needed, const cell_demand& demand) {
  id_set qualify;
  shortfall cpus, memory, pages;
  const unsigned vcpus = std::max(demand.vcpus, 1u);
  for (const auto& a : assessed) {
    if (a.fits) {
      qualify.insert(a.node);
      continue;
    }
    if (a.free_vcpus < vcpus) cpus[a.free_vcpus].insert(a.node);
    if (demand.hugepage_bytes) {
      if (a.free_hugepages < hugepages_needed(demand)) pages[a.free_hugepages].insert(a.node);
    } else if (a.free_memory_bytes < demand.memory_bytes) {
      memory[a.free_memory_bytes].insert(a.node);
    }
  }

  std::ostringstream out;
  const std::string cpu_kind = demand.dedicated ? "dedicated threads" : "vCPUs";
  out << "needs " << plural(needed, "node", "nodes") << " with room for one cell each (";
  if (demand.dedicated)
    out << vcpus << " dedicated threads, whole free cores of " << demand.guest_threads << " thread"
        << (demand.guest_threads == 1 ? "" : "s");
  else
    out << vcpus << " vCPUs";
  if (demand.hugepage_bytes)
    out << ", " << hugepages_needed(demand) << " x " << config::format_size(demand.hugepage_bytes) << " huge pages";
  else
    out << ", " << config::format_size(demand.memory_bytes);
  out << "), but only " << qualify.size() << " of its " << assessed.size() << " candidate nodes qualify";
  if (!qualify.empty()) out << " (" << config::format_id_set(qualify) << ")";
  bool first = true;
  describe(out, "too few free " + cpu_kind, cpus, [](std::uint64_t n) { return std::to_string(n); },
           std::to_string(vcpus), first);
  describe(out, "too little free memory", memory, [](std::uint64_t b) { return config::format_size(b); },
           config::format_size(demand.memory_bytes), first);
  if (demand.hugepage_bytes)
    describe(out, "too few free " + config::format_size(demand.hugepage_bytes) + " huge pages", pages,
             [](std::uint64_t n) { return std::to_string(n); }, std::to_string(hugepages_needed(demand)), first);
  return out.str();
}

}  // namespace vnumad::vnuma
