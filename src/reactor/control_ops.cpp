// The control-socket verbs (docs/control-protocol.md). Each is a small
// function of the daemon; live vCPU and memory operations are in live_ops.cpp.
#include "config/domain_redact.hpp"
#include "config/domain_xml.hpp"
#include "reactor/control_args.hpp"
#include "reactor/daemon.hpp"
#include "reactor/live_ops.hpp"
#include "reactor/logging.hpp"
#include "reactor/numastat.hpp"
#include "vnuma/capabilities_report.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;

namespace {

error no_such_guest(std::string_view name) {
  return make_error(errc::not_found, "no guest named '" + std::string(name) + "' (see vnumactl list)");
}

}  // namespace

awaitable<result<json::value>> daemon::handle(const control_request& request, access_level access) {
  const std::string& op = request.op;
  if (auto checked = check_verb_args(request); !checked) co_return checked.error();
  if (op == "list") {
    json::array guests;
    for (const auto& [name, g] : guests_) {
      json::object o{{"name", name}, {"state", std::string(to_string(g->state()))}};
      if (auto pid = g->pid()) o["pid"] = *pid;
      guests.push_back(std::move(o));
    }
    co_return json::value(std::move(guests));
  }
  if (op == "capabilities") co_return vnuma::capabilities_json(host_, context_->reserved_cpus);
  if (op == "host-shutdown") co_return co_await host_shutdown();
  if (op == "reload") {
    co_await rescan();
    co_return json::value(json::object{{"guests", guests_.size()}});
  }

  // Every other verb names a guest.
  auto name = arg_string(request.args, "name");
  if (!name) co_return name.error();
  auto it = guests_.find(*name);
  if (it == guests_.end()) co_return no_such_guest(*name);
  std::shared_ptr<guest> g = it->second;  // keeps it alive across co_awaits

  if (op == "dominfo") {
    json::object info = g->info();
    if (auto placement = co_await memory_placement(*g)) info["memory_placement"] = std::move(*placement);
    co_return json::value(std::move(info));
  }
  if (op == "numastat") co_return co_await numastat(*g);
  if (op == "domxml") {
    const config::domain& d = g->is_active() ? g->running_domain() : g->definition();
    // Any local user may ask the read-only socket: no passwords, no free text.
    if (access == access_level::read_only) co_return json::value(config::write_domain_xml(config::redacted(d)));
    co_return json::value(config::write_domain_xml(d));
  }
  if (op == "start") {
    if (host_shutting_down_)
      co_return make_error(errc::busy, "guest '" + *name + "' is not started: the host is shutting down (host-shutdown)");
    starts_->cancel(*name);  // queued from the config dir: started now instead
    auto started = co_await g->start();
    if (!started) co_return started.error();
    co_return json::value(g->info());
  }
  if (op == "shutdown" || op == "restart") {
    std::chrono::seconds timeout = options_.cfg.shutdown_timeout;
    if (request.args.contains("timeout")) {
      auto t = arg_uint(request.args, "timeout", arg_max(arg_kind::seconds), "seconds");
      if (!t) co_return t.error();
      timeout = std::chrono::seconds(*t);
    }
    // Not `c ? co_await a : co_await b`: g++ 12 destroys the result of such
    // a conditional twice (a double free on the error path).
    result<void> done;
    if (op == "shutdown")
      done = co_await g->shutdown(timeout);
    else
      done = co_await g->restart(timeout);
    if (!done) co_return done.error();
    co_return json::value(g->info());
  }
  if (op == "destroy") {
    auto done = co_await g->destroy();
    if (!done) co_return done.error();
    co_return json::value(g->info());
  }
  if (op == "suspend" || op == "resume") {
    result<void> done;  // no conditional co_await: see shutdown above
    if (op == "suspend")
      done = co_await g->suspend();
    else
      done = co_await g->resume();
    if (!done) co_return done.error();
    co_return json::value(g->info());
  }
  if (op == "reboot") {
    auto done = co_await g->reboot();
    if (!done) co_return done.error();
    co_return json::value(g->info());
  }
  if (auto live = co_await handle_live_op(*g, request); live.handled) co_return std::move(live.reply);
  co_return make_error(errc::invalid_value,
                       "unknown op \"" + op +
                           "\" (valid: list, dominfo, domxml, vcpuinfo, numastat, vcpupin, setvcpus, attach-memory, "
                           "detach-memory, start, shutdown, destroy, suspend, resume, reboot, restart, reload, host-shutdown, "
                           "capabilities, events, console)");
}

}  // namespace vnumad::reactor
