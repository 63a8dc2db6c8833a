// The guest state machine: QMP events and QEMU's exit drive it; <on_poweroff>,
// <on_reboot> and <on_crash> decide what happens (QEMU runs with -no-shutdown,
// so a guest power-off leaves QEMU alive and vnumad decides, as libvirt does).
#include "reactor/guest.hpp"

#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/events.hpp"
#include "reactor/logging.hpp"
#include "reactor/qemu_responsive.hpp"
#include "reactor/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <csignal>
#include <sstream>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace std::chrono_literals;

namespace {

// A run shorter than this counts as a quick failure for the restart backoff.
constexpr auto stable_run = 60s;
constexpr auto max_backoff = 60s;

std::string describe(const std::optional<int>& status) {
  return status ? qemu::describe_wait_status(*status) : std::string("exited (status unknown: not our child)");
}

}  // namespace

void guest::watch(std::uint64_t generation) {
  // One watcher per QEMU run: it waits for the pidfd and hands the exit to
  // on_exit. `generation` keeps a watcher of an older run from acting.
  spawn_logged(ctx_.io, "watching QEMU of guest '" + name() + "'",
               [self = shared_from_this(), generation]() -> awaitable<void> {
                 if (!self->process_) co_return;
                 auto status = co_await self->process_->wait_exit();
                 if (self->generation_ != generation) co_return;
                 if (!status && status.error().code == errc::cancelled) co_return;
                 self->on_exit(status ? *status : std::nullopt);
               });
}

void guest::on_qmp_event(const qmp::qmp_event& ev) {
  if (ctx_.publish) ctx_.publish(qmp_guest_event(name(), ev));
  if (ev.name == "STOP") {
    if (state_ == guest_state::running) set_state(guest_state::paused);
  } else if (ev.name == "RESUME") {
    set_state(guest_state::running);
  } else if (ev.name == "SHUTDOWN") {
    const json::value* reason = ev.data.if_contains("reason");
    std::string why = reason && reason->is_string() ? std::string(reason->as_string()) : "";
    if (stopping_) {
      // Our own power button worked: with -no-shutdown QEMU waits, so end it.
      if (why == "guest-shutdown") poweroff_seen_ = true;
      if (why == "guest-shutdown" && qmp_)
        spawn_logged(ctx_.io, "quit after the power-off of guest '" + name() + "'",
                     [self = shared_from_this()]() -> awaitable<void> {
                       if (self->qmp_) (void)co_await self->qmp_->execute(qmp::quit(), self->timeouts_.quick);
                     });
      return;
    }
    if (why == "guest-shutdown" || why == "guest-panic") {
      poweroff_seen_ = true;
      apply_policy(why == "guest-panic" ? definition_.on_crash : definition_.on_poweroff,
                   "the guest " + std::string(why == "guest-panic" ? "panicked" : "powered off"));
    }
  } else if (ev.name == "RESET") {
    const json::value* reason = ev.data.if_contains("reason");
    bool by_guest = reason && reason->is_string() && reason->as_string() == "guest-reset";
    if (!by_guest || stopping_) return;
    if (!pending_.empty() && definition_.on_reboot == config::lifecycle_action::restart) {
      log_info("guest rebooted: restarting QEMU to apply pending changes");
      apply_policy(config::lifecycle_action::restart, "reboot with pending changes");
    } else if (definition_.on_reboot != config::lifecycle_action::restart) {
      apply_policy(definition_.on_reboot, "the guest rebooted");
    }
  } else if (ev.name == "DEVICE_DELETED") {
    on_device_deleted(qmp::deleted_device_id(ev.data));
  } else if (ev.name == "GUEST_PANICKED") {
    if (!stopping_) apply_policy(definition_.on_crash, "the guest panicked");
  }
}

