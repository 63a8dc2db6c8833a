#include "qemu/vcpu_slots.hpp"

#include <cstdint>
#include <string>

namespace vnumad::qemu {

result<vcpu_topology> vcpu_topology_of(const config::domain& d) {
  if (!d.cpu.topology) return vcpu_topology{.sockets = d.vcpu.max};
  const auto& t = *d.cpu.topology;
  if (!t.sockets || !t.dies || !t.clusters || !t.cores || !t.threads)
    return make_error(errc::invalid_value, "<cpu><topology>: every count must be at least 1");
  std::uint64_t product = std::uint64_t{t.sockets} * t.dies * t.clusters * t.cores * t.threads;
  if (product != d.vcpu.max)
    return make_error(errc::invalid_value,
                      "<cpu><topology>: sockets*dies*clusters*cores*threads = " + std::to_string(product) +
                          " but <vcpu> is " + std::to_string(d.vcpu.max) + "; they must be equal");
  return vcpu_topology{t.sockets, t.dies, t.clusters, t.cores, t.threads, true};
}

vcpu_slot slot_of(const vcpu_topology& t, unsigned vcpu) {
  vcpu_slot s;
  s.thread = vcpu % t.threads;
  vcpu /= t.threads;
  s.core = vcpu % t.cores;
  vcpu /= t.cores;
  s.cluster = vcpu % t.clusters;
  vcpu /= t.clusters;
  s.die = vcpu % t.dies;
  s.socket = vcpu / t.dies;
  return s;
}

std::optional<unsigned> vcpu_of(const vcpu_topology& t, const qmp::cpu_props& props) {
  auto id = [](const std::optional<std::int64_t>& v) { return v.value_or(0); };
  const std::int64_t socket = id(props.socket_id), die = id(props.die_id), cluster = id(props.cluster_id),
                     core = id(props.core_id), thread = id(props.thread_id);
  if (socket < 0 || socket >= t.sockets || die < 0 || die >= t.dies || cluster < 0 || cluster >= t.clusters ||
      core < 0 || core >= t.cores || thread < 0 || thread >= t.threads)
    return std::nullopt;
  return static_cast<unsigned>((((socket * t.dies + die) * t.clusters + cluster) * t.cores + core) * t.threads + thread);
}

const qmp::hotpluggable_cpu* free_slot_for(const std::vector<qmp::hotpluggable_cpu>& slots, const vcpu_topology& t,
                                           unsigned vcpu) {
  for (const auto& s : slots)
    if (!s.plugged() && vcpu_of(t, s.props) == vcpu) return &s;
  return nullptr;
}

}  // namespace vnumad::qemu
