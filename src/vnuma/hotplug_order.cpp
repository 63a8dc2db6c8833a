#include "vnuma/hotplug_order.hpp"

#include <algorithm>

namespace vnumad::vnuma {

namespace {

// One removal step on `online` (per cell): the cell with the most online
// vCPUs that still has a removable one (not vCPU 0); among equal cells the
// highest vCPU id. Returns false when only vCPU 0 is left.
bool remove_one(std::vector<id_set>& online, unsigned& removed) {
  std::size_t best_count = 0;
  bool found = false;
  unsigned best_vcpu = 0;
  std::size_t best_cell = 0;
  for (std::size_t c = 0; c < online.size(); ++c) {
    const id_set& cell = online[c];
    if (cell.empty()) continue;
    unsigned highest = *cell.rbegin();
    if (highest == 0) continue;  // only vCPU 0 here
    if (!found || cell.size() > best_count || (cell.size() == best_count && highest > best_vcpu)) {
      found = true;
      best_count = cell.size();
      best_vcpu = highest;
      best_cell = c;
    }
  }
  if (!found) return false;
  online[best_cell].erase(best_vcpu);
  removed = best_vcpu;
  return true;
}

}  // namespace

std::vector<unsigned> removal_order(const std::vector<id_set>& cell_vcpus) {
  std::vector<id_set> online = cell_vcpus;
  std::vector<unsigned> order;
  unsigned removed = 0;
  while (remove_one(online, removed)) order.push_back(removed);
  return order;
}

std::vector<unsigned> online_set(const std::vector<id_set>& cell_vcpus, unsigned count) {
  id_set all;
  for (const auto& cell : cell_vcpus) all.insert(cell.begin(), cell.end());
  if (all.empty()) return {};
  count = std::clamp<unsigned>(count, 1, static_cast<unsigned>(all.size()));
  std::vector<unsigned> order = removal_order(cell_vcpus);
  std::size_t drop = all.size() - count;
  for (std::size_t i = 0; i < drop && i < order.size(); ++i) all.erase(order[i]);
  return {all.begin(), all.end()};
}

setvcpus_plan plan_setvcpus(const id_set& current_online, const std::vector<id_set>& cell_vcpus, unsigned target) {
  setvcpus_plan plan;
  id_set all;
  for (const auto& cell : cell_vcpus) all.insert(cell.begin(), cell.end());
  if (all.empty()) return plan;
  target = std::clamp<unsigned>(target, 1, static_cast<unsigned>(all.size()));
  id_set online;
  for (unsigned v : current_online)
    if (all.contains(v)) online.insert(v);
  if (online.size() > target) {
    std::vector<id_set> per_cell;
    for (const auto& cell : cell_vcpus) {
      id_set on;
      for (unsigned v : cell)
        if (online.contains(v)) on.insert(v);
      per_cell.push_back(std::move(on));
    }
    unsigned removed = 0;
    while (online.size() > target && remove_one(per_cell, removed)) {
      plan.remove.push_back(removed);
      online.erase(removed);
    }
  } else if (online.size() < target) {
    std::vector<unsigned> order = removal_order(cell_vcpus);
    // vCPU 0 is never in the removal order; a guest somehow without it gets it first.
    if (!online.contains(0) && all.contains(0)) {
      plan.add.push_back(0);
      online.insert(0);
    }
    for (auto it = order.rbegin(); it != order.rend() && online.size() < target; ++it) {
      if (online.contains(*it)) continue;
      plan.add.push_back(*it);
      online.insert(*it);
    }
  }
  return plan;
}

}  // namespace vnumad::vnuma
