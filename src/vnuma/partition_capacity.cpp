#include "vnuma/partition_capacity.hpp"

namespace vnumad::vnuma {

std::vector<std::vector<unsigned>> dedicated_units(const host_node& node, const ledger& held, const id_set& reserved,
                                                   std::string_view guest, unsigned guest_threads) {
  guest_threads = std::max(guest_threads, 1u);
  const id_set others = held.dedicated_cpus(guest);
  // hwloc always reports cores; a hand-built topology without them counts
  // every CPU as its own core.
  std::vector<id_set> singletons;
  const std::vector<id_set>* cores = &node.cores;
  if (node.cores.empty()) {
    for (unsigned cpu : node.cpus) singletons.push_back({cpu});
    cores = &singletons;
  }
  std::vector<std::vector<unsigned>> units;
  for (const id_set& core : *cores) {
    bool taken = false;
    for (unsigned cpu : core) taken = taken || others.contains(cpu);
    if (taken) continue;
    std::vector<unsigned> usable;
    for (unsigned cpu : core)
      if (!reserved.contains(cpu)) usable.push_back(cpu);
    if (guest_threads == 1) {
      for (unsigned cpu : usable) units.push_back({cpu});
    } else if (usable.size() >= guest_threads) {
      usable.resize(guest_threads);
      units.push_back(std::move(usable));
    }
  }
  return units;
}

unsigned free_cpus_for(const host_node& node, const ledger& held, const id_set& reserved, std::string_view guest,
                       bool dedicated, unsigned guest_threads) {
  if (dedicated)
    return static_cast<unsigned>(dedicated_units(node, held, reserved, guest, guest_threads).size()) *
           std::max(guest_threads, 1u);
  return static_cast<unsigned>(held.shared_cpus(node.id, guest).size());
}

}  // namespace vnumad::vnuma
