#include "reactor/live_ops.hpp"

#include "cgroup/affinity.hpp"
#include "cgroup/proc.hpp"
#include "config/units.hpp"
#include "qemu/host_facts.hpp"
#include "qemu/memory_hotplug.hpp"
#include "qemu/vcpu_slots.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/logging.hpp"
#include "reactor/qemu_responsive.hpp"
#include "vnuma/hotplug_order.hpp"

#include <boost/json.hpp>

#include <sstream>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;
using namespace std::chrono_literals;

namespace {


// QEMU can die while a live operation waits on it; its resources are then
// released (the generation moves on) and the operation must stop touching it.
struct same_run {
  guest& g;
  std::uint64_t generation = g.run_generation();
  bool lost() const { return !g.is_active() || !g.qmp() || g.run_generation() != generation; }
  error died(const std::string& during) const {
    return make_error(errc::process_failed, "QEMU of guest '" + g.name() + "' died during " + during);
  }
};

error not_running(const guest& g) {
  return make_error(errc::not_found, "guest '" + g.name() + "' is not running (state: " +
                                         std::string(to_string(g.state())) + ")");
}

std::vector<config::id_set> cell_vcpus(const guest& g) {
  std::vector<config::id_set> cells;
  if (const vnuma::placement* p = g.placement())
    for (const auto& c : p->cells) cells.push_back(c.vcpus);
  if (cells.empty()) {
    config::id_set all;
    for (unsigned v = 0; v < g.running_domain().vcpu.max; ++v) all.insert(v);
    cells.push_back(all);
  }
  return cells;
}

// The vCPU's pin from the placement (the rule lives in vnuma::vcpu_pin).
std::pair<config::id_set, config::id_set> pin_of(guest& g, unsigned vcpu) {
  const vnuma::placement* p = g.placement();
  if (!p) return {g.context().host.all_cpus(), {}};
  auto pin = vnuma::vcpu_pin(*p, vcpu, g.context().host.all_cpus());
  return {pin.cpus, pin.mems};
}

void mark_online(config::domain& d, const config::id_set& online) {
  d.vcpu.current = static_cast<unsigned>(online.size());
  for (auto& v : d.vcpus) v.enabled = online.contains(v.id);
}

// Waits for DEVICE_DELETED of each id until the deadline; returns those seen.
awaitable<std::set<std::string>> wait_deleted(qmp::qmp_client& qmp, std::set<std::string> ids,
                                              std::chrono::milliseconds timeout) {
  std::set<std::string> deleted;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (deleted.size() < ids.size()) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left <= 0ms) break;
    auto ev = co_await qmp.next_event(left);
    if (!ev) break;
    if (ev->name != "DEVICE_DELETED") continue;
    std::string id = qmp::deleted_device_id(ev->data);
    if (ids.contains(id)) deleted.insert(id);
  }
  co_return deleted;
}

}  // namespace

config::id_set online_vcpus(const config::domain& d) {
  config::id_set online;
  if (!d.vcpus.empty()) {
    for (const auto& v : d.vcpus)
      if (v.enabled) online.insert(v.id);
    return online;
  }
  for (unsigned v = 0; v < d.current_vcpus(); ++v) online.insert(v);
  return online;
}

std::string affinity_map(const config::id_set& cpus, unsigned host_cpu_count) {
  std::string map;
  for (unsigned cpu = 0; cpu < host_cpu_count; ++cpu) map += cpus.contains(cpu) ? 'y' : '-';
  return map;
}

