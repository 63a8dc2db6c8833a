// Which host nodes a mode='node' guest uses when its nodeset is omitted or
// wider than needed (spec section 3, last "Cell -> host node" rule).
//
// The rule, precisely. With C cells and n candidate nodes (ascending ids),
// the guest uses k = min(C, n) nodes, one per cell-block. When C >= n every
// candidate is used and there is nothing to choose. When C < n each block is
// a single cell and all cells are alike, so a node either fits one cell or
// not (assess_node) and the choice is a k-subset of the candidates:
//
//   1. The block rule's own choice, the first k candidates, is kept when every
//      one of them fits. This is "when the ledger says a node lacks room": an
//      empty host (or one with room where the rule looks) gives exactly the
//      block rule, whatever the distances.
//   2. Otherwise the k-subset S is chosen lexicographically by
//        a. the most nodes of S that fit (all of S when at least k fit),
//        b. the most total free capacity, sum of capacity over S,
//        c. the smallest sum of distances over the pairs of S (both
//           directions, so an asymmetric matrix has one answer),
//        d. the lowest ids: the smallest sorted id list.
//
// Capacity is scale-free: how many cells of this guest the node could still
// take, in 1/1024ths (min over vCPUs and memory or huge pages), an integer so
// that sums compare exactly. "Fits" is capacity >= 1024.
#pragma once

#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"

#include <cstdint>
#include <string_view>
#include <vector>

namespace vnumad::vnuma {

struct cell_demand {
  unsigned vcpus = 1;                 // vCPUs of one cell
  std::uint64_t memory_bytes = 0;     // one cell
  std::uint64_t hugepage_bytes = 0;   // 0 = normal pages
  bool dedicated = false;             // siblings pinning
  unsigned guest_threads = 1;         // threads per guest core (dedicated units)
};

struct node_assessment {
  unsigned node = 0;
  bool fits = false;
  std::uint64_t capacity = 0;         // cells of this shape that fit, x1024
  // What the node has left for this guest, kept to explain a no-fit
  // (no_fit_explanation.hpp): vCPUs it can take (dedicated: whole free units
  // x threads), and free memory or free huge pages of the cell's page size.
  unsigned free_vcpus = 0;
  std::uint64_t free_memory_bytes = 0;
  std::uint64_t free_hugepages = 0;
};

inline constexpr std::uint64_t capacity_scale = 1024;

node_assessment assess_node(const host_node& node, const ledger& held, const id_set& reserved,
                            std::string_view guest, const cell_demand& demand);

// candidates: ascending node ids. distance[i][j]: between candidates i and j
// (positions). Returns the chosen node ids, ascending.
std::vector<unsigned> choose_nodes(const std::vector<node_assessment>& candidates, unsigned k,
                                   const std::vector<std::vector<unsigned>>& distance);
std::vector<unsigned> choose_nodes(const std::vector<node_assessment>& candidates, unsigned k,
                                   const host_topology& host);

}  // namespace vnumad::vnuma
