// Which vCPUs are online for a given count (spec section 5). Lowering the
// count removes from the cell with the most online vCPUs, highest vCPU id
// first; raising adds in the reverse order; vCPU 0 never goes. The boot-time
// <vcpus enabled> set of an expansion is this same function, so a guest booted
// with current=K looks exactly like one lowered to K.
#pragma once

#include "config/cpuset.hpp"

#include <vector>

namespace vnumad::vnuma {

using config::id_set;

// The order in which vCPUs go offline when the count is lowered one by one
// from "all online" down to vCPU 0 alone (vCPU 0 is not in it). Ties between
// cells with equally many online vCPUs go to the highest vCPU id among them.
std::vector<unsigned> removal_order(const std::vector<id_set>& cell_vcpus);

// The online vCPUs (ascending) when `count` of them are online. count is
// clamped to [1, total vCPUs]; vCPU 0 is always online when it exists.
std::vector<unsigned> online_set(const std::vector<id_set>& cell_vcpus, unsigned count);

struct setvcpus_plan {
  std::vector<unsigned> add;     // in the order to plug them
  std::vector<unsigned> remove;  // in the order to unplug them
};

// From whatever set is online now (which may not be balanced, e.g. after a
// guest refused an unplug) to `target` online vCPUs. Lowering applies the
// rule to the current set; raising adds offline vCPUs in reverse removal
// order, which from a balanced set gives exactly online_set(target).
setvcpus_plan plan_setvcpus(const id_set& current_online, const std::vector<id_set>& cell_vcpus, unsigned target);

}  // namespace vnumad::vnuma