result<json::value> vcpu_info(guest& g) {
  if (!g.is_active()) return not_running(g);
  const vnuma::placement* p = g.placement();
  unsigned host_cpus = g.context().host.all_cpus().empty() ? 1 : *g.context().host.all_cpus().rbegin() + 1;
  json::array vcpus;
  config::id_set online = online_vcpus(g.running_domain());
  for (unsigned v = 0; v < g.running_domain().vcpu.max; ++v) {
    json::object o{{"vcpu", v}, {"online", online.contains(v)}};
    if (p && v < p->vcpus.size()) o["cell"] = p->vcpus[v].cell;
    if (auto t = g.vcpu_threads().find(v); t != g.vcpu_threads().end()) {
      pid_t pid = g.pid().value_or(0);
      o["thread_id"] = t->second;
      if (auto affinity = cgroup::read_cpus_allowed_list(pid, t->second)) {
        o["affinity"] = config::format_id_set(*affinity);
        o["affinity_map"] = affinity_map(*affinity, host_cpus);
      }
      // Field 39 of /proc/PID/task/TID/stat: the CPU it last ran on.
      if (auto stat = cgroup::read_text_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(t->second) +
                                             "/stat")) {
        auto close = stat->rfind(')');
        std::istringstream fields(stat->substr(close + 2));
        std::string field;
        for (int i = 3; i <= 39 && fields >> field; ++i)
          if (i == 39) o["host_cpu"] = std::stoi(field);
      }
    }
    vcpus.push_back(std::move(o));
  }
  return json::value(json::object{{"name", g.name()}, {"host_cpus", host_cpus}, {"vcpus", std::move(vcpus)}});
}

awaitable<result<json::value>> set_vcpus(guest& g, unsigned target, std::chrono::milliseconds unplug_timeout) {
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  if (auto answering = co_await check_responding(g, "setvcpus"); !answering) co_return answering.error();
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  config::domain& d = g.running_domain_mutable();
  if (target < 1 || target > d.vcpu.max)
    co_return make_error(errc::invalid_value, "setvcpus " + std::to_string(target) + ": guest '" + g.name() +
                                                  "' has vCPUs 1.." + std::to_string(d.vcpu.max));
  config::id_set online = online_vcpus(d);
  auto plan = vnuma::plan_setvcpus(online, cell_vcpus(g), target);
  const same_run run{g};
  json::array added, removed, refused;

  if (!plan.add.empty()) {
    auto reply = co_await g.qmp()->execute(qmp::query_hotpluggable_cpus(), 10s);
    if (run.lost()) co_return run.died("setvcpus");
    if (!reply) co_return reply.error();
    auto slots = qmp::decode_hotpluggable_cpus(*reply);
    if (!slots) co_return slots.error();
    // Pause while plugging so that no new vCPU thread runs guest code before
    // it is pinned.
    bool was_running = g.state() == guest_state::running;
    if (was_running)
      if (auto stopped = co_await g.qmp()->execute(qmp::stop(), 10s); !stopped) co_return stopped.error();
    error failure{errc::qmp_error, ""};
    auto topo = qemu::vcpu_topology_of(d);
    if (!topo) co_return topo.error();
    for (unsigned v : plan.add) {
      const qmp::hotpluggable_cpu* slot = qemu::free_slot_for(*slots, *topo, v);
      if (!slot) {
        failure = make_error(errc::qmp_error, "QEMU has no free slot for vCPU " + std::to_string(v));
        break;
      }
      if (run.lost()) co_return run.died("setvcpus");
      auto plugged = co_await g.qmp()->execute(qmp::device_add_cpu(slot->type, "vcpu" + std::to_string(v), slot->props), 10s);
      if (run.lost()) co_return run.died("setvcpus (device_add of vCPU " + std::to_string(v) + ")");
      if (!plugged) {
        failure = plugged.error();
        break;
      }
      online.insert(v);
      added.push_back(v);
    }
    if (auto refreshed = co_await g.refresh_vcpu_threads(); !refreshed && failure.message.empty())
      failure = refreshed.error();
    if (run.lost()) co_return run.died("setvcpus");
    for (const auto& id : added) {
      unsigned v = id.to_number<unsigned>();
      auto [cpus, mems] = pin_of(g, v);
      auto t = g.vcpu_threads().find(v);
      if (t == g.vcpu_threads().end() || !g.cgroups()) continue;
      if (auto pinned = g.cgroups()->pin_vcpu(t->second, v, cpus, mems); !pinned && failure.message.empty())
        failure = pinned.error();
    }
    if (was_running && g.qmp())
      if (auto resumed = co_await g.qmp()->execute(qmp::cont(), 10s); !resumed && failure.message.empty())
        failure = resumed.error();
    if (run.lost()) co_return run.died("setvcpus");
    mark_online(d, online);
    (void)g.save_record();
    if (!failure.message.empty()) co_return failure;
  }

  if (!plan.remove.empty()) {
    std::set<std::string> asked;
    for (unsigned v : plan.remove) {
      auto deleting = co_await g.qmp()->execute(qmp::device_del("vcpu" + std::to_string(v)), 10s);
      if (run.lost()) co_return run.died("setvcpus (device_del of vCPU " + std::to_string(v) + ")");
      if (!deleting && deleting.error().code == errc::timeout)
        co_return explain_unanswered(g, "setvcpus (device_del of vCPU " + std::to_string(v) + ")", deleting.error());
      if (!deleting) {
        refused.push_back(json::object{{"vcpu", v}, {"reason", deleting.error().message}});
        continue;
      }
      asked.insert("vcpu" + std::to_string(v));
    }
    auto deleted = co_await wait_deleted(*g.qmp(), asked, unplug_timeout);
    if (run.lost()) co_return run.died("setvcpus");
    // A QEMU that stopped answering meanwhile never refused: the unplug it
    // was asked for may still happen (DEVICE_DELETED then updates the domain).
    if (deleted.size() < asked.size())
      if (auto answering = co_await check_responding(g, "setvcpus"); !answering)
        co_return not_responding(g, "setvcpus (device_del)", true,
                                 std::to_string(asked.size() - deleted.size()) + " vCPU unplug(s) unanswered");
    if (run.lost()) co_return run.died("setvcpus");
    for (unsigned v : plan.remove) {
      std::string id = "vcpu" + std::to_string(v);
      if (deleted.contains(id)) {
        online.erase(v);
        removed.push_back(v);
      } else if (asked.contains(id)) {
        refused.push_back(json::object{
            {"vcpu", v},
            {"reason", "the guest did not release it within " + std::to_string(unplug_timeout.count()) + " ms"}});
      }
    }
    (void)co_await g.refresh_vcpu_threads();
    if (run.lost()) co_return run.died("setvcpus");
    mark_online(d, online);
    (void)g.save_record();
  }
  json::object out{{"online", config::format_id_set(online)},
                   {"count", online.size()},
                   {"added", std::move(added)},
                   {"removed", std::move(removed)},
                   {"refused", refused}};
  if (!refused.empty()) {
    std::string list;
    for (const auto& r : refused) list += (list.empty() ? "" : ", ") + json::serialize(r.at("vcpu"));
    co_return make_error(errc::timeout, "guest '" + g.name() + "' refused to unplug vCPU(s) " + list +
                                            "; online now: " + config::format_id_set(online));
  }
  co_return json::value(std::move(out));
}

