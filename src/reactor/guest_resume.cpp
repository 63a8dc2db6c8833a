// Finishing a start that a previous daemon left half done. A "starting"
// record means QEMU was spawned paused (-S) and `cont` was never confirmed:
// no guest code has run, or (if the daemon died right after `cont`) it runs
// already. Either way the rest of the pipeline (QMP, boot vCPUs, pinning,
// cont) can be done again by this daemon on the same QEMU. Killing it and
// starting afresh instead would turn every daemon restart during a long
// start-up (systemd's start timeout, a watchdog restart) into a new start of
// the same guests: a loop that never finishes.
#include "reactor/guest.hpp"

#include "config/domain_xml.hpp"
#include "reactor/events.hpp"
#include "reactor/logging.hpp"

#include <csignal>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

awaitable<result<void>> guest::resume_start(guest_record record) {
  if (process_) co_return make_error(errc::busy, "guest '" + name() + "' is already running");
  const std::string where = "state of guest '" + name() + "'";
  // QEMU is gone (or is not ours): its state goes; the caller starts it afresh.
  auto stale = [&](const std::string& why) -> error {
    log_info("not resuming its start (" + why + "): cleaning up its state");
    if (auto cg = cgroup::guest_cgroup::open(ctx_.cgroups, name())) (void)cg->remove();
    (void)ctx_.store.remove(name());
    return make_error(errc::not_found, where + ": " + why);
  };
  // The pidfd first, then the identity check (as attach()).
  auto proc = qemu::process::attach(ctx_.io.get_executor(), record.pid);
  if (!proc) co_return stale("QEMU pid " + std::to_string(record.pid) + " is gone");
  if (!qemu::process_is_qemu_for(record.pid, "guest=" + name() + ","))
    co_return stale("pid " + std::to_string(record.pid) + " is no longer this guest's QEMU");
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

  busy_ = true;
  qemu_died_during_start_ = false;
  set_state(guest_state::starting);
  log_info("resuming the start of QEMU pid " + std::to_string(record.pid) + " (left starting by the previous daemon)");
  running_ = std::move(*parsed);
  process_ = std::move(*proc);
  ++generation_;
  stopping_ = restart_after_exit_ = poweroff_seen_ = false;
  record_ = std::move(record);
  record_.expanded_xml.clear();  // on disk already
  run_started_ = std::chrono::steady_clock::now();
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
    if (qmp_) qmp_->close();
    release_resources();
    busy_ = false;
    log_error("start failed: " + failure.message);
    set_state(guest_state::shut_off, failure.message);
    if (ctx_.publish) ctx_.publish(guest_event("start_failed", name(), failure.message));
    co_return failure;
  }
  busy_ = false;
  co_return up;
}

}  // namespace vnumad::reactor
