// Ending a run: the one idempotent stop (stop_run) that a failed start, a
// stale record, a crash and a destroy share, and the operations that ask
// QEMU to go (shutdown, destroy, restart) before it runs.
#include "reactor/guest.hpp"

#include "qmp/qmp_commands.hpp"
#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>

namespace vnumad::reactor {

namespace asio = boost::asio;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

void guest::stop_run() {
  if (qmp_) qmp_->close();
  qmp_.reset();
  if (process_) {
    if (!process_->has_exited()) {
      (void)process_->send_signal(SIGKILL);
      // Reaped in the background: SIGKILL makes that immediate.
      auto dying = std::make_shared<qemu::process>(std::move(*process_));
      spawn_logged(ctx_.io, "reaping QEMU of guest '" + name() + "'",
                   [dying]() -> awaitable<void> { co_await dying->wait_exit(); });
    }
    process_.reset();
  }
  if (cgroup_) {
    if (auto removed = cgroup_->remove(); !removed) remove_cgroup_later(std::move(*cgroup_), removed.error());
    cgroup_.reset();
  }
  if (const vnuma::placement* held = placement()) {
    const bool dedicated = !held->dedicated_cpus.empty();
    ctx_.ledger.remove(name());
    // Its dedicated threads are free again: the others may take them back.
    announce_dedicated_change(dedicated);
  }
  // Not when the daemon is stopping (detach): the next daemon re-attaches,
  // or finishes a start, from the record.
  if (!detached_)
    if (auto removed = ctx_.store.remove(name()); !removed) log_error(removed.error().message);
  vcpu_threads_.clear();
  removals_.clear();
  ++generation_;
}

// Threads of a QEMU that has just died can stay listed in its cgroups for a
// moment (exiting, or a child process not yet reaped), so rmdir says EBUSY.
// Try again for a few seconds rather than leave the groups behind; a new run
// of the guest takes over its groups itself.
void guest::remove_cgroup_later(cgroup::guest_cgroup groups, error first_failure) {
  spawn_logged(
      ctx_.io, "removing the cgroups of guest '" + name() + "'",
      [self = shared_from_this(), groups = std::move(groups), failure = std::move(first_failure)]() mutable -> awaitable<void> {
        asio::steady_timer pause(self->ctx_.io);
        for (int attempt = 0; attempt < 50; ++attempt) {
          pause.expires_after(100ms);
          co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
          if (self->process_) co_return;
          auto removed = groups.remove();
          if (removed) co_return;
          failure = removed.error();
        }
        self->log_error(failure.message);
      });
}

awaitable<bool> guest::wait_for_exit(std::chrono::milliseconds timeout) {
  if (!process_) co_return true;
  exited_.expires_at(std::chrono::steady_clock::time_point::max());
  asio::steady_timer deadline(ctx_.io, timeout);
  co_await (exited_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
            deadline.async_wait(asio::as_tuple(asio::use_awaitable)));
  co_return !process_;
}

// Needs the job. QEMU's exit (on_exit) ends the run with stop_run.
awaitable<result<void>> guest::stop_qemu(bool graceful, std::chrono::seconds timeout) {
  if (!process_) co_return result<void>{};
  stopping_ = true;
  if (graceful && qmp_ && qmp_->is_open()) {
    set_state(guest_state::in_shutdown);
    if (auto pressed = co_await qmp_->execute(qmp::system_powerdown(), timeouts_.quick); pressed) {
      if (co_await wait_for_exit(timeout)) co_return result<void>{};
      log_info("no power-off after " + std::to_string(timeout.count()) + " s: quitting QEMU");
    }
  }
  if (qmp_ && qmp_->is_open()) {
    (void)co_await qmp_->execute(qmp::quit(), timeouts_.quick);
    if (co_await wait_for_exit(10s)) co_return result<void>{};
  }
  if (process_) (void)process_->send_signal(SIGKILL);
  if (co_await wait_for_exit(10s)) co_return result<void>{};
  co_return make_error(errc::timeout, "QEMU of guest '" + name() + "' did not exit after SIGKILL");
}

awaitable<result<void>> guest::shutdown(std::chrono::seconds timeout, std::chrono::milliseconds wait) {
  backoff_.cancel();
  auto job = co_await job_.begin("shutdown", wait);
  if (!job) co_return job.error();
  backoff_.cancel();  // a crash while waiting may have scheduled a restart
  if (!process_) {
    set_state(guest_state::shut_off);
    co_return result<void>{};
  }
  restart_after_exit_ = false;
  co_return co_await stop_qemu(true, timeout);
}

awaitable<result<void>> guest::destroy() {
  backoff_.cancel();
  if (job_.busy() && process_) {
    // Whatever holds the job waits on this QEMU: killed, it ends at once
    // (and a start in progress fails), then destroy takes the job.
    log_info("destroy: killing QEMU while " + job_.current() + " is in progress");
    stopping_ = true;
    restart_after_exit_ = false;
    (void)process_->send_signal(SIGKILL);
  }
  auto job = co_await job_.begin("destroy");
  if (!job) co_return job.error();
  backoff_.cancel();
  if (!process_) co_return not_running();
  restart_after_exit_ = false;
  co_return co_await stop_qemu(false, 0s);
}

awaitable<result<void>> guest::restart(std::chrono::seconds timeout) {
  auto job = co_await job_.begin("restart");
  if (!job) co_return job.error();
  if (process_) {
    restart_after_exit_ = false;
    if (auto stopped = co_await stop_qemu(true, timeout); !stopped) co_return stopped.error();
  }
  quick_failures_ = 0;
  co_return co_await start_held();
}

}  // namespace vnumad::reactor