awaitable<result<json::value>> attach_memory(guest& g, unsigned cell, std::uint64_t bytes) {
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  if (auto answering = co_await check_responding(g, "attach-memory"); !answering) co_return answering.error();
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  config::domain& d = g.running_domain_mutable();
  if (!d.max_memory_slots || !d.max_memory_bytes)
    co_return make_error(errc::unsupported, "guest '" + g.name() +
                                                "' has no <maxMemory slots='N'>: memory hotplug needs it in the XML");
  const vnuma::placement* p = g.placement();
  const vnuma::cell_placement* target = nullptr;
  if (p)
    for (const auto& c : p->cells)
      if (c.cell == cell) target = &c;
  if (!target)
    co_return make_error(errc::not_found, "guest '" + g.name() + "' has no cell " + std::to_string(cell));
  std::uint64_t used = d.total_memory_bytes();
  for (const auto& m : d.devices.memory_devices) used += m.target_size_bytes;
  if (used + bytes > *d.max_memory_bytes)
    co_return make_error(errc::insufficient_memory,
                         "attach-memory: " + config::format_size(used) + " + " + config::format_size(bytes) +
                             " exceeds <maxMemory> " + config::format_size(*d.max_memory_bytes));
  if (d.devices.memory_devices.size() >= *d.max_memory_slots)
    co_return make_error(errc::insufficient_memory, "attach-memory: all " + std::to_string(*d.max_memory_slots) +
                                                        " <maxMemory> slots are in use");
  const unsigned node = target->host_node;

  // A free dimm id.
  std::set<std::string> ids;
  for (const auto& m : d.devices.memory_devices)
    if (m.alias) ids.insert(*m.alias);
  unsigned n = 0;
  while (ids.contains("dimm" + std::to_string(n))) ++n;
  config::memory_device_def m;
  m.model = "dimm";
  m.target_size_bytes = bytes;
  m.target_node = cell;
  m.source_nodemask = config::id_set{node};
  m.alias = "dimm" + std::to_string(n);
  const std::string dimm = *m.alias;
  const std::string backend = "mem" + dimm;

  // The same backend a boot-time dimm of this guest gets (huge pages, memfd,
  // share, prealloc, binding to the cell's node): qemu/memory_hotplug.
  qemu::host_facts facts = qemu::host_facts_for(g.context().host);
  facts.state_dir = g.context().store.guest_dir(g.name()).string();
  auto built = qemu::build_dimm_hotplug(d, facts, m);
  if (!built) co_return built.error();
  if (built->hugepage_bytes) m.source_pagesize_bytes = built->hugepage_bytes;
  auto& ledger = g.context().ledger;
  if (auto held = ledger.add_memory(g.name(), node, bytes, built->hugepage_bytes, g.context().cfg.overcommit); !held)
    co_return held.error();
  const std::uint64_t page = built->hugepage_bytes;

  // Commands built before co_await: GCC 12 mishandles string-literal
  // temporaries inside a co_await expression.
  qmp::qmp_command add_backend = qmp::object_add(std::move(built->object_add));
  qmp::qmp_command add_device = qmp::device_add(std::move(built->device_add));
  const same_run run{g};
  auto object = co_await g.qmp()->execute(std::move(add_backend), 30s);
  if (run.lost()) co_return run.died("attach-memory");  // the ledger entry went with it
  if (!object) {
    (void)ledger.remove_memory(g.name(), node, bytes, page);
    co_return object.error();
  }
  auto device = co_await g.qmp()->execute(std::move(add_device), 30s);
  if (run.lost()) co_return run.died("attach-memory");
  if (!device) {
    (void)co_await g.qmp()->execute(qmp::object_del(backend), 10s);
    if (run.lost()) co_return run.died("attach-memory");
    (void)ledger.remove_memory(g.name(), node, bytes, page);
    co_return device.error();
  }
  d.devices.memory_devices.push_back(m);
  (void)g.save_record();
  log_with(log_level::info, {.guest = g.name(), .cell = cell},
           "attached " + config::format_size(bytes) + " as " + dimm + " on cell " + std::to_string(cell) +
               " (host node " + std::to_string(node) + ")");
  co_return json::value(json::object{{"dimm", dimm}, {"cell", cell}, {"host_node", node}, {"size_bytes", bytes}});
}

