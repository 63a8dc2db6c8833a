#include "qemu/process.hpp"

#include "qemu/environment.hpp"

#include "config/path_trust.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fcntl.h>
#include <numa.h>
#include <numaif.h>
#include <signal.h>
#include <grp.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

extern char** environ;

namespace vnumad::qemu {
namespace asio = boost::asio;

struct process::state {
  state(asio::any_io_executor ex, int pidfd, pid_t p, bool child) : pidfd(ex, pidfd), pid(p), child(child) {}
  asio::posix::stream_descriptor pidfd;
  pid_t pid;
  bool child;
  bool exited = false;
  std::optional<int> status;
};

namespace {

// An fd closed on scope exit, for the parent's side of spawn().
class unique_fd {
 public:
  explicit unique_fd(int fd = -1) : fd_(fd) {}
  unique_fd(const unique_fd&) = delete;
  unique_fd& operator=(const unique_fd&) = delete;
  ~unique_fd() { reset(); }
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }
  void reset(int fd = -1) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = fd;
  }

 private:
  int fd_;
};

std::string errno_text(int err) { return std::strerror(err); }

// glibc 2.36's <sys/pidfd.h> lacks extern "C" (fixed in 2.37), so C++ cannot
// link against its wrappers: call the system calls directly.
int sys_pidfd_open(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0u)); }
int sys_pidfd_send_signal(int pidfd, int sig) {
  return static_cast<int>(::syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0u));
}

// Moves an fd to 3 or above, so the dup2 onto 0-2 in the child cannot
// clobber it even if the daemon was started with a standard fd closed.
int above_stdio(int fd) {
  if (fd < 0 || fd > 2) return fd;
  int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
  ::close(fd);
  return moved;
}

// What the child reports through the CLOEXEC pipe when a step fails; EOF on
// the pipe means exec succeeded.
struct child_failure {
  int step;
  int err;
};
enum child_step {
  step_setsid, step_stdio, step_hold, step_cgroup, step_mempolicy, step_memlock,
  step_fds, step_setgroups, step_setgid, step_setuid, step_exec
};

const char* step_text(int step) {
  switch (step) {
    case step_setsid: return "setsid";
    case step_stdio: return "redirecting stdin/stdout/stderr";
    case step_cgroup: return "joining the guest's cgroup";
    case step_mempolicy: return "set_mempolicy(MPOL_BIND)";
    case step_hold: return "waiting for the parent's go-ahead";
    case step_memlock: return "setrlimit(RLIMIT_MEMLOCK)";
    case step_fds: return "keeping the -add-fd descriptors open";
    case step_setgroups: return "setgroups";
    case step_setgid: return "setgid";
    case step_setuid: return "setuid";
    default: return "exec";
  }
}

std::string resolve_binary(const std::string& name) {
  if (name.find('/') != std::string::npos) return name;
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/local/bin:/usr/bin:/bin");
  for (std::string dir; std::getline(dirs, dir, ':');) {
    std::string candidate = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(candidate.c_str(), X_OK) == 0) return candidate;
  }
  return name;  // exec reports ENOENT, naming the binary
}

// Only async-signal-safe calls from here to exec: the parent may be
// multi-threaded (libraries), and the child has a copy of its locks.
// Everything the child does besides stdio, prepared by the parent.
struct child_plan {
  int cgroup_procs = -1;
  const unsigned long* nodemask = nullptr;
  unsigned long maxnode = 0;
  const rlimit* memlock = nullptr;        // set when the current limit is too low
  const std::vector<int>* inherit_fds = nullptr;
  const qemu_credentials* run_as = nullptr;
  char* const* envp = environ;
  int hold_read = -1;                     // set: wait for the parent's byte (before_exec)
  int hold_write = -1;
};

