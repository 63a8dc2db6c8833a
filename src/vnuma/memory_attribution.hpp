// Which of a QEMU's mappings (numa_maps.hpp) is which guest cell's memory, and
// how much of it sits off the node it is bound to: `vnumactl numastat`.
// Pure: the backends come from QMP query-memdev / query-memory-devices, the
// mappings from /proc; the reactor reads both.
//
// A backend is found in two ways, most certain first:
//  1. by name: a file backend's mapping is named after the backend id
//     (QEMU 10 creates "qemu_back_mem.<id>.XXXXXX" under a mem-path
//     directory; a mem-path file vnumad names keeps "<state dir>/<id>");
//  2. by shape: QEMU maps each backend as one mapping of exactly its size
//     (with a guard page after it), mbind()s it to host-nodes= and maps it
//     shared for share=on / memfd. A memfd's name is the type
//     ("/memfd:memory-backend-memfd"), not the id, so memfd backends are
//     found by shape too.
// Backends of the same size, policy, nodes and sharing cannot be told apart
// by shape: their mappings are reported together as one row naming all
// their cells, never split by guess. When the mappings of that shape are not
// exactly as many as the backends, those backends are listed as unmatched and
// the mappings stay in "other".
#pragma once

#include "config/cpuset.hpp"
#include "vnuma/numa_maps.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::vnuma {

// A QEMU memory backend object and whose memory it is.
struct memory_backend {
  std::string id;                   // "ram-node0", "memdimm0", "pc.ram"
  std::uint64_t size_bytes = 0;
  config::id_set host_nodes;        // host-nodes=; empty: not bound
  std::string policy = "bind";      // QEMU's: "default", "preferred", "bind", "interleave"
  bool share = false;
  std::optional<unsigned> cell;     // guest cell; none for a guest without cells (pc.ram)
  std::optional<std::string> device;  // the memory device (dimm) it backs, when hot-added
};

// The guest cell a boot RAM backend belongs to: "ram-node<K>" (the name
// qemu/argv_memory.cpp gives it) -> K.
std::optional<unsigned> cell_of_ram_backend(std::string_view id);

// Resident bytes per host node.
struct node_bytes {
  std::map<unsigned, std::uint64_t> bytes;       // all pages
  std::map<unsigned, std::uint64_t> huge_bytes;  // of which hugetlb pages

  void add(const numa_vma& vma);
  std::uint64_t total() const;
  // Bytes on nodes outside `nodes`.
  std::uint64_t outside(const config::id_set& nodes) const;
};

// One row: a cell, or cells whose backends cannot be told apart.
struct cell_memory {
  config::id_set cells;                 // empty: guest RAM of a guest without cells
  std::vector<std::string> backends;    // backend ids
  std::vector<std::string> devices;     // memory devices among them (dimm0)
  config::id_set bound_nodes;           // union of the backends' host-nodes
  std::uint64_t size_bytes = 0;         // the backends' sizes
  std::uint64_t page_bytes = 0;         // largest page size seen in its mappings (0: none resident)
  node_bytes resident;
  bool grouped = false;                 // several backends of one shape on one node

  std::uint64_t off_node_bytes() const { return bound_nodes.empty() ? 0 : resident.outside(bound_nodes); }
};

struct unmatched_backend {
  std::string id;
  std::string reason;
};

struct memory_report {
  std::vector<cell_memory> cells;       // by lowest cell id
  node_bytes other;                     // QEMU's own memory: code, heap, TCG buffer, ...
  node_bytes total;
  std::vector<unmatched_backend> unmatched;

  std::uint64_t guest_resident_bytes() const;
  std::uint64_t off_node_bytes() const;
};

memory_report attribute_memory(const std::vector<numa_vma>& vmas, const std::vector<memory_backend>& backends);

// The numastat JSON (docs/control-protocol.md):
// {"cells": [{"cells": [0], "backends": ["ram-node0"], "devices": [], "bound_nodes": [1],
//   "size_bytes", "resident_bytes", "off_node_bytes", "off_node_percent", "page_bytes", "grouped",
//   "nodes": [{"node", "bytes", "huge_bytes"}]}],
//  "other": {"resident_bytes", "nodes": [...]}, "total": {...},
//  "unmatched": [{"id", "reason"}], "off_node_bytes", "on_bound_nodes_percent"}
boost::json::object to_json(const memory_report& r);

// dominfo's summary: {"on_bound_nodes_percent", "off_node": [{"cells", "bound_nodes",
// "off_node_percent"}], "unmatched": [ids]}.
boost::json::object placement_summary_json(const memory_report& r);

}  // namespace vnumad::vnuma
