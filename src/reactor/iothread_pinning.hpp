// A running guest's iothreads (<iothreads>): each one's host thread, from
// QMP query-iothreads, goes into its own iothread<N> cgroup with the CPUs of
// its <iothreadpin>, else the emulator's CPUs (vnuma::iothread_pin). Run by
// the guest's pinning at start and at re-attach, after the emulator's pin;
// repin_iothreads follows a later change of the emulator's CPUs.
#pragma once

#include "cgroup/guest_cgroup.hpp"
#include "config/domain.hpp"
#include "qmp/qmp_client.hpp"
#include "util/error.hpp"
#include "vnuma/placement.hpp"

#include <boost/asio/awaitable.hpp>

namespace vnumad::reactor {

boost::asio::awaitable<result<void>> pin_iothreads(qmp::qmp_client& qmp, cgroup::guest_cgroup& cgroup,
                                                   const config::domain& d, const vnuma::placement& place,
                                                   const config::id_set& all_host_cpus);

// Re-pins the iothreads pin_iothreads placed (their threads as it found
// them), so that those without an <iothreadpin> follow the emulator's CPUs.
result<void> repin_iothreads(cgroup::guest_cgroup& cgroup, const config::domain& d, const vnuma::placement& place,
                             const config::id_set& all_host_cpus);

}  // namespace vnumad::reactor
