// Spawning and watching QEMU. QEMU runs in its own session so it outlives a
// daemon crash or restart; its exit is seen through a pidfd, which works both
// for our own child and for a QEMU re-attached after a daemon restart (which
// we can watch but not reap).
#pragma once

#include "config/cpuset.hpp"
#include "qemu/qemu_user.hpp"
#include "util/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::qemu {

struct spawn_options {
  // argv[0] is the binary: a path, or a name looked up in PATH by the parent.
  // Executed directly, never through a shell.
  std::vector<std::string> argv;
  // stdout and stderr are appended here (created 0640); a header line
  // "vnumad: spawn ..." marks where this run's output starts.
  std::filesystem::path log_file;
  // Host nodes for MPOL_BIND before exec, so QEMU's own allocations (and
  // guest RAM without an explicit memory backend policy) land on the guest's
  // nodes. Empty: the policy is left as inherited.
  config::id_set membind_nodes;
  // A cgroup.procs file the child joins (writes "0" into) before it sets the
  // memory policy and execs, so QEMU never runs, or allocates, outside its
  // guest's cgroup. Empty: the child stays in the daemon's cgroup.
  std::filesystem::path join_cgroup_procs;
  // Called in the parent with the child's pid while the child waits (after
  // setsid and its stdio, before it joins join_cgroup_procs, sets the memory
  // policy and execs): systemd puts the child in its machine scope and vnumad
  // moves it to the group with the guest's mems. An error kills the child and
  // fails the spawn with that error. Empty: the child does not wait.
  std::function<result<void>(pid_t)> before_exec;
  // RLIMIT_MEMLOCK (soft and hard) the child sets before it drops privileges,
  // for a QEMU that locks its memory (-overcommit mem-lock=on) as a user
  // without CAP_IPC_LOCK. Left alone when the current soft limit suffices; a
  // hard limit below it needs CAP_SYS_RESOURCE, and without it the spawn fails
  // with errc::permission_denied saying how to fix it. Unset: inherited.
  std::optional<std::uint64_t> memlock_bytes;
  // The user the child becomes before exec (setgroups, setgid, setuid, in
  // that order). Unset: QEMU keeps the daemon's credentials (root).
  std::optional<qemu_credentials> run_as;
  // Open fds (above 2) QEMU inherits, for -add-fd; all others are closed on exec.
  std::vector<int> inherit_fds;
  // "NAME=value" entries added to the environment QEMU inherits, replacing a
  // variable of the same name (<qemu:commandline><qemu:env>).
  std::vector<std::string> env;
};

class process {
 public:
  // Fork+exec. A binary that cannot be executed is an error here
  // (errc::process_failed, "cannot execute BINARY: No such file or
  // directory"); QEMU refusing its options is a quick exit seen by wait_exit(),
  // with QEMU's own message in the log (qemu_error_message()).
  static result<process> spawn(boost::asio::any_io_executor executor, const spawn_options& options);

  // Watches an existing process that is not (necessarily) our child, e.g. a
  // QEMU found in a state dir after a daemon restart. Verify it afterwards
  // with process_is_qemu_for(): the pidfd pins the identity, so a check done
  // after attach cannot be fooled by pid reuse.
  static result<process> attach(boost::asio::any_io_executor executor, pid_t pid);

  process(process&&) noexcept = default;
  process& operator=(process&&) noexcept = default;
  ~process();

  pid_t pid() const;
  // True when spawned by this daemon: only then is the exit status known.
  bool is_child() const;
  bool has_exited() const;

  // Completes when the process has exited. The value is the wait status
  // (WIFEXITED/WEXITSTATUS apply) for our own child, std::nullopt for an
  // attached process whose status went to its real parent. errc::cancelled
  // when the wait was cancelled (e.g. the loser of an `||`).
  boost::asio::awaitable<result<std::optional<int>>> wait_exit();

  // pidfd_send_signal: never hits a recycled pid.
  result<void> send_signal(int signal);

  struct state;

 private:
  explicit process(std::shared_ptr<state> st) : state_(std::move(st)) {}
  std::shared_ptr<state> state_;
};

// "exited with status 1", "killed by signal 9 (Killed)".
std::string describe_wait_status(int wait_status);

// Is `pid` alive and its command line an argument containing `marker` (e.g.
// "guest=NAME" from "-name guest=NAME,..."), with a qemu binary as argv[0]?
bool process_is_qemu_for(pid_t pid, std::string_view marker);

// Every live qemu process with an argument containing `marker`, found in /proc.
std::vector<pid_t> find_qemu_processes(std::string_view marker);

// The last `max_lines` lines of a log file (empty when it cannot be read).
std::vector<std::string> read_log_tail(const std::filesystem::path& log, std::size_t max_lines = 20);

// QEMU's own error message from the output of the last spawn into `log`: its
// "qemu-system-...: ..." lines joined by "; ", else its last non-empty line.
std::string qemu_error_message(const std::filesystem::path& log);

}  // namespace vnumad::qemu