void guest::apply_policy(config::lifecycle_action action, std::string_view why) {
  log_info(std::string(why) + ": <" + std::string(to_string(action)) + "> applies");
  switch (action) {
    case config::lifecycle_action::preserve:
      // Keep QEMU as it is (paused after a power-off with -no-shutdown).
      set_state(poweroff_seen_ ? guest_state::shut_off : guest_state::crashed, why);
      return;
    case config::lifecycle_action::restart:
    case config::lifecycle_action::rename_restart:
    case config::lifecycle_action::coredump_restart:
      restart_after_exit_ = true;
      break;
    default:
      break;
  }
  // An operation in progress finishes first; a second policy for the same
  // run (a RESET then a SHUTDOWN) finds QEMU gone and does nothing.
  spawn_logged(ctx_.io, "<on_*> policy of guest '" + name() + "'",
               [self = shared_from_this(), generation = generation_, why = std::string(why)]() -> awaitable<void> {
                 const std::string operation = "lifecycle policy (" + why + ")";
                 auto job = co_await self->job_.begin(operation, guest_job::no_limit);
                 if (!job || self->generation_ != generation) co_return;
                 if (auto stopped = co_await self->stop_qemu(false, 0s); !stopped)
                   log_failure(self->name(), "", stopped.error());
               });
}

void guest::on_exit(std::optional<int> status) {
  bool expected = stopping_ || poweroff_seen_;
  bool restart = restart_after_exit_;
  auto lived = std::chrono::steady_clock::now() - run_started_;
  stop_run();
  exited_.cancel();  // wakes stop_qemu / wait_for_exit
  if (expected) {
    log_info("QEMU " + describe(status));
    set_state(guest_state::shut_off, restart ? "restarting" : "");
    if (restart) schedule_restart("restart after QEMU exited (<on_poweroff>/<on_reboot>)");
    return;
  }
  // QEMU died without being asked: a crash (kill -9, abort, OOM killer).
  log_error("QEMU " + describe(status) + " unexpectedly: <on_crash>" +
            std::string(to_string(definition_.on_crash)) + "</on_crash> applies");
  set_state(guest_state::crashed, describe(status));
  if (ctx_.publish) ctx_.publish(guest_event("crashed", name(), describe(status)));
  if (lived >= stable_run) quick_failures_ = 0;
  // destroy: resources released above; preserve: nothing left to keep.
  if (restarts_on_crash()) schedule_restart("restart after a crash (<on_crash>): " + describe(status));
}

bool guest::restarts_on_crash() const {
  switch (definition_.on_crash) {
    case config::lifecycle_action::restart:
    case config::lifecycle_action::rename_restart:
    case config::lifecycle_action::coredump_restart:
      return true;
    default:
      return false;
  }
}

void guest::schedule_restart(std::string reason) {
  // Exponential backoff for guests that die young, so a guest that crashes at
  // boot cannot make the daemon spin: 0 s, 1 s, 2 s, 4 s ... capped.
  std::chrono::seconds delay{0};
  if (quick_failures_ > 0) delay = std::min<std::chrono::seconds>(max_backoff, std::chrono::seconds(1L << std::min(quick_failures_ - 1, 6u)));
  ++quick_failures_;
  if (delay > 0s) log_info("restarting in " + std::to_string(delay.count()) + " s");
  backoff_.expires_after(delay);
  backoff_.async_wait([weak = weak_from_this(), reason = std::move(reason)](const boost::system::error_code& ec) {
    auto self = weak.lock();
    if (ec || !self || self->process_) return;
    spawn_logged(self->ctx_.io, "restart of guest '" + self->name() + "'", [self, reason]() -> awaitable<void> {
      if (co_await self->start() && self->ctx_.publish) self->ctx_.publish(guest_event("restarted", self->name(), reason));
    });
  });
}

// Each asks QEMU first (qemu_responsive.hpp): a stopped QEMU gets nothing
// it could act on later, and a command that then goes unanswered is reported
// as one that may still take effect.
awaitable<result<void>> guest::reboot() {
  if (!qmp_) co_return not_running();
  auto job = co_await job_.begin("reboot");
  if (!job) co_return job.error();
  if (auto answering = co_await check_responding(*this, "reboot"); !answering) co_return answering.error();
  if (!qmp_) co_return not_running();
  auto reset = co_await qmp_->execute(qmp::system_reset(), timeouts_.quick);
  if (!reset) co_return explain_unanswered(*this, "reboot (system_reset)", reset.error());
  co_return result<void>{};
}