[[noreturn]] void run_child(const char* binary, char* const* argv, int devnull, int log, int report,
                            const child_plan& plan) {
  auto fail = [report](int step) {
    child_failure f{step, errno};
    (void)!::write(report, &f, sizeof f);
    ::_exit(127);
  };
  // A daemon blocks or handles signals for itself; QEMU must start clean.
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
  struct sigaction dfl {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) ::sigaction(sig, &dfl, nullptr);

  if (::setsid() < 0) fail(step_setsid);
  if (::dup2(devnull, 0) < 0 || ::dup2(log, 1) < 0 || ::dup2(log, 2) < 0) fail(step_stdio);
  if (plan.hold_read >= 0) {
    // One byte: go on. EOF (the parent gave up or died): stop here.
    ::close(plan.hold_write);
    char go = 0;
    ssize_t got = -1;
    while (got < 0 && (got = ::read(plan.hold_read, &go, 1)) < 0 && errno == EINTR) {
    }
    if (got != 1) fail(step_hold);
  }
  // "0" is the writer itself; as the child is still single-threaded, that is
  // the whole future QEMU. Before the policy: its nodes must be allowed here.
  if (plan.cgroup_procs >= 0 && ::write(plan.cgroup_procs, "0", 1) != 1) fail(step_cgroup);
  if (plan.nodemask && ::set_mempolicy(MPOL_BIND, plan.nodemask, plan.maxnode) != 0) fail(step_mempolicy);
  // While still root: raising the hard limit needs CAP_SYS_RESOURCE.
  if (plan.memlock && ::setrlimit(RLIMIT_MEMLOCK, plan.memlock) != 0) fail(step_memlock);
  // Everything else the daemon holds (QMP sockets of other guests, the
  // control socket, inotify) must not leak into QEMU. CLOEXEC rather than
  // close: the report pipe has to stay open until exec.
  if (::close_range(3, ~0U, CLOSE_RANGE_CLOEXEC) != 0) {
    for (int fd = 3; fd < 65536; ++fd) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  }
  if (plan.inherit_fds)
    for (int fd : *plan.inherit_fds)
      if (::fcntl(fd, F_SETFD, 0) != 0) fail(step_fds);
  // Groups first, uid last: after setuid nothing else may be dropped. Done
  // here rather than by QEMU (-run-with user=), which drops only after it has
  // opened its disks and chardevs as root.
  if (plan.run_as) {
    if (::setgroups(plan.run_as->groups.size(), plan.run_as->groups.data()) != 0) fail(step_setgroups);
    if (::setgid(plan.run_as->gid) != 0) fail(step_setgid);
    if (::setuid(plan.run_as->uid) != 0) fail(step_setuid);
  }
  ::execve(binary, argv, plan.envp);
  fail(step_exec);
  ::_exit(127);  // fail() does not return; this tells the compiler
}

std::string limit_text(rlim_t v) { return v == RLIM_INFINITY ? "unlimited" : std::to_string(v) + " bytes"; }

std::string memlock_failure_text(const rlimit& current, const rlimit& wanted, int err) {
  return "cannot raise RLIMIT_MEMLOCK to " + limit_text(wanted.rlim_cur) +
         " for a guest with <memoryBacking><locked/> (its memory plus QEMU's own): " + errno_text(err) +
         "; the limit is " + limit_text(current.rlim_cur) + " (hard " + limit_text(current.rlim_max) +
         ") and raising the hard limit needs CAP_SYS_RESOURCE, which vnumad lacks. Fix: start vnumad with a "
         "higher limit (LimitMEMLOCK=infinity in vnumad.service, ulimit -l), or set runas = root in vnumad.conf "
         "(root locks memory with CAP_IPC_LOCK), or drop <locked/>";
}

std::string join_argv(const std::vector<std::string>& argv) {
  std::string out;
  for (const auto& a : argv) {
    if (!out.empty()) out += ' ';
    out += a;
  }
  return out;
}

}  // namespace