awaitable<result<json::value>> detach_memory(guest& g, const std::string& dimm_id, std::chrono::milliseconds timeout) {
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  if (auto answering = co_await check_responding(g, "detach-memory"); !answering) co_return answering.error();
  if (!g.is_active() || !g.qmp()) co_return not_running(g);
  config::domain& d = g.running_domain_mutable();
  auto it = std::find_if(d.devices.memory_devices.begin(), d.devices.memory_devices.end(),
                         [&](const config::memory_device_def& m) { return m.alias && *m.alias == dimm_id; });
  if (it == d.devices.memory_devices.end())
    co_return make_error(errc::not_found, "guest '" + g.name() + "' has no memory device '" + dimm_id + "'");
  const same_run run{g};
  auto deleting = co_await g.qmp()->execute(qmp::device_del(dimm_id), 10s);
  if (run.lost()) co_return run.died("detach-memory");
  if (!deleting) co_return deleting.error();
  std::set<std::string> wanted{dimm_id};
  auto deleted = co_await wait_deleted(*g.qmp(), wanted, timeout);
  if (run.lost()) co_return run.died("detach-memory");
  if (!deleted.contains(dimm_id))
    co_return make_error(errc::timeout, "guest '" + g.name() + "' did not release " + dimm_id + " within " +
                                            std::to_string(timeout.count()) + " ms (it stays attached)");
  std::string backend = "mem" + dimm_id;
  (void)co_await g.qmp()->execute(qmp::object_del(backend), 10s);
  if (run.lost()) co_return run.died("detach-memory");
  it = std::find_if(d.devices.memory_devices.begin(), d.devices.memory_devices.end(),
                    [&](const config::memory_device_def& m) { return m.alias && *m.alias == dimm_id; });
  if (it != d.devices.memory_devices.end()) {
    unsigned node = it->source_nodemask && !it->source_nodemask->empty() ? *it->source_nodemask->begin() : 0;
    const std::uint64_t page = it->source_pagesize_bytes.value_or(0) > 4096 ? *it->source_pagesize_bytes : 0;
    (void)g.context().ledger.remove_memory(g.name(), node, it->target_size_bytes, page);
    d.devices.memory_devices.erase(it);
  }
  (void)g.save_record();
  co_return json::value(json::object{{"detached", dimm_id}});
}

