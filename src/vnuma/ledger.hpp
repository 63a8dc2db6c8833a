// The ledger (spec section 6): what every running guest holds on the host, so
// that a new guest and every hotplug is checked against the others. It holds
// placements (placement.hpp) and answers: free memory per node, free huge
// pages per (node, size), which dedicated threads are held and by whom, and
// which CPUs are left for shared pinning. Two guests never hold the same
// dedicated thread, with or without overcommit: overcommit lifts capacity
// limits, never exclusivity (the partitioner wraps a guest onto its own
// threads instead, see partition_pinning.hpp).
//
// Capacity is the host snapshot it was built from: host_node::free_bytes and
// hugepages_free. A live snapshot taken while vnumad guests run already
// counts their memory, so a daemon that rebuilds the ledger after a restart
// re-adds running guests with allow_overcommit (they are there already).
#pragma once

#include "util/error.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/placement.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::vnuma {

class ledger {
 public:
  explicit ledger(const host_topology& host);

  // Refuses (naming the node, what it has and what the guest needs) when a
  // node's memory or huge pages would be exceeded (unless allow_overcommit),
  // when a dedicated thread is already held by another guest, when the guest
  // is already held (already_exists), or when a node or CPU does not exist.
  result<void> add(placement p, bool allow_overcommit = false);
  bool remove(std::string_view guest);
  const placement* find(std::string_view guest) const;
  std::vector<std::string> guests() const;
  std::size_t size() const { return guests_.size(); }

  // Capacity left on a node. `except` names a guest whose holdings count as
  // free (re-planning a guest that is already placed).
  std::uint64_t free_memory(unsigned node, std::string_view except = {}) const;
  std::uint64_t free_hugepages(unsigned node, std::uint64_t page_bytes, std::string_view except = {}) const;
  std::uint64_t held_memory(unsigned node) const;  // all guests, normal + huge

  // Dedicated thread -> holding guest.
  std::map<unsigned, std::string> dedicated_holders() const;
  std::optional<std::string> dedicated_holder(unsigned cpu) const;
  // Threads held dedicated by guests other than `except`.
  id_set dedicated_cpus(std::string_view except = {}) const;
  // CPUs of the node that shared pinning may use: the node's CPUs minus the
  // threads dedicated to guests other than `except`.
  id_set shared_cpus(unsigned node, std::string_view except = {}) const;

  // Hotplug accounting. add_memory checks the node like add() does.
  result<void> add_memory(std::string_view guest, unsigned node, std::uint64_t bytes,
                          std::uint64_t hugepage_bytes = 0, bool allow_overcommit = false);
  result<void> remove_memory(std::string_view guest, unsigned node, std::uint64_t bytes,
                             std::uint64_t hugepage_bytes = 0);
  // Replaces the guest's vCPU pins (vCPU hotplug, re-pinning) and the threads
  // it holds dedicated; refuses a thread another guest holds.
  result<void> set_vcpu_pins(std::string_view guest, std::vector<vcpu_placement> vcpus, id_set dedicated_cpus);
  result<void> set_emulator_cpus(std::string_view guest, id_set cpus);

 private:
  struct node_capacity {
    id_set cpus;
    std::uint64_t free_bytes = 0;
    std::map<std::uint64_t, std::uint64_t> hugepages_free;
  };

  const node_capacity* node(unsigned id) const;
  result<void> check_dedicated(std::string_view guest, const id_set& cpus) const;
  result<void> check_fits(const placement& p) const;

  std::map<unsigned, node_capacity> nodes_;
  std::map<std::string, placement, std::less<>> guests_;
  std::map<unsigned, std::string> dedicated_;  // thread -> guest
};

}  // namespace vnumad::vnuma
