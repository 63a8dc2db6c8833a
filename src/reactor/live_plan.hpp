// The planning half of the live operations (setvcpus, attach-memory,
// detach-memory, vcpupin) and of the one removal path: pure functions of the
// running domain and the placement, no QMP, no cgroups, no ledger writes.
// The guest members in guest_vcpus.cpp and guest_memory.cpp check with
// these, then execute; nothing is changed when a plan is refused.
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"
#include "vnuma/hotplug_order.hpp"
#include "vnuma/placement.hpp"

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::reactor {

// The vCPUs currently online in a running domain (<vcpus enabled>, or the
// first `current`).
config::id_set online_vcpus(const config::domain& d);
// Makes `online` the domain's online set (<vcpu current>, <vcpus enabled>).
void mark_online(config::domain& d, const config::id_set& online);

// QEMU's device id of vCPU `v` ("vcpu3"), and back (nullopt for other ids).
std::string vcpu_device_id(unsigned v);
std::optional<unsigned> vcpu_of_device_id(std::string_view id);

// The vCPUs of each cell (one cell with all vCPUs for a guest without one).
std::vector<config::id_set> cell_vcpus(const config::domain& running, const vnuma::placement* p);

// setvcpus: the NUMA-balanced add / remove sets, or invalid_value for a
// count outside 1..max.
result<vnuma::setvcpus_plan> plan_set_vcpus(const std::string& guest, const config::domain& running,
                                            const vnuma::placement* p, unsigned target);

// attach-memory: the new dimm (free id, cell, host node) or why not.
struct attach_plan {
  config::memory_device_def dimm;  // alias = device id
  unsigned host_node = 0;
};
result<attach_plan> plan_attach_memory(const std::string& guest, const config::domain& running,
                                       const vnuma::placement* p, unsigned cell, std::uint64_t bytes);

// detach-memory: the running dimm with that id, or not_found.
result<config::memory_device_def> plan_detach_memory(const std::string& guest, const config::domain& running,
                                                     std::string_view dimm_id);

// vcpupin: the placement's vCPU pins and dedicated threads with `vcpu` on
// `cpus`. `host_cpus`: the host's CPUs; `held_by_others`: threads other guests
// hold dedicated, with the guest holding each.
struct vcpupin_plan {
  std::vector<vnuma::vcpu_placement> vcpus;
  config::id_set dedicated;
  bool dedicated_moved = false;
};
result<vcpupin_plan> plan_vcpupin(const std::string& guest, const config::domain& running, const vnuma::placement& p,
                                  const config::id_set& host_cpus, const std::map<unsigned, std::string>& held_by_others,
                                  unsigned vcpu,
                                  const config::id_set& cpus);

// What a DEVICE_DELETED took away, for the ledger and the threads map.
struct device_removal {
  std::optional<unsigned> vcpu;                    // a vCPU went offline
  std::optional<config::memory_device_def> dimm;   // a dimm left the domain
  // The ledger's view of that dimm: its host node and huge page size (0: normal pages).
  unsigned node = 0;
  std::uint64_t hugepage_bytes = 0;
};
// Applies the removal of device `id` to the running domain. nullopt when the
// domain has no such device online (an unknown id, or one already removed):
// applying the same event twice changes nothing.
std::optional<device_removal> apply_device_removal(config::domain& running, std::string_view id);

}  // namespace vnumad::reactor
