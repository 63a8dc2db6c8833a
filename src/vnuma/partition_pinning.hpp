// Pinning rules of spec section 3: shared pinning (every CPU of the cell's
// node not dedicated to another guest), dedicated "siblings" pinning (one
// host thread per vCPU, a guest core on SMT siblings of one host core) and the
// emulator's CPUs, with the overcommit checks that go with them.
#pragma once

#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vnumad::vnuma {

struct pinning_context {
  const host_topology& host;
  const ledger& held;
  const id_set& reserved;
  std::string_view guest;
  bool allow_overcommit = false;
};

struct pinning {
  std::vector<id_set> vcpu_cpus;      // index = vCPU id
  id_set dedicated;                   // threads this guest holds exclusively
  std::vector<std::string> warnings;
};

// cells[k] = the vCPUs of cell k, nodes[k] = its host node.
// Not enough CPUs for a cell: insufficient_cpus naming node, need and have;
// with overcommit a warning (and, when other guests hold every CPU of the
// node, the node's CPUs anyway).
result<pinning> pin_shared(const pinning_context& ctx, const std::vector<id_set>& cells,
                           const std::vector<unsigned>& nodes, unsigned vcpus);

// guest_threads = threads per guest core. Not enough free threads on a node:
// insufficient_cpus naming node, need and have; with overcommit the node's
// free units are reused from the start (wrap-around) with a warning, and a
// node with none at all pins to its shared CPUs without holding them.
result<pinning> pin_dedicated(const pinning_context& ctx, const std::vector<id_set>& cells,
                              const std::vector<unsigned>& nodes, unsigned vcpus, unsigned guest_threads);

// The reserved CPUs of the guest's nodes; if none, the union of those nodes'
// CPUs minus threads held dedicated (by this guest or others) so the emulator
// never competes with a dedicated vCPU; the plain union if that leaves none.
id_set emulator_cpus(const pinning_context& ctx, const std::vector<unsigned>& nodes, const id_set& own_dedicated);

}  // namespace vnumad::vnuma
