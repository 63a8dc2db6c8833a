#include "vnuma/node_choice.hpp"

#include "vnuma/partition_capacity.hpp"

#include <algorithm>
#include <limits>

namespace vnumad::vnuma {

namespace {

std::uint64_t ratio(std::uint64_t have, std::uint64_t need) {
  if (need == 0) return std::numeric_limits<std::uint64_t>::max();
  unsigned __int128 r = static_cast<unsigned __int128>(have) * capacity_scale / need;
  return r > std::numeric_limits<std::uint64_t>::max() ? std::numeric_limits<std::uint64_t>::max()
                                                        : static_cast<std::uint64_t>(r);
}

// Step 2c on the tie class of step 2b (see the proof below): choose r members
// of `group` (candidate positions, ascending) minimizing the distance sum of
// forced + chosen. Depth-first in lexicographic order of the chosen list,
// keeping only strict improvements, so among equal sums the first found is
// the smallest id list (2d). Pruned by a lower bound: the partial sum plus,
// for each node still to pick, the smallest distance-to-the-set among those
// left (distances are >= 0, pairs among future picks only add).
class tie_search {
 public:
  tie_search(const std::vector<std::size_t>& group, const std::vector<std::size_t>& forced, std::size_t r,
             const std::vector<std::vector<std::uint64_t>>& dist)
      : group_(group), r_(r), dist_(dist), acc_(group.size(), 0) {
    for (std::size_t i = 0; i < group_.size(); ++i)
      for (std::size_t f : forced) acc_[i] += dist_[group_[i]][f];
  }

  std::vector<std::size_t> run() {
    // A greedy pick first, only as an upper bound for pruning: any subset
    // costlier than it cannot be optimal. The search itself decides, so ties
    // still go to the smallest id list.
    auto [greedy, greedy_cost] = greedy_pick();
    best_cost_ = greedy_cost + 1;
    visit(0, 0);
    return best_.empty() ? greedy : best_;
  }

 private:
  // Beyond this many search steps (hosts with more than ~18 equally free
  // nodes) the best subset found so far is kept. Up to 16 candidates the
  // whole tree has fewer than 2^16 steps, so choices on hosts of up to 16
  // nodes are always exact.
  static constexpr std::size_t step_budget = std::size_t{1} << 18;

  void visit(std::size_t from, std::uint64_t partial) {
    if (++steps_ > step_budget) return;
    if (chosen_.size() == r_) {
      if (partial < best_cost_) {
        best_cost_ = partial;
        best_ = chosen_;
      }
      return;
    }
    const std::size_t left = r_ - chosen_.size();
    if (group_.size() - from < left) return;
    // Lower bound: each pick still to come adds at least its distance to the
    // set so far, so the `left` smallest of those; pairs among the future
    // picks only add. An equal bound cannot win either: every list below is
    // lexicographically after the best one found.
    rest_.assign(acc_.begin() + static_cast<std::ptrdiff_t>(from), acc_.end());
    std::nth_element(rest_.begin(), rest_.begin() + static_cast<std::ptrdiff_t>(left - 1), rest_.end());
    std::uint64_t bound = partial;
    for (std::size_t i = 0; i < left; ++i) bound += rest_[i];
    if (bound >= best_cost_) return;
    for (std::size_t i = from; i + left <= group_.size(); ++i) {
      const std::uint64_t gain = acc_[i];
      for (std::size_t j = i + 1; j < group_.size(); ++j) acc_[j] += dist_[group_[i]][group_[j]];
      chosen_.push_back(group_[i]);
      visit(i + 1, partial + gain);
      chosen_.pop_back();
      for (std::size_t j = i + 1; j < group_.size(); ++j) acc_[j] -= dist_[group_[i]][group_[j]];
    }
  }

  // Nearest to the set so far, lowest id on ties.
  std::pair<std::vector<std::size_t>, std::uint64_t> greedy_pick() const {
    std::vector<std::size_t> chosen;
    std::vector<bool> used(group_.size(), false);
    std::vector<std::uint64_t> acc = acc_;
    std::uint64_t cost = 0;
    while (chosen.size() < r_) {
      std::size_t pick = group_.size();
      for (std::size_t i = 0; i < group_.size(); ++i)
        if (!used[i] && (pick == group_.size() || acc[i] < acc[pick])) pick = i;
      used[pick] = true;
      cost += acc[pick];
      chosen.push_back(group_[pick]);
      for (std::size_t j = 0; j < group_.size(); ++j) acc[j] += dist_[group_[pick]][group_[j]];
    }
    std::sort(chosen.begin(), chosen.end());
    return {std::move(chosen), cost};
  }