awaitable<result<json::value>> pin_vcpu(guest& g, unsigned vcpu, const config::id_set& cpus) {
  if (!g.is_active()) co_return not_running(g);
  if (vcpu >= g.running_domain().vcpu.max)
    co_return make_error(errc::not_found, "guest '" + g.name() + "' has vCPUs 0-" +
                                              std::to_string(g.running_domain().vcpu.max - 1));
  auto& ctx = g.context();
  for (unsigned cpu : cpus)
    if (!ctx.host.node_of_cpu(cpu))
      co_return make_error(errc::invalid_cpuset, "vcpupin: host CPU " + std::to_string(cpu) + " does not exist");
  config::id_set taken = ctx.ledger.dedicated_cpus(g.name());
  for (unsigned cpu : cpus)
    if (taken.contains(cpu))
      co_return make_error(errc::insufficient_cpus, "vcpupin: host CPU " + std::to_string(cpu) +
                                                        " is held dedicated by guest '" +
                                                        ctx.ledger.dedicated_holder(cpu).value_or("?") + "'");
  const vnuma::placement* p = g.placement();
  if (!p) co_return make_error(errc::not_found, "guest '" + g.name() + "' is not in the ledger");
  auto vcpus = p->vcpus;
  config::id_set dedicated = p->dedicated_cpus;
  for (auto& v : vcpus)
    if (v.vcpu == vcpu) {
      bool was_dedicated = !dedicated.empty();
      for (unsigned c : v.host_cpus) dedicated.erase(c);
      v.host_cpus = cpus;
      if (was_dedicated) dedicated.insert(cpus.begin(), cpus.end());
    }
  const bool dedicated_moved = dedicated != p->dedicated_cpus;
  if (auto set = ctx.ledger.set_vcpu_pins(g.name(), vcpus, dedicated); !set) co_return set.error();
  if (dedicated_moved && ctx.dedicated_changed) ctx.dedicated_changed(g.name());
  if (auto t = g.vcpu_threads().find(vcpu); t != g.vcpu_threads().end() && g.cgroups()) {
    auto [pin, mems] = pin_of(g, vcpu);
    if (auto pinned = g.cgroups()->pin_vcpu(t->second, vcpu, cpus, mems); !pinned) co_return pinned.error();
  }
  config::domain& d = g.running_domain_mutable();
  if (!d.cputune) d.cputune.emplace();
  auto& pins = d.cputune->vcpupins;
  auto it = std::find_if(pins.begin(), pins.end(), [&](const config::vcpupin& p) { return p.vcpu == vcpu; });
  if (it == pins.end()) pins.push_back({vcpu, cpus});
  else it->cpuset = cpus;
  (void)g.save_record();
  co_return json::value(json::object{{"vcpu", vcpu}, {"cpuset", config::format_id_set(cpus)}});
}

}  // namespace vnumad::reactor
