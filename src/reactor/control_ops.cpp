// The control-socket verbs (docs/control-protocol.md), one handler each; the
// table that names them, their access and their arguments is verbs.cpp. Live
// vCPU and memory operations are in live_ops.cpp.
#include "reactor/control_ops.hpp"

#include "config/domain_redact.hpp"
#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "reactor/events.hpp"
#include "reactor/live_ops.hpp"
#include "reactor/numastat.hpp"
#include "vnuma/capabilities_report.hpp"

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;
using namespace std::chrono_literals;

awaitable<result<json::value>> daemon::handle(const control_request& request, const control_peer& peer) {
  const verb* v = find_verb(request.op);
  if (!v) co_return make_error(errc::invalid_value, "unknown op \"" + request.op + "\" (valid: " + verb_names() + ")");
  if (v->access == access_level::read_write && peer.access == access_level::read_only)
    co_return make_error(errc::permission_denied, "\"" + request.op + "\" needs the read-write socket");
  if (!v->handler)
    co_return make_error(errc::invalid_value, "\"" + request.op + "\" is a stream verb: it is not served on this path");
  if (auto checked = check_verb_args(request); !checked) co_return checked.error();
  // Named, not a temporary in the co_await: g++ 12 destroys such a
  // temporary twice (its std::function: a double free).
  const verb_call call{request, peer.access, peer.subscribe};
  control_ops ops(*this);
  auto reply = co_await (ops.*(v->handler))(call);
  co_return reply;
}

awaitable<result<byte_stream>> daemon::open_stream(const control_request& request, const control_peer& peer) {
  const verb* v = find_verb(request.op);
  if (!v || !v->opens_stream)
    co_return make_error(errc::invalid_value, "\"" + request.op + "\" is not a stream verb");
  if (v->access == access_level::read_write && peer.access == access_level::read_only)
    co_return make_error(errc::permission_denied, "\"" + request.op + "\" needs the read-write socket");
  if (auto checked = check_verb_args(request); !checked) co_return checked.error();
  const verb_call call{request, peer.access, peer.subscribe};
  control_ops ops(*this);
  auto opened = co_await (ops.*(v->opens_stream))(call);
  co_return opened;
}

result<std::shared_ptr<guest>> control_ops::named(const verb_call& call) const {
  const std::string name = call.text("name");
  auto it = d_.guests_.find(name);
  if (it == d_.guests_.end())
    return make_error(errc::not_found, "no guest named '" + name + "' (see vnumactl list)");
  return it->second;
}

result<json::value> control_ops::info_after(const guest& g, const result<void>& done) {
  if (!done) return done.error();
  return json::value(g.info());
}

std::chrono::seconds control_ops::shutdown_timeout(const verb_call& call) const {
  if (auto t = call.number("timeout")) return std::chrono::seconds(*t);
  return d_.options_.cfg.shutdown_timeout;
}

awaitable<result<json::value>> control_ops::list(const verb_call&) {
  json::array guests;
  for (const auto& [name, g] : d_.guests_) {
    json::object o{{"name", name}, {"state", std::string(to_string(g->state()))}};
    if (auto pid = g->pid()) o["pid"] = *pid;
    guests.push_back(std::move(o));
  }
  co_return json::value(std::move(guests));
}

awaitable<result<json::value>> control_ops::capabilities(const verb_call&) {
  co_return vnuma::capabilities_json(d_.host_, d_.context_->reserved_cpus);
}

awaitable<result<json::value>> control_ops::events(const verb_call& call) {
  std::optional<std::string> only;
  if (call.request.args.contains("name")) only = call.text("name");
  call.subscribe(only);
  json::object reply{{"subscribed", true}};
  if (only) {
    reply["guest"] = *only;
    // A guest may be defined later (a file dropped into the config dir):
    // its events will come; the reply says it is not known yet.
    reply["defined"] = d_.guests_.contains(*only);
  }
  co_return json::value(std::move(reply));
}

awaitable<result<json::value>> control_ops::host_shutdown(const verb_call&) { co_return co_await d_.host_shutdown(); }

awaitable<result<json::value>> control_ops::reload(const verb_call&) {
  co_await d_.rescan();
  co_return json::value(json::object{{"guests", d_.guests_.size()}});
}

