// Threads a guest holds dedicated (distribution='siblings') are its alone:
// no other guest's vCPU or emulator may run there. Guests placed earlier were
// pinned to threads that were free then, and hand-written domains pin where
// their author wrote, so when a guest takes threads dedicated the pins of the
// others are recomputed from what they asked for, minus those threads. When
// the dedicated guest leaves, the same recomputation gives the threads back.
#pragma once

#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/placement.hpp"

#include <map>
#include <string>
#include <vector>

namespace vnumad::vnuma {

struct pins_wanted {
  std::map<unsigned, id_set> vcpus;  // vCPU -> the cpuset it asked for; absent or empty = any CPU
  id_set emulator;                   // empty = any CPU
};

struct pins_granted {
  std::vector<vcpu_placement> vcpus;  // `p.vcpus` with the host_cpus it may use now
  id_set emulator;
  std::vector<std::string> notes;     // a vCPU that had to move off its asked threads
};

// What `p` (held in `held`, or about to be) may use: each vCPU's asked cpuset
// minus the threads other guests hold dedicated; a vCPU left with nothing
// falls back to its cell's node's shared CPUs, else keeps what it asked (and
// a note says so). vCPUs on `p`'s own dedicated threads are untouched. An
// empty ask stays empty unless other guests hold threads, then it becomes
// every host CPU not held by them.
pins_granted pins_clear_of_dedicated(const placement& p, const pins_wanted& wanted, const ledger& held,
                                     const host_topology& host);

// For a hand-written domain: refuses a vCPU (or the emulator) pinned only to
// threads other guests hold dedicated, naming the vCPU, its cpuset and the
// holder. Partly overlapping pins are trimmed later by pins_clear_of_dedicated.
result<void> check_pins_not_all_dedicated(const placement& p, const ledger& held);

}  // namespace vnumad::vnuma
