#include "reactor/live_plan.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <charconv>
#include <set>

namespace vnumad::reactor {

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

void mark_online(config::domain& d, const config::id_set& online) {
  d.vcpu.current = static_cast<unsigned>(online.size());
  for (auto& v : d.vcpus) v.enabled = online.contains(v.id);
}

std::string vcpu_device_id(unsigned v) { return "vcpu" + std::to_string(v); }

std::optional<unsigned> vcpu_of_device_id(std::string_view id) {
  constexpr std::string_view prefix = "vcpu";
  if (id.size() <= prefix.size() || id.substr(0, prefix.size()) != prefix) return std::nullopt;
  unsigned v = 0;
  auto digits = id.substr(prefix.size());
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc{} || end != digits.data() + digits.size()) return std::nullopt;
  return v;
}

std::vector<config::id_set> cell_vcpus(const config::domain& running, const vnuma::placement* p) {
  std::vector<config::id_set> cells;
  if (p)
    for (const auto& c : p->cells) cells.push_back(c.vcpus);
  if (cells.empty()) {
    config::id_set all;
    for (unsigned v = 0; v < running.vcpu.max; ++v) all.insert(v);
    cells.push_back(all);
  }
  return cells;
}

result<vnuma::setvcpus_plan> plan_set_vcpus(const std::string& guest, const config::domain& running,
                                            const vnuma::placement* p, unsigned target) {
  if (target < 1 || target > running.vcpu.max)
    return make_error(errc::invalid_value, "setvcpus " + std::to_string(target) + ": guest '" + guest +
                                               "' has vCPUs 1.." + std::to_string(running.vcpu.max));
  return vnuma::plan_setvcpus(online_vcpus(running), cell_vcpus(running, p), target);
}

result<attach_plan> plan_attach_memory(const std::string& guest, const config::domain& d, const vnuma::placement* p,
                                       unsigned cell, std::uint64_t bytes) {
  if (!d.max_memory_slots || !d.max_memory_bytes)
    return make_error(errc::unsupported,
                      "guest '" + guest + "' has no <maxMemory slots='N'>: memory hotplug needs it in the XML");
  const vnuma::cell_placement* target = nullptr;
  if (p)
    for (const auto& c : p->cells)
      if (c.cell == cell) target = &c;
  if (!target) return make_error(errc::not_found, "guest '" + guest + "' has no cell " + std::to_string(cell));
  std::uint64_t used = d.total_memory_bytes();
  for (const auto& m : d.devices.memory_devices) used += m.target_size_bytes;
  if (used + bytes > *d.max_memory_bytes)
    return make_error(errc::insufficient_memory, "attach-memory: " + config::format_size(used) + " + " +
                                                     config::format_size(bytes) + " exceeds <maxMemory> " +
                                                     config::format_size(*d.max_memory_bytes));
  if (d.devices.memory_devices.size() >= *d.max_memory_slots)
    return make_error(errc::no_free_slot,
                      "attach-memory: all " + std::to_string(*d.max_memory_slots) + " <maxMemory> slots are in use");
  std::set<std::string> ids;
  for (const auto& m : d.devices.memory_devices)
    if (m.alias) ids.insert(*m.alias);
  unsigned n = 0;
  while (ids.contains("dimm" + std::to_string(n))) ++n;
  attach_plan plan;
  plan.host_node = target->host_node;
  plan.dimm.model = "dimm";
  plan.dimm.target_size_bytes = bytes;
  plan.dimm.target_node = cell;
  plan.dimm.source_nodemask = config::id_set{target->host_node};
  plan.dimm.alias = "dimm" + std::to_string(n);
  return plan;
}

namespace {

auto find_alias(const std::vector<config::memory_device_def>& devices, std::string_view id) {
  return std::find_if(devices.begin(), devices.end(),
                      [&](const config::memory_device_def& m) { return m.alias && *m.alias == id; });
}

}  // namespace

result<config::memory_device_def> plan_detach_memory(const std::string& guest, const config::domain& d,
                                                     std::string_view dimm_id) {
  auto it = find_alias(d.devices.memory_devices, dimm_id);
  if (it == d.devices.memory_devices.end())
    return make_error(errc::not_found, "guest '" + guest + "' has no memory device '" + std::string(dimm_id) + "'");
  return *it;
}

result<vcpupin_plan> plan_vcpupin(const std::string& guest, const config::domain& running, const vnuma::placement& p,
                                  const config::id_set& host_cpus, const std::map<unsigned, std::string>& held_by_others,
                                  unsigned vcpu,
                                  const config::id_set& cpus) {
  if (vcpu >= running.vcpu.max)
    return make_error(errc::not_found,
                      "guest '" + guest + "' has vCPUs 0-" + std::to_string(running.vcpu.max - 1));
  for (unsigned cpu : cpus)
    if (!host_cpus.contains(cpu))
      return make_error(errc::invalid_cpuset, "vcpupin: host CPU " + std::to_string(cpu) + " does not exist");
  for (unsigned cpu : cpus)
    if (auto holder = held_by_others.find(cpu); holder != held_by_others.end())
      return make_error(errc::insufficient_cpus, "vcpupin: host CPU " + std::to_string(cpu) +
                                                     " is held dedicated by guest '" + holder->second + "'");
  vcpupin_plan plan{p.vcpus, p.dedicated_cpus, false};
  for (auto& v : plan.vcpus)
    if (v.vcpu == vcpu) {
      const bool was_dedicated = !plan.dedicated.empty();
      for (unsigned c : v.host_cpus) plan.dedicated.erase(c);
      v.host_cpus = cpus;
      if (was_dedicated) plan.dedicated.insert(cpus.begin(), cpus.end());
    }
  plan.dedicated_moved = plan.dedicated != p.dedicated_cpus;
  return plan;
}

std::optional<device_removal> apply_device_removal(config::domain& running, std::string_view id) {
  if (auto v = vcpu_of_device_id(id)) {
    config::id_set online = online_vcpus(running);
    if (!online.contains(*v)) return std::nullopt;
    online.erase(*v);
    mark_online(running, online);
    return device_removal{.vcpu = *v};
  }
  auto& devices = running.devices.memory_devices;
  auto it = find_alias(devices, id);
  if (it == devices.end()) return std::nullopt;
  device_removal out;
  out.dimm = *it;
  out.node = it->source_nodemask && !it->source_nodemask->empty() ? *it->source_nodemask->begin() : 0;
  out.hugepage_bytes = it->source_pagesize_bytes.value_or(0) > 4096 ? *it->source_pagesize_bytes : 0;
  devices.erase(it);
  return out;
}

}  // namespace vnumad::reactor
