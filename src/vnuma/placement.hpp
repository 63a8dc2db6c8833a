// What one guest holds on the host once it is placed: its cells on host nodes,
// the host threads of every vCPU, the emulator's CPUs, the threads it holds
// exclusively and its memory per node. The ledger (ledger.hpp) sums these; the
// daemon stores each guest's record as JSON in its state dir so the ledger can
// be rebuilt after a restart without re-running the partitioner.
#pragma once

#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <boost/json/value.hpp>

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <optional>
#include <vector>

namespace vnumad::vnuma {

using config::id_set;

struct cell_placement {
  unsigned cell = 0;                 // guest cell id
  unsigned host_node = 0;            // host node its memory is bound to
  id_set vcpus;                      // guest vCPU ids of the cell
  std::uint64_t memory_bytes = 0;
  std::uint64_t hugepage_bytes = 0;  // page size backing the cell; 0 = normal pages
};

struct vcpu_placement {
  unsigned vcpu = 0;
  unsigned cell = 0;
  id_set host_cpus;                  // the vCPU's pinning; empty = not pinned
};

struct placement {
  std::string guest;
  std::vector<cell_placement> cells;    // ascending cell id
  std::vector<vcpu_placement> vcpus;    // ascending vCPU id
  id_set emulator_cpus;
  id_set dedicated_cpus;                // threads held exclusively (siblings)
  // Every byte bound to a node, normal and huge pages alike (boot cells plus
  // hot-added memory). The huge-page part is also in hugepages_per_node.
  std::map<unsigned, std::uint64_t> memory_per_node;
  // (node, page size in bytes) -> pages
  std::map<std::pair<unsigned, std::uint64_t>, std::uint64_t> hugepages_per_node;
  std::vector<std::string> warnings;    // overcommit and fallbacks, for the operator

  // memory_per_node minus the huge-page bytes on that node: what counts
  // against the node's free (normal) memory.
  std::uint64_t normal_memory_on(unsigned node) const;
  std::uint64_t total_memory() const;
};

// JSON shape (stable; the daemon's state dir keeps it across upgrades):
// {"guest":"web","cells":[{"cell":0,"host_node":1,"vcpus":"0-3","memory_bytes":N,
//  "hugepage_bytes":0}],"vcpus":[{"vcpu":0,"cell":0,"host_cpus":"15-29,75-89"}],
//  "emulator_cpus":"0","dedicated_cpus":"","memory_per_node":[{"node":1,"bytes":N}],
//  "hugepages_per_node":[{"node":1,"page_bytes":2097152,"pages":4096}],"warnings":[]}
// CPU sets use libvirt cpuset syntax; an empty set is "".
boost::json::value to_json(const placement& p);
result<placement> placement_from_json(const boost::json::value& v);

// Where one of the guest's threads may run and allocate: the one rule used at
// start, re-attach, hotplug and vcpupin alike.
struct thread_pin {
  id_set cpus;
  id_set mems;
};

// Every host node the guest has a cell on: the cpuset.mems of each of its
// cgroups (guest, emulator and every vCPU), and QEMU's MPOL_BIND at spawn.
id_set guest_memory_nodes(const placement& p);

// A vCPU's pin: its host threads (all host CPUs when unpinned) and the
// guest's whole nodeset as mems -- not its own cell's node. Why: cell
// locality comes from each memory backend's own mbind (host-nodes=N,
// policy=bind); a cgroup's cpuset.mems wins over that policy for any page the
// thread faults, and vCPU threads fault pages of every cell (under KVM the
// vCPU thread takes the guest's EPT faults; with TCG or virtio the emulator
// and I/O threads do). A one-node vCPU mems would put another cell's pages
// on the wrong node. libvirt makes the same choice (the numatune nodeset for
// every thread). Equal mems in every group of a guest also mean no thread
// move between them ever migrates memory (cgroup v2 maps nodes by position).
thread_pin vcpu_pin(const placement& p, unsigned vcpu, const id_set& all_host_cpus);

// The emulator's pin: the placement's emulator CPUs (all host CPUs when
// unset) and the guest's whole nodeset.
thread_pin emulator_pin(const placement& p, const id_set& all_host_cpus);

// An iothread's pin: its <iothreadpin> cpuset when the domain gives one, else
// the emulator's CPUs (the guest's own nodes, as libvirt's numatune default
// places iothreads); the guest's whole nodeset as mems either way.
thread_pin iothread_pin(const placement& p, const std::optional<id_set>& iothreadpin, const id_set& all_host_cpus);

}  // namespace vnumad::vnuma
