#include "cgroup/affinity.hpp"

#include "cgroup/proc.hpp"

#include <sched.h>

#include <cerrno>
#include <cstring>
#include <memory>

namespace vnumad::cgroup {
namespace {

struct cpu_set_deleter {
  void operator()(cpu_set_t* set) const { CPU_FREE(set); }
};
using cpu_set_ptr = std::unique_ptr<cpu_set_t, cpu_set_deleter>;

// Dynamically sized, because id_set admits ids far above CPU_SETSIZE (1024).
constexpr int max_cpus = static_cast<int>(config::max_set_id) + 1;

error syscall_error(std::string_view call, pid_t tid, const config::id_set* cpus, int err) {
  std::string msg = std::string(call) + " of thread " + std::to_string(tid);
  if (cpus) msg += " to cpus '" + config::format_id_set(*cpus) + "'";
  msg += " failed: ";
  msg += std::strerror(err);
  if (err == ESRCH) return make_error(errc::not_found, msg);
  if (err == EPERM) return make_error(errc::permission_denied, msg);
  if (err == EINVAL) return make_error(errc::invalid_value, msg + " (no online CPU in the set, or outside the thread's cpuset)");
  return make_error(errc::io_error, msg);
}

}  // namespace

result<void> set_affinity(pid_t tid, const config::id_set& cpus) {
  if (cpus.empty())
    return make_error(errc::invalid_value, "sched_setaffinity of thread " + std::to_string(tid) + ": empty CPU set");
  cpu_set_ptr set(CPU_ALLOC(max_cpus));
  std::size_t size = CPU_ALLOC_SIZE(max_cpus);
  CPU_ZERO_S(size, set.get());
  for (unsigned cpu : cpus) CPU_SET_S(cpu, size, set.get());
  if (::sched_setaffinity(tid, size, set.get()) != 0) return syscall_error("sched_setaffinity", tid, &cpus, errno);
  return {};
}

result<config::id_set> get_affinity(pid_t tid) {
  cpu_set_ptr set(CPU_ALLOC(max_cpus));
  std::size_t size = CPU_ALLOC_SIZE(max_cpus);
  CPU_ZERO_S(size, set.get());
  if (::sched_getaffinity(tid, size, set.get()) != 0) return syscall_error("sched_getaffinity", tid, nullptr, errno);
  config::id_set cpus;
  for (int cpu = 0; cpu < max_cpus; ++cpu)
    if (CPU_ISSET_S(cpu, size, set.get())) cpus.insert(static_cast<unsigned>(cpu));
  return cpus;
}

result<config::id_set> read_cpus_allowed_list(pid_t pid, pid_t tid) {
  auto value = read_status_field(pid, tid, "Cpus_allowed_list");
  if (!value) return value.error();
  return config::parse_id_set(*value, "Cpus_allowed_list of thread " + std::to_string(tid));
}

}  // namespace vnumad::cgroup
