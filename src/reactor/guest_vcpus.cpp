// setvcpus and vcpupin on a running guest: planned by live_plan.hpp (NUMA-
// balanced, vnuma-spec section 5), executed here through QMP and the
// guest's cgroups. vCPU removals complete in the one removal path
// (guest_removal.cpp).
#include "reactor/guest.hpp"

#include "qemu/vcpu_slots.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/live_plan.hpp"
#include "reactor/qemu_responsive.hpp"

#include <boost/json.hpp>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;

awaitable<result<json::value>> guest::set_vcpus(const job_lease&, unsigned target,
                                                std::chrono::milliseconds unplug_timeout) {
  if (!process_ || !qmp_) co_return not_running();
  if (auto answering = co_await check_responding(*this, "setvcpus"); !answering) co_return answering.error();
  if (!process_ || !qmp_) co_return not_running();
  auto plan = plan_set_vcpus(name(), running_, placement(), target);
  if (!plan) co_return plan.error();
  const same_run run{*this};
  json::array added, removed, refused;

  if (!plan->add.empty()) {
    auto reply = co_await qmp_->execute(qmp::query_hotpluggable_cpus(), timeouts_.command);
    if (run.lost()) co_return run.died("setvcpus");
    if (!reply) co_return reply.error();
    auto slots = qmp::decode_hotpluggable_cpus(*reply);
    if (!slots) co_return slots.error();
    auto topo = qemu::vcpu_topology_of(running_);
    if (!topo) co_return topo.error();
    // Pause while plugging so that no new vCPU thread runs guest code before
    // it is pinned.
    const bool was_running = state_ == guest_state::running;
    if (was_running)
      if (auto stopped = co_await qmp_->execute(qmp::stop(), timeouts_.quick); !stopped) co_return stopped.error();
    if (run.lost()) co_return run.died("setvcpus");
    std::optional<error> failure;
    config::id_set online = online_vcpus(running_);
    for (unsigned v : plan->add) {
      const qmp::hotpluggable_cpu* slot = qemu::free_slot_for(*slots, *topo, v);
      if (!slot) {
        failure = make_error(errc::no_free_slot, "guest '" + name() + "': QEMU has no free slot for vCPU " +
                                                        std::to_string(v));
        break;
      }
      auto plugged = co_await qmp_->execute(qmp::device_add_cpu(slot->type, vcpu_device_id(v), slot->props),
                                            timeouts_.command);
      if (run.lost()) co_return run.died("setvcpus (device_add of vCPU " + std::to_string(v) + ")");
      if (!plugged) {
        failure = plugged.error();
        break;
      }
      online.insert(v);
      added.push_back(v);
    }
    mark_online(running_, online);
    if (auto refreshed = co_await refresh_vcpu_threads(); !refreshed && !failure) failure = refreshed.error();
    if (run.lost()) co_return run.died("setvcpus");
    // The one pin computation (apply_pins) for every known thread, the new ones included.
    if (auto pinned = apply_pins(); !pinned && !failure) failure = pinned.error();
    if (was_running && qmp_)
      if (auto resumed = co_await qmp_->execute(qmp::cont(), timeouts_.quick); !resumed && !failure)
        failure = resumed.error();
    if (run.lost()) co_return run.died("setvcpus");
    if (auto saved = save_record_after("setvcpus"); !saved) co_return saved.error();
    if (failure) co_return *failure;
  }

  if (!plan->remove.empty()) {
    std::set<std::string> asked;
    for (unsigned v : plan->remove) {
      const std::string id = vcpu_device_id(v);
      removals_.expect(id);
      auto deleting = co_await qmp_->execute(qmp::device_del(id), timeouts_.command);
      if (run.lost()) co_return run.died("setvcpus (device_del of vCPU " + std::to_string(v) + ")");
      if (!deleting && deleting.error().code == errc::timeout)
        co_return explain_unanswered(*this, "setvcpus (device_del of vCPU " + std::to_string(v) + ")", deleting.error());
      if (!deleting) {
        refused.push_back(json::object{{"vcpu", v}, {"reason", deleting.error().message}});
        continue;
      }
      asked.insert(id);
    }
    // The one removal path marks each deleted vCPU offline as its event comes.
    auto deleted = co_await removals_.wait(asked, unplug_timeout);
    if (run.lost()) co_return run.died("setvcpus");
    // A QEMU that stopped answering meanwhile never refused: the unplug it
    // was asked for may still happen (the removal path then updates the domain).
    if (deleted.size() < asked.size())
      if (auto answering = co_await check_responding(*this, "setvcpus"); !answering)
        co_return not_responding(*this, "setvcpus (device_del)", true,
                                 std::to_string(asked.size() - deleted.size()) + " vCPU unplug(s) unanswered");
    if (run.lost()) co_return run.died("setvcpus");
    for (unsigned v : plan->remove) {
      const std::string id = vcpu_device_id(v);
      if (deleted.contains(id))
        removed.push_back(v);
      else if (asked.contains(id))
        refused.push_back(json::object{
            {"vcpu", v},
            {"reason", "the guest did not release it within " + std::to_string(unplug_timeout.count()) + " ms"}});
    }
    (void)co_await refresh_vcpu_threads();  // best effort: the removal path already dropped the threads
    if (run.lost()) co_return run.died("setvcpus");
    if (auto saved = save_record_after("setvcpus"); !saved) co_return saved.error();
  }
  const config::id_set online = online_vcpus(running_);
  if (!refused.empty()) {
    std::string list;
    for (const auto& r : refused) list += (list.empty() ? "" : ", ") + json::serialize(r.at("vcpu"));
    co_return make_error(errc::unplug_refused, "guest '" + name() + "' refused to unplug vCPU(s) " + list +
                                                          "; online now: " + config::format_id_set(online));
  }
  co_return json::value(json::object{{"online", config::format_id_set(online)},
                                     {"count", online.size()},
                                     {"added", std::move(added)},
                                     {"removed", std::move(removed)},
                                     {"refused", std::move(refused)}});
}

awaitable<result<json::value>> guest::pin_vcpu(const job_lease&, unsigned vcpu, const config::id_set& cpus) {
  if (!process_) co_return not_running();
  const vnuma::placement* p = placement();
  if (!p) co_return make_error(errc::not_found, "guest '" + name() + "' is not in the ledger");
  std::map<unsigned, std::string> others = ctx_.ledger.dedicated_holders();
  std::erase_if(others, [&](const auto& held) { return held.second == name(); });
  auto plan = plan_vcpupin(name(), running_, *p, ctx_.host.all_cpus(), others, vcpu, cpus);
  if (!plan) co_return plan.error();
  if (auto set = ctx_.ledger.set_vcpu_pins(name(), plan->vcpus, plan->dedicated); !set) co_return set.error();
  if (plan->dedicated_moved) announce_dedicated_change(true);
  if (!running_.cputune) running_.cputune.emplace();
  auto& pins = running_.cputune->vcpupins;
  auto it = std::find_if(pins.begin(), pins.end(), [&](const config::vcpupin& pin) { return pin.vcpu == vcpu; });
  if (it == pins.end()) pins.push_back({vcpu, cpus});
  else it->cpuset = cpus;
  if (auto pinned = apply_pins(); !pinned) co_return pinned.error();
  if (auto saved = save_record_after("vcpupin"); !saved) co_return saved.error();
  co_return json::value(json::object{{"vcpu", vcpu}, {"cpuset", config::format_id_set(cpus)}});
}

}  // namespace vnumad::reactor
