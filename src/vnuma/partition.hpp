// The vNUMA partitioner (spec sections 1-3): a domain with <vnuma> becomes the
// libvirt elements it stands for (CPU topology, cells with distances, <vcpus>,
// vcpupin/emulatorpin, strict memnodes, locked memory, no balloon) plus the
// placement the ledger holds. A domain without <vnuma> (explicit libvirt
// style) is not expanded; placement_of_explicit says what it holds.
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/placement.hpp"

namespace vnumad::vnuma {

struct expand_options {
  bool allow_overcommit = false;
  id_set reserved_cpus;  // resolved vnumad.conf reserved_cpus (resolve_reserved_cpus)
};

struct expansion {
  config::domain domain;  // expanded: no <vnuma>, every derived element written
  placement place;        // what the guest will hold; warnings for the operator
};

// Checks against `held` (other guests; an entry under this guest's own name
// counts as free, so a placed guest can be re-planned). Errors name the node
// and what it lacks; under allow_overcommit those become warnings.
result<expansion> expand(const config::domain& d, const host_topology& host, const ledger& held,
                         const expand_options& opt);

// The placement of a domain written out by hand: cells -> host nodes from the
// <memnode>s (else <numatune><memory nodeset>), vCPU pins from <vcpupin> (else
// <vcpu cpuset>), memory per node. A node that does not exist on the host is
// rejected as libvirt does: "NUMA node 999 is unavailable". Memory not bound
// to any node is not counted (with a warning). Explicit domains hold no
// dedicated threads.
result<placement> placement_of_explicit(const config::domain& d, const host_topology& host);

}  // namespace vnumad::vnuma
