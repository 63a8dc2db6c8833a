// How many of a node's CPUs one guest may still use, shared by the pinning
// (partition_pinning.cpp), the overcommit checks and node choice
// (node_choice.cpp), so that "fits" means the same thing everywhere.
#pragma once

#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"

#include <string_view>
#include <vector>

namespace vnumad::vnuma {

// Dedicated (siblings) pinning hands out host threads in "units": one unit is
// what one guest core gets. Host cores are walked in ascending order on the
// node; a core is skipped when another guest holds any of its threads (its
// siblings would be shared), and reserved CPUs are skipped. With guest
// threads == 1 every remaining thread is a unit, siblings next to each other;
// with guest threads t > 1 a unit is the first t remaining threads of one
// host core (cores with fewer are skipped), so a guest core is always SMT
// siblings of one host core.
std::vector<std::vector<unsigned>> dedicated_units(const host_node& node, const ledger& held, const id_set& reserved,
                                                   std::string_view guest, unsigned guest_threads);

// vCPUs a node can still take without overcommit: dedicated = units x
// threads; shared = the node's CPUs not dedicated to other guests.
unsigned free_cpus_for(const host_node& node, const ledger& held, const id_set& reserved, std::string_view guest,
                       bool dedicated, unsigned guest_threads);

}  // namespace vnumad::vnuma
