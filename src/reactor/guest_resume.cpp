// Taking over a QEMU that a previous daemon started. A "running" record is
// re-attached (attach): same pid, QMP reconnected, pinning re-applied and
// verified. A "starting" record means QEMU was spawned paused (-S) and `cont`
// was never confirmed: no guest code has run, or (if the daemon died right
// after `cont`) it runs already. Either way the rest of the pipeline (QMP,
// boot vCPUs, pinning, cont) can be done again by this daemon on the same
// QEMU (resume_start). Killing it and starting afresh instead would turn
// every daemon restart during a long start-up (systemd's start timeout, a
// watchdog restart) into a new start of the same guests: a loop that never
// finishes.
#include "reactor/guest.hpp"

#include "config/domain_xml.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/events.hpp"
#include "reactor/logging.hpp"

#include <csignal>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

void guest::adopt(qemu::process proc, guest_record record) {
  process_ = std::move(proc);
  ++generation_;
  stopping_ = restart_after_exit_ = poweroff_seen_ = false;
  record_ = std::move(record);
  record_.expanded_xml.clear();  // parsed into running_; on disk already
  run_started_ = std::chrono::steady_clock::now();
}

error guest::drop_stale(std::string_view doing, const std::string& why) {
  log_info("not " + std::string(doing) + " (" + why + "): cleaning up its state");
  if (!cgroup_)
    if (auto cg = cgroup::guest_cgroup::open(ctx_.cgroups, name())) cgroup_ = std::move(*cg);
  stop_run();
  return make_error(errc::not_found, "state of guest '" + name() + "': " + why);
}

namespace {

// The pidfd first, then the identity check: the pidfd pins the process, so
// a recycled pid cannot pass the check.
result<qemu::process> find_its_qemu(const guest& g, asio::any_io_executor ex, pid_t pid) {
  auto proc = qemu::process::attach(std::move(ex), pid);
  if (!proc) return make_error(errc::not_found, "QEMU pid " + std::to_string(pid) + " is gone");
  if (!qemu::process_is_qemu_for(pid, "guest=" + g.name() + ","))
    return make_error(errc::not_found, "pid " + std::to_string(pid) + " is no longer this guest's QEMU");
  return proc;
}

}  // namespace

awaitable<result<void>> guest::attach(guest_record record) {
  auto job = co_await job_.begin("re-attach");
  if (!job) co_return job.error();
  auto stale = [&](const std::string& why) -> result<void> { return drop_stale("re-attaching", why); };
  auto proc = find_its_qemu(*this, ctx_.io.get_executor(), record.pid);
  if (!proc) co_return stale(proc.error().message);
  if (record.phase == start_phase::starting) {
    // The daemon died mid-start: that QEMU never ran the guest. Start afresh.
    (void)proc->send_signal(SIGKILL);
    co_await proc->wait_exit();
    co_return stale("it was half-started when the daemon stopped");
  }
  auto parsed = config::parse_domain_string(record.expanded_xml, (ctx_.store.guest_dir(name()) / "domain.xml").string());
  if (!parsed) co_return stale(parsed.error().message);
  running_ = std::move(*parsed);
  // Already on the host, so capacity checks do not apply: just hold it again.
  if (auto held = ctx_.ledger.add(record.place, true); !held) co_return stale(held.error().message);
  adopt(std::move(*proc), std::move(record));

  qmp_ = std::make_unique<qmp::qmp_client>(ctx_.io.get_executor());
  auto fail = [&](const error& e) -> result<void> {
    // QEMU runs but cannot be driven: leave it alone rather than kill a guest,
    // and say so. Its resources stay held.
    log_failure(name(), "re-attach incomplete: ", e);
    return e;
  };
  if (auto c = co_await qmp_->connect(ctx_.store.qmp_socket(name()).string(), timeouts_.quick); !c)
    co_return fail(c.error());
  if (auto n = co_await qmp_->negotiate(timeouts_.quick); !n) co_return fail(n.error());
  keep_qmp_socket_spare();
  on_qmp_events();
  auto cg = cgroup_of_running(process_->pid());
  if (!cg) co_return fail(cg.error());
  cgroup_ = std::move(*cg);
  if (auto pinned = co_await pin_all(); !pinned) co_return fail(pinned.error());
  if (auto verified = cgroup_->verify(); !verified) co_return fail(verified.error());
  auto status_reply = co_await qmp_->execute(qmp::query_status(), timeouts_.quick);
  auto status = status_reply ? qmp::decode_status(*status_reply) : result<qmp::vm_status>(status_reply.error());
  set_state(status && status->running ? guest_state::running : guest_state::paused);
  log_info("re-attached to QEMU pid " + std::to_string(process_->pid()) + ", pinning verified");
  watch(generation_);
  co_return result<void>{};
}

awaitable<result<void>> guest::resume_start(job_lease job, guest_record record) {
  if (process_) co_return make_error(errc::busy, "guest '" + name() + "' is already running");
  // The caller starts it afresh.
  auto stale = [&](const std::string& why) { return drop_stale("resuming its start", why); };
  auto proc = find_its_qemu(*this, ctx_.io.get_executor(), record.pid);
  if (!proc) co_return stale(proc.error().message);
  auto parsed = config::parse_domain_string(record.expanded_xml, (ctx_.store.guest_dir(name()) / "domain.xml").string());
  if (!parsed) {
    (void)proc->send_signal(SIGKILL);
    co_await proc->wait_exit();
    co_return stale(parsed.error().message);
  }
  // The placement the previous daemon held for it: QEMU's memory is bound there.
  if (auto held = ctx_.ledger.add(record.place, true); !held) {
    (void)proc->send_signal(SIGKILL);
    co_await proc->wait_exit();
    co_return stale(held.error().message);
  }

  qemu_died_during_start_ = false;
  set_state(guest_state::starting);
  log_info("resuming the start of QEMU pid " + std::to_string(record.pid) + " (left starting by the previous daemon)");
  running_ = std::move(*parsed);
  adopt(std::move(*proc), std::move(record));
  const std::filesystem::path log_file = ctx_.log_dir / (name() + ".log");

  result<void> up;
  auto cg = cgroup::guest_cgroup::open(ctx_.cgroups, name(),
                                       [this](std::string_view w) { log_guest(log_level::warning, name(), std::string(w)); });
  if (!cg) {
    up = cg.error();
  } else {
    cgroup_ = std::move(*cg);
    up = co_await bring_up_spawned(ctx_.store.qmp_socket(name()).string(), log_file);
  }
  if (!up && !detached_) {
    // As a failed start: QEMU killed, cgroups, ledger and state released.
    error failure = co_await explain_start_failure(up.error(), log_file);
    if (process_) {
      (void)process_->send_signal(SIGKILL);
      co_await process_->wait_exit();
    }
    stop_run();
    log_error("start failed: " + failure.message);
    set_state(guest_state::shut_off, failure.message);
    if (ctx_.publish) ctx_.publish(guest_event("start_failed", name(), failure.message));
    co_return failure;
  }
  co_return up;
}

}  // namespace vnumad::reactor
