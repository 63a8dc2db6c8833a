// sched_setaffinity for one thread. Applied in addition to cgroups, so that
// pinning holds even where no cpuset hierarchy is writable.
#pragma once

#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <sys/types.h>

namespace vnumad::cgroup {

// Errors name the tid and the set; an empty set is refused (the kernel would
// answer EINVAL without saying why).
result<void> set_affinity(pid_t tid, const config::id_set& cpus);
result<config::id_set> get_affinity(pid_t tid);

// Cpus_allowed_list of /proc/PID/task/TID/status: what the kernel reports to
// anybody looking from outside, used to verify a pin independently of the
// syscall that made it.
result<config::id_set> read_cpus_allowed_list(pid_t pid, pid_t tid);

}  // namespace vnumad::cgroup
