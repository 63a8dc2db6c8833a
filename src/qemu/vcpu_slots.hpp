// libvirt vCPU ids <-> QEMU's CPU topology slots, the one home of that
// mapping. argv (-smp), the vCPUs plugged at boot, live setvcpus, the thread
// of each vCPU for pinning, and vcpuinfo all use it, as libvirt's QEMU driver
// uses one description of each vCPU (qemuBuildHotpluggableCPUProps) at boot
// and for hotplug.
//
// The rule is QEMU's x86 cpu-index -> topology ids (x86_topo_ids_from_idx):
// the id counts threads fastest, then cores, clusters, dies and sockets.
// Without <cpu><topology> a guest has one single-threaded core per socket
// (sockets = vCPUs), which is also what libvirt passes to QEMU for such a
// domain; every part below sees that same default.
#pragma once

#include "config/domain.hpp"
#include "qmp/qmp_commands.hpp"
#include "util/error.hpp"

#include <optional>
#include <vector>

namespace vnumad::qemu {

struct vcpu_topology {
  unsigned sockets = 1, dies = 1, clusters = 1, cores = 1, threads = 1;
  bool explicit_ = false;  // from <cpu><topology>; -smp then names dies and clusters too
};

// The domain's topology, or the default; an explicit one whose product is not
// <vcpu> or has a zero count is an error naming both.
result<vcpu_topology> vcpu_topology_of(const config::domain& d);

struct vcpu_slot {
  unsigned socket = 0, die = 0, cluster = 0, core = 0, thread = 0;
  friend bool operator==(const vcpu_slot&, const vcpu_slot&) = default;
};

vcpu_slot slot_of(const vcpu_topology& t, unsigned vcpu);
// The vCPU id of a slot QEMU reports (query-cpus-fast, query-hotpluggable-
// cpus); std::nullopt for ids outside the topology. Props QEMU leaves out
// (die-id on a one-die machine) count as 0.
std::optional<unsigned> vcpu_of(const vcpu_topology& t, const qmp::cpu_props& props);
// The unplugged QEMU slot for a vCPU, nullptr when there is none.
const qmp::hotpluggable_cpu* free_slot_for(const std::vector<qmp::hotpluggable_cpu>& slots, const vcpu_topology& t,
                                           unsigned vcpu);

}  // namespace vnumad::qemu
