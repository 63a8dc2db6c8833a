// The host as vnumad partitions it: NUMA nodes with their CPUs, SMT cores,
// memory, huge pages, PCI devices and the distance matrix. Plain data; loading
// it (hwloc, live or from an hwloc XML export) is in topology_loader.hpp.
#pragma once

#include "config/cpuset.hpp"
#include "config/reserved_memory.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::vnuma {

using config::id_set;

struct pci_device {
  std::string bus_id;                      // "0000:3b:00.0"
  std::string description;                 // "Ethernet controller (Intel 82599)" or class
  std::vector<std::string> os_names;       // eth0, nvme0n1, sda ...
  std::optional<unsigned> node;            // host node it is attached to, if known
};

struct host_node {
  unsigned id = 0;                         // OS index (may be sparse)
  id_set cpus;                             // all PUs of the node
  std::vector<id_set> cores;               // SMT sibling groups, ordered by their lowest PU
  std::optional<unsigned> package;         // socket os index
  std::uint64_t memory_bytes = 0;          // local memory (MemTotal: huge page pools included)
  // The part of memory_bytes the huge page pools take: the kernel counts them
  // in MemTotal, hwloc's normal page count leaves them out. 0 when the
  // description gives normal memory alone (the hand-written fixtures).
  std::uint64_t hugepage_pool_bytes = 0;
  // Free memory when loaded (MemFree; = memory_bytes from an XML file). For
  // reports only: the ledger counts capacity from memory_bytes, since a
  // snapshot taken while guests run already lacks their pages.
  std::uint64_t free_bytes = 0;
  // huge page size in bytes -> pool size (nr_hugepages) / free pages on this node;
  // the ledger uses the pool size, free pages are for reports.
  std::map<std::uint64_t, std::uint64_t> hugepages_total;
  std::map<std::uint64_t, std::uint64_t> hugepages_free;
  std::vector<pci_device> pci_devices;     // I/O devices local to this node

  bool has_cpus() const { return !cpus.empty(); }
  // Memory in normal pages: what guests without huge pages draw from.
  std::uint64_t normal_memory_bytes() const {
    return memory_bytes > hugepage_pool_bytes ? memory_bytes - hugepage_pool_bytes : 0;
  }
};

struct host_topology {
  std::string description;                 // e.g. DMI product name, or the XML file name
  std::vector<host_node> nodes;            // ascending id
  // distances[i][j] between nodes[i] and nodes[j] (positions, not ids).
  // Empty when the host reports none: then 10 local / 20 remote is assumed.
  std::vector<std::vector<unsigned>> distances;
  unsigned threads_per_core = 1;           // T in the spec (max SMT width)
  std::uint64_t default_hugepage_bytes = 2 * 1024 * 1024;
  std::vector<pci_device> unattached_pci;  // devices hwloc could not place on a node
  bool live = false;                       // loaded from this host, not from a file

  const host_node* find_node(unsigned id) const;
  // Distance between two node ids; 10/20 when the host has no matrix.
  unsigned distance(unsigned node_a, unsigned node_b) const;
  // The node that holds a CPU, or nullopt.
  std::optional<unsigned> node_of_cpu(unsigned cpu) const;
  id_set all_cpus() const;
  id_set node_ids() const;
  id_set nodes_with_cpus() const;
};

// vnumad.conf reserved_cpus = auto | none | <cpuset>
struct reserved_cpus_setting {
  enum class kind { automatic, none, explicit_set } which = kind::automatic;
  id_set cpus;                             // for explicit_set
};

result<reserved_cpus_setting> parse_reserved_cpus(std::string_view text);
// auto = every thread of the first core of each node that has at least two
// cores; none = {}; an explicit set must name existing CPUs.
result<id_set> resolve_reserved_cpus(const host_topology& host, const reserved_cpus_setting& setting);

// vnumad.conf reserved_memory on this host: node id -> bytes kept from guests,
// for every node. A per-node size for a node the host lacks is an error
// naming the nodes it has.
result<std::map<unsigned, std::uint64_t>> resolve_reserved_memory(const host_topology& host,
                                                                  const config::reserved_memory_setting& setting);

}  // namespace vnumad::vnuma
