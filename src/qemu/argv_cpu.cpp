// -cpu, -smp and the vCPUs that the supervisor hotplugs at start.
#include "qemu/argv_parts.hpp"
#include "qemu/vcpu_slots.hpp"

#include <algorithm>

namespace vnumad::qemu {
namespace {

// vCPUs QEMU creates itself (-smp CUR): with <vcpus>, the online
// non-hotpluggable ones; without, the first <vcpu current> ones.
result<unsigned> boot_vcpus(const config::domain& d) {
  if (d.vcpu.max == 0) return make_error(errc::invalid_value, "<vcpu>: must be at least 1");
  if (d.vcpus.empty()) {
    unsigned cur = d.current_vcpus();
    if (cur == 0 || cur > d.vcpu.max)
      return make_error(errc::invalid_value, "<vcpu current='" + std::to_string(cur) + "'>: must be 1-" +
                                                 std::to_string(d.vcpu.max));
    return cur;
  }
  config::id_set fixed;
  for (const auto& v : d.vcpus) {
    if (v.id >= d.vcpu.max)
      return make_error(errc::invalid_value, "<vcpus><vcpu id='" + std::to_string(v.id) + "'>: id beyond <vcpu>" +
                                                 std::to_string(d.vcpu.max) + "</vcpu>");
    if (!v.hotpluggable && !v.enabled)
      return make_error(errc::invalid_value, "<vcpus><vcpu id='" + std::to_string(v.id) +
                                                 "'>: an offline vCPU must be hotpluggable='yes'");
    if (!v.hotpluggable) fixed.insert(v.id);
  }
  unsigned cur = static_cast<unsigned>(fixed.size());
  if (cur == 0 || *fixed.rbegin() != cur - 1)
    return make_error(errc::invalid_value,
                      "<vcpus>: the non-hotpluggable vCPUs must be ids 0-" + std::to_string(cur ? cur - 1 : 0) +
                          " (QEMU creates the first ones itself); got " + config::format_id_set(fixed) +
                          (cur == 0 ? " (vCPU 0 must be hotpluggable='no')" : ""));
  return cur;
}

}  // namespace

std::string cpu_model_name(const config::domain& d) {
  const auto& mode = d.cpu.mode;
  if (mode == "host-passthrough" || mode == "host-model") return "host";
  if (mode == "maximum") return "max";
  if (d.cpu.model && !d.cpu.model->empty()) return *d.cpu.model;
  return "qemu64";
}

boost::json::object hotplug_vcpu::device_add_arguments(bool with_module_id) const {
  boost::json::object o;
  o["driver"] = driver;
  o["id"] = qom_id;
  o["socket-id"] = socket_id;
  o["die-id"] = die_id;
  if (with_module_id) o["module-id"] = module_id;
  o["core-id"] = core_id;
  o["thread-id"] = thread_id;
  if (node_id) o["node-id"] = *node_id;
  return o;
}

result<std::vector<hotplug_vcpu>> vcpus_to_hotplug(const config::domain& d) {
  auto cur = boot_vcpus(d);
  if (!cur) return cur.error();
  auto topo = vcpu_topology_of(d);
  if (!topo) return topo.error();
  std::vector<config::vcpu_entry> wanted;
  for (const auto& v : d.vcpus)
    if (v.enabled && v.hotpluggable) wanted.push_back(v);
  std::stable_sort(wanted.begin(), wanted.end(), [](const auto& a, const auto& b) {
    unsigned oa = a.order.value_or(~0u), ob = b.order.value_or(~0u);
    return oa != ob ? oa < ob : a.id < b.id;
  });
  auto cells = detail::effective_cells(d);
  std::vector<hotplug_vcpu> out;
  for (const auto& v : wanted) {
    hotplug_vcpu h;
    h.id = v.id;
    h.driver = cpu_model_name(d) + "-x86_64-cpu";
    h.qom_id = "vcpu" + std::to_string(v.id);
    const vcpu_slot slot = slot_of(*topo, v.id);
    h.socket_id = slot.socket;
    h.die_id = slot.die;
    h.module_id = slot.cluster;
    h.core_id = slot.core;
    h.thread_id = slot.thread;
    for (const auto& c : cells)
      if (c.cpus && c.cpus->count(v.id)) h.node_id = c.id;
    out.push_back(std::move(h));
  }
  return out;
}

namespace detail {

result<std::string> smp_value(const config::domain& d) {
  auto cur = boot_vcpus(d);
  if (!cur) return cur.error();
  auto t = vcpu_topology_of(d);
  if (!t) return t.error();
  std::string s = std::to_string(*cur);
  if (*cur != d.vcpu.max) s += ",maxcpus=" + std::to_string(d.vcpu.max);
  s += ",sockets=" + std::to_string(t->sockets);
  if (t->explicit_) s += ",dies=" + std::to_string(t->dies) + ",clusters=" + std::to_string(t->clusters);
  s += ",cores=" + std::to_string(t->cores) + ",threads=" + std::to_string(t->threads);
  return s;
}

}  // namespace detail
}  // namespace vnumad::qemu