result<process> process::spawn(asio::any_io_executor executor, const spawn_options& options) {
  if (options.argv.empty()) return make_error(errc::invalid_value, "spawn: empty argv (no QEMU binary given)");
  const std::string binary = resolve_binary(options.argv.front());

  // The node mask is built before fork: nothing after fork may allocate.
  std::vector<unsigned long> mask;
  unsigned long maxnode = 0;
  if (!options.membind_nodes.empty()) {
    if (numa_available() < 0)
      return make_error(errc::unsupported, "spawn " + binary + ": memory binding to nodes " +
                                               config::format_id_set(options.membind_nodes) +
                                               " requested but the kernel has no NUMA support");
    const int max_possible = numa_max_possible_node();
    const unsigned highest = *options.membind_nodes.rbegin();
    if (highest > static_cast<unsigned>(max_possible))
      return make_error(errc::node_unavailable, "spawn " + binary + ": memory binding node " +
                                                    std::to_string(highest) + " is above the highest possible node " +
                                                    std::to_string(max_possible));
    constexpr unsigned bits = 8 * sizeof(unsigned long);
    mask.assign(max_possible / bits + 1, 0);
    for (unsigned n : options.membind_nodes) mask[n / bits] |= 1UL << (n % bits);
    // The kernel treats maxnode as "bits + 1" (it decrements it), as libnuma does.
    maxnode = mask.size() * bits + 1;
  }

  // No link followed, in a directory only root can write (config/path_trust.hpp).
  auto log_fd = config::open_in_trusted_dir(options.log_file, O_WRONLY | O_CREAT | O_APPEND, 0640);
  if (!log_fd) return make_error(log_fd.error().code, "QEMU log " + log_fd.error().message);
  unique_fd log(above_stdio(*log_fd));
  unique_fd devnull(above_stdio(::open("/dev/null", O_RDONLY | O_CLOEXEC)));
  if (devnull.get() < 0) return make_error(errc::io_error, "cannot open /dev/null: " + errno_text(errno));
  int pipe_fds[2];
  if (::pipe2(pipe_fds, O_CLOEXEC) != 0) return make_error(errc::io_error, "pipe2: " + errno_text(errno));
  unique_fd report_read(above_stdio(pipe_fds[0]));
  unique_fd report_write(above_stdio(pipe_fds[1]));

  unique_fd cgroup_procs;
  if (!options.join_cgroup_procs.empty()) {
    cgroup_procs.reset(above_stdio(::open(options.join_cgroup_procs.c_str(), O_WRONLY | O_CLOEXEC)));
    if (cgroup_procs.get() < 0)
      return make_error(errc::io_error, "cannot open " + options.join_cgroup_procs.string() + ": " + errno_text(errno));
  }

  child_plan plan{.cgroup_procs = cgroup_procs.get(),
                  .nodemask = mask.empty() ? nullptr : mask.data(),
                  .maxnode = maxnode,
                  .inherit_fds = &options.inherit_fds,
                  .run_as = options.run_as ? &*options.run_as : nullptr};
  rlimit current{}, wanted{};
  if (options.memlock_bytes) {
    ::getrlimit(RLIMIT_MEMLOCK, &current);
    const rlim_t need = static_cast<rlim_t>(*options.memlock_bytes);
    if (current.rlim_cur != RLIM_INFINITY && current.rlim_cur < need) {
      wanted.rlim_cur = need;
      wanted.rlim_max = current.rlim_max == RLIM_INFINITY || current.rlim_max >= need ? current.rlim_max : need;
      plan.memlock = &wanted;
    }
  }
  for (int fd : options.inherit_fds)
    if (fd <= 2) return make_error(errc::invalid_value, "spawn: fd " + std::to_string(fd) + " cannot be passed to QEMU (0-2 are its stdio)");

  const std::string header = "vnumad: spawn " + join_argv(options.argv) + "\n";
  (void)!::write(log.get(), header.data(), header.size());

  std::vector<char*> argv;
  for (const auto& a : options.argv) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);

  // Built here: the child may not allocate.
  std::vector<std::string> env_entries = merged_environment(environ, options.env);
  std::vector<char*> envp;
  for (auto& e : env_entries) envp.push_back(e.data());
  envp.push_back(nullptr);
  if (!options.env.empty()) plan.envp = envp.data();

  unique_fd hold_read, hold_write;
  if (options.before_exec) {
    int hold_fds[2];
    if (::pipe2(hold_fds, O_CLOEXEC) != 0) return make_error(errc::io_error, "pipe2: " + errno_text(errno));
    hold_read.reset(above_stdio(hold_fds[0]));
    hold_write.reset(above_stdio(hold_fds[1]));
    plan.hold_read = hold_read.get();
    plan.hold_write = hold_write.get();
  }

  const pid_t pid = ::fork();
  if (pid < 0) return make_error(errc::process_failed, "fork for " + binary + ": " + errno_text(errno));
  if (pid == 0)
    run_child(binary.c_str(), argv.data(), devnull.get(), log.get(), report_write.get(), plan);

  report_write.reset();
  if (options.before_exec) {
    hold_read.reset();
    const char go = 1;
    auto ready = options.before_exec(pid);
    if (ready && ::write(hold_write.get(), &go, 1) != 1)
      ready = make_error(errc::process_failed, "releasing the child of " + binary + ": " + errno_text(errno));
    if (!ready) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      return ready.error();
    }
    hold_write.reset();
  }
  child_failure failure{};
  ssize_t n;
  do {
    n = ::read(report_read.get(), &failure, sizeof failure);
  } while (n < 0 && errno == EINTR);
  if (n == static_cast<ssize_t>(sizeof failure)) {
    int ignored;
    ::waitpid(pid, &ignored, 0);
    if (failure.step == step_exec)
      return make_error(errc::process_failed, "cannot execute " + binary + ": " + errno_text(failure.err));
    if (failure.step == step_memlock)
      return make_error(errc::permission_denied, memlock_failure_text(current, wanted, failure.err));
    return make_error(errc::process_failed, "starting " + binary + ": " + step_text(failure.step) +
                                                " failed: " + errno_text(failure.err));
  }

  // Our unreaped child cannot be recycled, so opening the pidfd after the
  // fact is race-free.
  const int pidfd = sys_pidfd_open(pid);
  if (pidfd < 0) {
    const int err = errno;
    ::kill(pid, SIGKILL);
    int ignored;
    ::waitpid(pid, &ignored, 0);
    return make_error(errc::process_failed, "pidfd_open for " + binary + " (pid " + std::to_string(pid) +
                                                "): " + errno_text(err));
  }
  return process(std::make_shared<state>(executor, pidfd, pid, true));
}