awaitable<result<json::value>> control_ops::dominfo(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  json::object info = (*g)->info();
  if (auto placement = co_await memory_placement(**g)) info["memory_placement"] = std::move(*placement);
  co_return json::value(std::move(info));
}

awaitable<result<json::value>> control_ops::numastat(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  co_return co_await reactor::numastat(**g);
}

awaitable<result<json::value>> control_ops::domxml(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  const config::domain& d = (*g)->is_active() ? (*g)->running_domain() : (*g)->definition();
  // Any local user may ask the read-only socket: no passwords, no free text.
  if (call.access == access_level::read_only) co_return json::value(config::write_domain_xml(config::redacted(d)));
  co_return json::value(config::write_domain_xml(d));
}

awaitable<result<json::value>> control_ops::vcpuinfo(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  co_return vcpu_info(**g);
}

awaitable<result<json::value>> control_ops::start(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  const std::string& name = (*g)->name();
  if (d_.host_shutting_down_)
    co_return make_error(errc::busy, "guest '" + name + "' is not started: the host is shutting down (host-shutdown)");
  d_.starts_->cancel(name);  // queued from the config dir: started now instead
  auto done = co_await (*g)->start();
  if (done) d_.publish(guest_event("started", name, "start request"));
  co_return info_after(**g, done);
}

// No `c ? co_await a : co_await b` in these handlers: g++ 12 destroys the
// result of such a conditional twice (a double free on the error path).
awaitable<result<json::value>> control_ops::shutdown(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->shutdown(shutdown_timeout(call));
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::restart(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->restart(shutdown_timeout(call));
  if (done) d_.publish(guest_event("restarted", (*g)->name(), "restart request"));
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::destroy(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->destroy();
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::suspend(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->suspend();
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::resume(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->resume();
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::reboot(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto done = co_await (*g)->reboot();
  co_return info_after(**g, done);
}

awaitable<result<json::value>> control_ops::vcpupin(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto cpus = config::parse_id_set(call.text("cpuset"), "vcpupin cpuset");
  if (!cpus) co_return cpus.error();
  auto job = co_await (*g)->begin_job("vcpupin");
  if (!job) co_return job.error();
  co_return co_await (*g)->pin_vcpu(*job, static_cast<unsigned>(*call.number("vcpu")), *cpus);
}

// timeout_ms of an unplug, else vnumad.conf's (qmp_command_timeout).
static std::chrono::milliseconds unplug_timeout(const verb_call& call, const guest& g) {
  if (auto ms = call.number("timeout_ms")) return std::chrono::milliseconds(*ms);
  return g.timeouts().unplug;
}

awaitable<result<json::value>> control_ops::setvcpus(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  guest& target = **g;
  auto job = co_await target.begin_job("setvcpus");
  if (!job) co_return job.error();
  auto done = co_await target.set_vcpus(*job, static_cast<unsigned>(*call.number("count")), unplug_timeout(call, target));
  publish_hotplug(target.context().publish, "setvcpus", target.name(), done, "setvcpus request");
  co_return done;
}

awaitable<result<json::value>> control_ops::attach_memory(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto bytes = config::parse_size_with_unit(call.text("size"), "--size");
  if (!bytes) co_return bytes.error();
  auto job = co_await (*g)->begin_job("attach-memory");
  if (!job) co_return job.error();
  auto done = co_await (*g)->attach_memory(*job, static_cast<unsigned>(*call.number("cell")), *bytes);
  publish_hotplug((*g)->context().publish, "attach-memory", (*g)->name(), done, "attach-memory request");
  co_return done;
}

awaitable<result<json::value>> control_ops::detach_memory(const verb_call& call) {
  auto g = named(call);
  if (!g) co_return g.error();
  auto job = co_await (*g)->begin_job("detach-memory");
  if (!job) co_return job.error();
  auto done = co_await (*g)->detach_memory(*job, call.text("dimm"), unplug_timeout(call, **g));
  publish_hotplug((*g)->context().publish, "detach-memory", (*g)->name(), done, "detach-memory request");
  co_return done;
}

}  // namespace vnumad::reactor