awaitable<result<void>> guest::suspend() {
  if (!qmp_) co_return not_running();
  auto job = co_await job_.begin("suspend");
  if (!job) co_return job.error();
  if (auto answering = co_await check_responding(*this, "suspend"); !answering) co_return answering.error();
  if (!qmp_) co_return not_running();
  auto stopped = co_await qmp_->execute(qmp::stop(), timeouts_.quick);
  // A late STOP event still marks the guest paused (on_qmp_event).
  if (!stopped) co_return explain_unanswered(*this, "suspend (stop)", stopped.error());
  set_state(guest_state::paused);
  co_return result<void>{};
}

awaitable<result<void>> guest::resume() {
  if (!qmp_) co_return not_running();
  auto job = co_await job_.begin("resume");
  if (!job) co_return job.error();
  if (auto answering = co_await check_responding(*this, "resume"); !answering) co_return answering.error();
  if (!qmp_) co_return not_running();
  auto resumed = co_await qmp_->execute(qmp::cont(), timeouts_.quick);
  if (!resumed) co_return explain_unanswered(*this, "resume (cont)", resumed.error());
  set_state(guest_state::running);
  co_return result<void>{};
}

void guest::detach() {
  detached_ = true;
  ++generation_;  // watchers and event callbacks of this run stop acting
  backoff_.cancel();
  if (qmp_) qmp_->close();
  qmp_.reset();
  process_.reset();
  cgroup_.reset();
}

namespace {

// The top-level elements whose text differs between two domains.
std::vector<std::string> changed_elements(const config::domain& a, const config::domain& b) {
  auto children = [](const config::domain& d) {
    std::map<std::string, std::string> out;
    boost::property_tree::ptree doc;
    std::istringstream in(config::write_domain_xml(d));
    boost::property_tree::read_xml(in, doc, boost::property_tree::xml_parser::trim_whitespace);
    for (const auto& [tag, node] : doc.get_child("domain")) {
      std::ostringstream text;
      boost::property_tree::write_xml(text, node);
      out[tag] += text.str();
    }
    return out;
  };
  auto left = children(a);
  auto right = children(b);
  std::vector<std::string> changed;
  for (const auto& [tag, text] : left)
    if (!right.contains(tag) || right[tag] != text) changed.push_back(tag);
  for (const auto& [tag, text] : right)
    if (!left.contains(tag)) changed.push_back(tag);
  return changed;
}

}  // namespace

std::vector<std::string> guest::set_definition(config::domain d, bool track_pending) {
  std::vector<std::string> changed = changed_elements(definition_, d);
  definition_ = std::move(d);
  if (!track_pending) return {};
  if (!process_) {
    pending_.clear();
    return {};
  }
  for (const auto& tag : changed)
    if (std::find(pending_.begin(), pending_.end(), tag) == pending_.end()) pending_.push_back(tag);
  return changed;
}

json::object guest::info() const {
  json::object o;
  o["name"] = name();
  o["state"] = std::string(to_string(state_));
  o["config_file"] = config_file_.string();
  if (process_) o["pid"] = process_->pid();
  const config::domain& d = process_ ? running_ : definition_;
  if (d.uuid) o["uuid"] = *d.uuid;
  o["vcpus_max"] = d.vcpu.max;
  o["vcpus_online"] = process_ ? vcpu_threads_.size() : 0;
  o["memory_bytes"] = d.total_memory_bytes();
  json::array cells;
  if (const vnuma::placement* p = placement(); p && process_) {
    for (const auto& c : p->cells)
      cells.push_back(json::object{{"cell", c.cell},
                                   {"host_node", c.host_node},
                                   {"vcpus", config::format_id_set(c.vcpus)},
                                   {"memory_bytes", c.memory_bytes}});
    std::uint64_t total = 0;
    for (const auto& [node, bytes] : p->memory_per_node) total += bytes;
    o["memory_bytes"] = total;
  }
  o["cells"] = std::move(cells);
  json::array pending;
  for (const auto& p : pending_) pending.push_back(json::value(p));
  o["pending_changes"] = std::move(pending);
  o["on_poweroff"] = std::string(to_string(definition_.on_poweroff));
  o["on_reboot"] = std::string(to_string(definition_.on_reboot));
  o["on_crash"] = std::string(to_string(definition_.on_crash));
  return o;
}

}  // namespace vnumad::reactor