result<process> process::attach(asio::any_io_executor executor, pid_t pid) {
  if (pid <= 0) return make_error(errc::invalid_value, "attach: invalid pid " + std::to_string(pid));
  const int pidfd = sys_pidfd_open(pid);
  if (pidfd < 0)
    return make_error(errno == ESRCH ? errc::not_found : errc::process_failed,
                      "cannot watch pid " + std::to_string(pid) + ": " + errno_text(errno));
  // A process we forked ourselves (e.g. in tests) can still be reaped.
  siginfo_t info{};
  const bool child = ::waitid(P_PID, pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0;
  return process(std::make_shared<state>(executor, pidfd, pid, child));
}

process::~process() = default;

pid_t process::pid() const { return state_->pid; }
bool process::is_child() const { return state_->child; }
bool process::has_exited() const { return state_->exited; }

asio::awaitable<result<std::optional<int>>> process::wait_exit() {
  auto st = state_;  // `this` may be moved from while we wait
  while (!st->exited) {
    auto [ec] = co_await st->pidfd.async_wait(asio::posix::descriptor_base::wait_read,
                                              asio::as_tuple(asio::use_awaitable));
    if (st->exited) break;
    if (ec) co_return make_error(errc::cancelled, "waiting for pid " + std::to_string(st->pid) + ": " + ec.message());
    int status = 0;
    const pid_t r = ::waitpid(st->pid, &status, WNOHANG);
    if (r == st->pid) {
      st->status = status;
      st->exited = true;
    } else if (r < 0 && errno == ECHILD) {
      // Not ours (re-attached): the pidfd said it exited; its parent reaps it.
      st->exited = true;
    } else if (!st->child) {
      st->exited = true;
    }
  }
  co_return st->status;
}

result<void> process::send_signal(int signal) {
  if (sys_pidfd_send_signal(state_->pidfd.native_handle(), signal) != 0)
    return make_error(errno == ESRCH ? errc::not_found : errc::process_failed,
                      "signal " + std::to_string(signal) + " to pid " + std::to_string(state_->pid) + ": " +
                          errno_text(errno));
  return {};
}

std::string describe_wait_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    std::string text = "killed by signal " + std::to_string(WTERMSIG(status)) + " (" + ::strsignal(WTERMSIG(status)) + ")";
    if (WCOREDUMP(status)) text += ", core dumped";
    return text;
  }
  return "wait status " + std::to_string(status);
}

}  // namespace vnumad::qemu
