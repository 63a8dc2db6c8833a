// The arithmetic of spec section 3, one function per rule, no host state
// beyond what is passed in: candidate nodes, number of cells, divisibility
// (with the proposals of the error), vCPU -> cell, the guest CPU topology,
// cell -> host node, the memory split and the distances. partition.cpp
// strings these together; tests check each rule on its own.
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"
#include "vnuma/host_topology.hpp"

#include <cstdint>
#include <vector>

namespace vnumad::vnuma {

// mode='host': every node with CPUs. mode='node': partition/@nodeset, default
// every node with CPUs; a node that does not exist or has no CPUs is a
// node_unavailable error naming it. Ascending ids.
result<std::vector<unsigned>> candidate_nodes(const config::vnuma_def& v, const host_topology& host);

// mode='host': one cell per candidate; mode='node': partition/@cells, default
// one per candidate.
result<unsigned> cell_count(const config::vnuma_def& v, std::size_t candidates);

// N % C == 0, else vcpus_not_divisible_by_cells proposing the nearest
// multiples of C and the divisors of N nearest to C:
// "16 vCPUs cannot be split evenly into 6 cells: use 12 or 18 vCPUs, or 1, 2, 4, 8 or 16 cells".
result<void> check_divisible(unsigned vcpus, unsigned cells);

// Guest vCPUs of each cell: contiguous/siblings in blocks of N/C,
// round-robin/interleave v -> v mod C.
std::vector<config::id_set> vcpus_per_cell(config::vnuma_distribution d, unsigned vcpus, unsigned cells);

// sockets/cores/threads; host_threads_per_core is T (1 without SMT).
config::cpu_topology guest_topology(config::vnuma_distribution d, unsigned vcpus, unsigned cells,
                                    unsigned host_threads_per_core);

// Host node of each cell. `nodes` ascending. contiguous/siblings: |nodes|
// consecutive blocks as even as possible, earlier blocks take the remainder
// (with fewer cells than nodes the first C nodes get one cell each);
// round-robin/interleave: cell k -> nodes[k mod |nodes|].
std::vector<unsigned> nodes_per_cell(config::vnuma_distribution d, unsigned cells, const std::vector<unsigned>& nodes);

// Each cell's size: M / C rounded up to a whole MiB, then (huge pages) up to a
// whole page.
std::uint64_t cell_memory(std::uint64_t total_bytes, unsigned cells, std::uint64_t hugepage_bytes);

// The huge page size backing guest cell `cell`, 0 for normal pages: the
// <page> whose nodeset holds the cell, else a <page> without nodeset, else
// (an empty <hugepages/>) the host's default size.
std::uint64_t hugepage_size_for_cell(const config::domain& d, unsigned cell, const host_topology& host);

// Cell i to cell j: host distance between their nodes; 11 for two distinct
// cells on one node (Linux rejects a remote distance of 10).
unsigned cell_distance(const host_topology& host, unsigned cell_i, unsigned node_i, unsigned cell_j, unsigned node_j);

}  // namespace vnumad::vnuma
