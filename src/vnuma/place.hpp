// One entry point for "what would this domain hold on this host": a <vnuma>
// domain is expanded; a hand-written (libvirt style) domain is taken as it is
// and its placement derived. vnumactl and the daemon both go through here, so
// they cannot disagree.
#pragma once

#include "vnuma/partition.hpp"

namespace vnumad::vnuma {

result<expansion> place(const config::domain& d, const host_topology& host, const ledger& held,
                        const expand_options& opt);

}  // namespace vnumad::vnuma
