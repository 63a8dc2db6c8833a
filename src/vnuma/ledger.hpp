// The ledger (spec section 6): what every running guest holds on the host, so
// that a new guest and every hotplug is checked against the others. It holds
// placements (placement.hpp) and answers: free memory per node, free huge
// pages per (node, size), which dedicated threads are held and by whom, and
// which CPUs are left for shared pinning. Two guests never hold the same
// dedicated thread, with or without overcommit: overcommit lifts capacity
// limits, never exclusivity (the partitioner wraps a guest onto its own
// threads instead, see partition_pinning.hpp).
//
// Capacity is accounting, not a snapshot: a node offers its memory in normal
// pages (host_node::normal_memory_bytes) minus the host's reserve
// (vnumad.conf reserved_memory) minus what the guests here hold, and per
// huge page size its pool (hugepages_total, nr_hugepages) minus what they
// hold. Live free memory is never the capacity: read while guests run, it
// already lacks their pages, and subtracting them again refused guests on a
// host with room (a restarted daemon found "933516 KiB free" on a node with
// 14.5 GiB MemFree). So a fresh daemon, a restarted one that re-adds the
// running guests, and `vnumactl plan` all count the same. What live memory
// says is only a warning (vnuma/live_memory.hpp). Huge pages get no reserve:
// the pools are set aside by the operator for guests, and neither the kernel
// nor QEMU allocates its own memory from them.
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
  // `reserved_memory`: node id -> bytes kept from guests
  // (resolve_reserved_memory); a node it does not name keeps nothing.
  explicit ledger(const host_topology& host, const std::map<unsigned, std::uint64_t>& reserved_memory = {});

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
  // What the node offers guests before any is held: normal memory minus the
  // reserve, and the huge page pool of one size.
  std::uint64_t capacity_memory(unsigned node) const;
  std::uint64_t capacity_hugepages(unsigned node, std::uint64_t page_bytes) const;
  std::uint64_t reserved_memory(unsigned node) const;

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
    std::uint64_t memory_bytes = 0;    // normal memory minus the reserve
    std::uint64_t reserved_bytes = 0;
    std::map<std::uint64_t, std::uint64_t> hugepages;  // page size -> pool size
  };

  const node_capacity* node(unsigned id) const;
  result<void> check_dedicated(std::string_view guest, const id_set& cpus) const;
  result<void> check_fits(const placement& p) const;

  std::map<unsigned, node_capacity> nodes_;
  std::map<std::string, placement, std::less<>> guests_;
  std::map<unsigned, std::string> dedicated_;  // thread -> guest
};

}  // namespace vnumad::vnuma
