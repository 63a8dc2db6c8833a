#include "reactor/live_edit.hpp"

#include "config/units.hpp"
#include "reactor/events.hpp"

#include <boost/json/serialize.hpp>

namespace vnumad::reactor {

using boost::asio::awaitable;

namespace {

bool same_dimm(const config::memory_device_def& a, const config::memory_device_def& b) {
  return a.model == b.model && a.target_size_bytes == b.target_size_bytes && a.target_node == b.target_node;
}

std::vector<config::memory_device_def> dimms(const config::domain& d) {
  std::vector<config::memory_device_def> out;
  for (const auto& m : d.devices.memory_devices)
    if (m.model == "dimm") out.push_back(m);
  return out;
}

// `from` minus `to`, as multisets of (size, node).
std::vector<config::memory_device_def> minus(std::vector<config::memory_device_def> from,
                                             std::vector<config::memory_device_def> to) {
  std::vector<config::memory_device_def> out;
  for (const auto& m : from) {
    auto it = std::find_if(to.begin(), to.end(), [&](const auto& x) { return same_dimm(m, x); });
    if (it != to.end()) to.erase(it);
    else out.push_back(m);
  }
  return out;
}

}  // namespace

awaitable<live_edit_result> apply_definition(guest& g, config::domain next) {
  live_edit_result r;
  // After a start in progress, and after any edit before this one: the
  // definition compared with is the one they left.
  auto job = co_await g.begin_job("config edit", guest_job::no_limit);
  if (!job) {
    r.failed.push_back(job.error().message);
    co_return r;
  }
  config::domain old = g.definition();
  if (!g.is_active()) {
    g.set_definition(std::move(next));
    co_return r;
  }
  // What would be left to differ if every live-applicable field were taken
  // from the new definition: that is the pending part.
  config::domain patched = old;
  patched.vcpu.current = next.vcpu.current;
  patched.devices.memory_devices = next.devices.memory_devices;
  bool pins_live = !old.vnuma && !next.vnuma && old.cputune && next.cputune;
  if (pins_live) patched.cputune->vcpupins = next.cputune->vcpupins;
  patched.xml = old.xml;

  // 1. vCPU count
  if (old.current_vcpus() != next.current_vcpus() && old.vcpu.max == next.vcpu.max) {
    auto done = co_await g.set_vcpus(*job, next.current_vcpus(), g.timeouts().unplug);
    publish_hotplug(g.context().publish, "setvcpus", g.name(), done, "config edit");
    if (done) r.applied.push_back("<vcpu current='" + std::to_string(next.current_vcpus()) + "'>: online " +
                                  std::string(done->at("online").as_string()));
    else r.failed.push_back("<vcpu current>: " + done.error().message);
  }
  // 2. memory dimms: added ones are attached, removed ones detached
  for (const auto& m : minus(dimms(next), dimms(old))) {
    auto done = co_await g.attach_memory(*job, m.target_node.value_or(0), m.target_size_bytes);
    publish_hotplug(g.context().publish, "attach-memory", g.name(), done, "config edit");
    if (done) r.applied.push_back("attached " + config::format_size(m.target_size_bytes) + " dimm on cell " +
                                  std::to_string(m.target_node.value_or(0)));
    else r.failed.push_back("<memory model='dimm'>: " + done.error().message);
  }
  for (const auto& m : minus(dimms(old), dimms(next))) {
    // The running dimm with the same size and cell.
    std::optional<std::string> id;
    for (const auto& running : g.running_domain().devices.memory_devices)
      if (same_dimm(running, m) && running.alias) id = running.alias;
    if (!id) {
      r.failed.push_back("<memory model='dimm'>: no running dimm of " + config::format_size(m.target_size_bytes));
      continue;
    }
    auto done = co_await g.detach_memory(*job, *id, g.timeouts().unplug);
    publish_hotplug(g.context().publish, "detach-memory", g.name(), done, "config edit");
    if (done) r.applied.push_back("detached " + *id);
    else r.failed.push_back("<memory model='dimm'>: " + done.error().message);
  }
  // 3. pins of hand-written (non-vNUMA) guests
  if (pins_live) {
    for (const auto& pin : next.cputune->vcpupins) {
      auto before = std::find_if(old.cputune->vcpupins.begin(), old.cputune->vcpupins.end(),
                                 [&](const auto& p) { return p.vcpu == pin.vcpu; });
      if (before != old.cputune->vcpupins.end() && before->cpuset == pin.cpuset) continue;
      auto done = co_await g.pin_vcpu(*job, pin.vcpu, pin.cpuset);
      if (done) r.applied.push_back("vcpupin " + std::to_string(pin.vcpu) + " -> " + config::format_id_set(pin.cpuset));
      else r.failed.push_back("<vcpupin vcpu='" + std::to_string(pin.vcpu) + "'>: " + done.error().message);
    }
  }
  // The remaining differences wait for a restart.
  g.set_definition(patched, false);
  r.pending = g.set_definition(std::move(next));
  co_return r;
}

}  // namespace vnumad::reactor