  const std::vector<std::size_t>& group_;
  std::size_t r_;
  const std::vector<std::vector<std::uint64_t>>& dist_;
  std::vector<std::uint64_t> acc_;  // distance of group_[i] to forced + chosen_
  std::vector<std::uint64_t> rest_;
  std::vector<std::size_t> chosen_;
  std::vector<std::size_t> best_;
  std::uint64_t best_cost_ = 0;
  std::size_t steps_ = 0;
};

}  // namespace

node_assessment assess_node(const host_node& node, const ledger& held, const id_set& reserved,
                            std::string_view guest, const cell_demand& demand) {
  node_assessment a;
  a.node = node.id;
  unsigned cpus = free_cpus_for(node, held, reserved, guest, demand.dedicated, demand.guest_threads);
  a.free_vcpus = cpus;
  std::uint64_t capacity = ratio(cpus, std::max(demand.vcpus, 1u));
  if (demand.hugepage_bytes) {
    std::uint64_t pages = held.free_hugepages(node.id, demand.hugepage_bytes, guest);
    a.free_hugepages = pages;
    std::uint64_t need = (demand.memory_bytes + demand.hugepage_bytes - 1) / demand.hugepage_bytes;
    capacity = std::min(capacity, ratio(pages, need));
  } else {
    a.free_memory_bytes = held.free_memory(node.id, guest);
    capacity = std::min(capacity, ratio(a.free_memory_bytes, demand.memory_bytes));
  }
  a.capacity = capacity;
  a.fits = capacity >= capacity_scale;
  return a;
}

// Why this is exact (the property test checks it against all subsets).
// Step 2a: the number of fitting nodes in S is at most min(k, f) (f = nodes
// that fit) and reaching it means S holds min(k, f) fitting nodes and the rest
// (if f < k) from the others. If f >= k, S lies in the fitting pool; if f < k,
// every fitting node is in S (it is forced) and k - f come from the rest.
// Step 2b: within the pool, the sum of capacities of a fixed-size subset is
// maximal iff it holds every pool node whose capacity exceeds v, the capacity
// of the need-th largest, and the remaining slots from the nodes with
// capacity exactly v (exchange argument: swapping a chosen node below v for
// an unchosen one at or above v never lowers the sum, and strictly raises it
// unless both equal v). So steps 2a-2b leave a fixed set F (forced) and a tie
// class G from which r nodes are picked; every such pick has the same 2a and
// 2b value. Step 2c: the distance sum over pairs of F u R is D(F) +
// sum_{x in R} d(x, F) + D(R); D(F) is constant, so the search minimizes the
// rest over r-subsets R of G. Step 2d: R and R' are disjoint from F, so
// sorted(F u R) < sorted(F u R') iff sorted(R) < sorted(R') (the first
// difference between R and R' is also the first between the unions), which
// the lexicographic search order settles. Only the tie class G is searched,
// and an exact minimal-distance subset is NP-hard in general (it contains
// k-clique), so the search is branch and bound, exact within a step budget
// that every host of up to 16 candidate nodes stays under.
std::vector<unsigned> choose_nodes(const std::vector<node_assessment>& candidates, unsigned k,
                                   const std::vector<std::vector<unsigned>>& distance) {
  const std::size_t n = candidates.size();
  std::vector<unsigned> ids;
  if (k >= n) {
    for (const auto& c : candidates) ids.push_back(c.node);
    return ids;
  }
  bool rule_fits = true;
  for (std::size_t i = 0; i < k; ++i) rule_fits = rule_fits && candidates[i].fits;
  if (rule_fits) {
    for (std::size_t i = 0; i < k; ++i) ids.push_back(candidates[i].node);
    return ids;
  }

  std::vector<std::size_t> fit, rest;
  for (std::size_t i = 0; i < n; ++i) (candidates[i].fits ? fit : rest).push_back(i);
  std::vector<std::size_t> forced, pool;
  std::size_t need = k;
  if (fit.size() >= k) {
    pool = fit;
  } else {
    forced = fit;
    pool = rest;
    need = k - fit.size();
  }
  std::vector<std::uint64_t> caps;
  for (std::size_t i : pool) caps.push_back(candidates[i].capacity);
  std::nth_element(caps.begin(), caps.begin() + static_cast<std::ptrdiff_t>(need - 1), caps.end(),
                   std::greater<>());
  const std::uint64_t v = caps[need - 1];
  std::vector<std::size_t> group;
  for (std::size_t i : pool) {
    if (candidates[i].capacity > v) forced.push_back(i);
    else if (candidates[i].capacity == v) group.push_back(i);
  }
  std::size_t r = k - forced.size();
  std::vector<std::size_t> chosen = forced;
  if (r > 0 && r < group.size()) {
    // Pairs count both directions, so an asymmetric matrix gives one answer
    // whatever the order of the pair.
    std::vector<std::vector<std::uint64_t>> pair(n, std::vector<std::uint64_t>(n));
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j) pair[i][j] = std::uint64_t{distance[i][j]} + distance[j][i];
    auto picked = tie_search(group, forced, r, pair).run();
    chosen.insert(chosen.end(), picked.begin(), picked.end());
  } else if (r > 0) {
    chosen.insert(chosen.end(), group.begin(), group.end());
  }
  std::sort(chosen.begin(), chosen.end());
  for (std::size_t i : chosen) ids.push_back(candidates[i].node);
  return ids;
}

std::vector<unsigned> choose_nodes(const std::vector<node_assessment>& candidates, unsigned k,
                                   const host_topology& host) {
  if (k >= candidates.size()) return choose_nodes(candidates, k, std::vector<std::vector<unsigned>>{});
  std::vector<std::vector<unsigned>> distance(candidates.size(), std::vector<unsigned>(candidates.size()));
  for (std::size_t i = 0; i < candidates.size(); ++i)
    for (std::size_t j = 0; j < candidates.size(); ++j)
      distance[i][j] = host.distance(candidates[i].node, candidates[j].node);
  return choose_nodes(candidates, k, distance);
}

}  // namespace vnumad::vnuma
