// What one scrape shows, gathered by the daemon (reactor/metrics_collect.cpp)
// into plain data, and the metric families made from it. Pure: the daemon
// reads the ledger, sysfs, QMP and numa_maps; to_families() only arranges.
// The families are listed in docs/architecture.md ("Metrics").
#pragma once

#include "metrics/exposition.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/memory_attribution.hpp"
#include "vnuma/placement.hpp"
#include "vnuma/topology_loader.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace vnumad::metrics {

// Pages of one huge page size on one node.
struct hugepage_pool {
  std::uint64_t total = 0;  // nr_hugepages (sysfs, now)
  std::uint64_t free = 0;   // free_hugepages (sysfs, now)
  std::uint64_t held = 0;   // held by guests per the ledger
};

struct node_snapshot {
  unsigned node = 0;
  std::uint64_t memory_total_bytes = 0;     // MemTotal, huge page pools included
  std::uint64_t memory_reserved_bytes = 0;  // reserved_memory
  std::uint64_t memory_capacity_bytes = 0;  // normal pages minus the reserve: what guests may hold
  std::uint64_t memory_held_bytes = 0;      // held by guests, normal and huge pages
  std::uint64_t memory_free_bytes = 0;      // normal pages the ledger has left for guests
  std::map<std::uint64_t, hugepage_pool> hugepages;  // page size in bytes ->
  unsigned cpus = 0;
  unsigned cpus_reserved = 0;   // reserved_cpus on this node
  unsigned cpus_dedicated = 0;  // threads guests hold dedicated
};

struct guest_snapshot {
  std::string name;
  std::string state;  // guest_state's word: "running", "shut off", ...
  unsigned vcpus_max = 0;
  unsigned vcpus_online = 0;
  std::optional<vnuma::placement> placement;    // what it holds (while running)
  std::optional<vnuma::memory_report> memory;   // numastat's reading (while running and readable)
  std::uint64_t restarts = 0;
};

struct snapshot {
  std::string version;
  std::vector<node_snapshot> nodes;
  std::vector<std::string> states;  // every guest state word, for the 0/1 state series
  std::vector<guest_snapshot> guests;
  std::size_t guests_queued = 0;    // waiting in the start queue
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests;  // (verb, code) ->
  double collection_seconds = 0;    // how long gathering this snapshot took
};

// A node's ledger figures with its huge page pools as `live` read them from
// sysfs (vnuma::read_node_hugepages); `reserved_cpus` is vnumad.conf's, resolved.
node_snapshot node_snapshot_of(const vnuma::host_node& node, const vnuma::ledger& ledger,
                               const config::id_set& reserved_cpus,
                               const vnuma::hugepage_counts& live);

// The families, in a fixed order: node, guest, daemon.
std::vector<family> to_families(const snapshot& s);

}  // namespace vnumad::metrics
