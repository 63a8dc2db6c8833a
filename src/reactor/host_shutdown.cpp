// `vnumactl host-shutdown`, the ExecStop= of vnumad-guests.service: the host
// powers off or reboots, and every guest gets what on_host_shutdown says
// before systemd's final kill would end its QEMU abruptly. shutdown: the
// ACPI power button to all guests at once, then QEMU is ended for those still
// up after host_shutdown_timeout; destroy: QEMU ended at once; leave:
// nothing. Progress (which guests are still up, seconds left) goes to the log,
// which is the journal under systemd.
#include "reactor/daemon.hpp"

#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <iomanip>
#include <sstream>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

double seconds_since(clock_type::time_point t0) {
  return std::chrono::duration<double>(clock_type::now() - t0).count();
}

awaitable<void> pause_for(asio::io_context& io, std::chrono::milliseconds how_long) {
  asio::steady_timer t(io, how_long);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// One guest's part. A guest still in its start pipeline (or another
// operation) is waited for until the deadline (shutdown) or not at all
// (destroy); one still starting then is SIGKILLed: it is paused at -S and has
// run no guest code.
awaitable<json::object> stop_for_host(asio::io_context& io, std::shared_ptr<guest> g, config::host_shutdown_action action,
                                      clock_type::time_point t0, clock_type::time_point deadline) {
  json::object out{{"name", g->name()}};
  if (action == config::host_shutdown_action::shutdown)
    while (g->busy() && clock_type::now() < deadline) co_await pause_for(io, 200ms);
  if (g->busy()) {
    if (auto pid = g->pid()) {
      log_guest(log_level::warning, g->name(), "host shutdown: still starting: killing QEMU pid " + std::to_string(*pid));
      ::kill(*pid, SIGKILL);  // our QEMU, not yet reaped: the pid cannot have been reused
    }
    for (int i = 0; i < 100 && g->is_active(); ++i) co_await pause_for(io, 100ms);
    out["outcome"] = "killed while starting";
  } else if (!g->is_active()) {
    (void)co_await g->shutdown(0s);  // cancels a pending restart (on_crash backoff)
    out["outcome"] = "not running";
    co_return out;
  } else if (action == config::host_shutdown_action::destroy) {
    auto done = co_await g->destroy();
    out["outcome"] = done ? "destroyed" : "destroy failed: " + done.error().message;
  } else {
    // A paused guest would never see the button.
    if (g->state() == guest_state::paused) {
      log_guest(log_level::info, g->name(), "host shutdown: resuming the paused guest so that it can power off");
      (void)co_await g->resume();
    }
    // Rounded up: the guest gets the whole timeout, not a second less.
    auto left = std::chrono::ceil<std::chrono::seconds>(deadline - clock_type::now());
    auto done = co_await g->shutdown(std::max(left, 0s));
    if (!done)
      out["outcome"] = "failed: " + done.error().message;
    else
      out["outcome"] = g->powered_off_by_itself() ? "powered off" : "ended after the timeout";
  }
  out["seconds"] = seconds_since(t0);
  log_guest(log_level::info, g->name(), "host shutdown: " + std::string(out["outcome"].as_string()));
  co_return out;
}

std::string names_of(const std::vector<std::shared_ptr<guest>>& guests) {
  std::string s;
  for (const auto& g : guests) s += (s.empty() ? "" : ", ") + g->name();
  return s;
}

}  // namespace

awaitable<json::value> daemon::host_shutdown() {
  const auto action = options_.cfg.on_host_shutdown;
  const auto timeout = options_.cfg.host_shutdown_timeout;
  const auto t0 = clock_type::now();
  const auto deadline = t0 + timeout;
  // Nothing starts any more: queued starts are dropped, `start` is refused.
  host_shutting_down_ = true;
  if (starts_) starts_->cancel_all();

  std::vector<std::shared_ptr<guest>> up, all;
  for (const auto& [name, g] : guests_) {
    all.push_back(g);
    if (g->is_active() || g->busy()) up.push_back(g);
  }
  json::object reply{{"action", std::string(config::to_string(action))}, {"timeout", timeout.count()}};
  json::array results;
  if (action == config::host_shutdown_action::leave) {
    log(log_level::info, "host shutdown: on_host_shutdown = leave: " + std::to_string(up.size()) +
                             " guest(s) left running" + (up.empty() ? "" : " (" + names_of(up) + ")"));
    for (const auto& g : up) results.push_back(json::object{{"name", g->name()}, {"outcome", "left running"}});
    reply["guests"] = std::move(results);
    reply["seconds"] = seconds_since(t0);
    host_shutting_down_ = false;
    co_return json::value(std::move(reply));
  }
  if (action == config::host_shutdown_action::shutdown)
    log(log_level::info, "host shutdown: ACPI power button to " + std::to_string(up.size()) + " guest(s)" +
                             (up.empty() ? "" : " (" + names_of(up) + ")") + "; QEMU is ended after " +
                             std::to_string(timeout.count()) + " s");
  else
    log(log_level::info, "host shutdown: on_host_shutdown = destroy: ending QEMU of " + std::to_string(up.size()) +
                             " guest(s)" + (up.empty() ? "" : " (" + names_of(up) + ")"));

  // Every guest at once; this coroutine reports progress until all are done.
  std::vector<json::object> outcomes(all.size());
  std::size_t remaining = all.size();
  asio::steady_timer tick(io_);
  for (std::size_t i = 0; i < all.size(); ++i)
    asio::co_spawn(io_, stop_for_host(io_, all[i], action, t0, deadline),
                   [&, i](std::exception_ptr ep, json::object out) {
                     if (ep) out = json::object{{"name", all[i]->name()}, {"outcome", "failed"}};
                     outcomes[i] = std::move(out);
                     if (--remaining == 0) tick.cancel();
                   });
  const auto interval = std::clamp<std::chrono::seconds>(timeout / 10, 1s, 10s);
  while (remaining > 0) {
    tick.expires_after(interval);
    co_await tick.async_wait(asio::as_tuple(asio::use_awaitable));
    if (remaining == 0) break;
    std::vector<std::shared_ptr<guest>> still;
    for (const auto& g : up)
      if (g->is_active()) still.push_back(g);
    if (still.empty()) continue;
    auto left = std::chrono::ceil<std::chrono::seconds>(deadline - clock_type::now()).count();
    log(log_level::info, "host shutdown: " + std::to_string(still.size()) + " guest(s) still up (" + names_of(still) +
                             "), " + (left > 0 ? std::to_string(left) + " s left" : "ending their QEMU"));
  }

  std::size_t by_themselves = 0, ended = 0;
  for (auto& o : outcomes) {
    const auto& outcome = o["outcome"].as_string();
    if (outcome == "not running") continue;
    if (outcome == "powered off") ++by_themselves;
    else ++ended;
    results.push_back(std::move(o));
  }
  std::ostringstream took;
  took << std::fixed << std::setprecision(1) << seconds_since(t0);
  log(log_level::info, "host shutdown: done in " + took.str() + " s: " + std::to_string(by_themselves) +
                           " guest(s) powered off by themselves, " + std::to_string(ended) + " ended by vnumad");
  reply["guests"] = std::move(results);
  reply["seconds"] = seconds_since(t0);
  host_shutting_down_ = false;
  co_return json::value(std::move(reply));
}

}  // namespace vnumad::reactor
