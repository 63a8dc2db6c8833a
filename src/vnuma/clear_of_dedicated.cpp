#include "vnuma/clear_of_dedicated.hpp"

#include <algorithm>

namespace vnumad::vnuma {

namespace {

id_set minus(const id_set& a, const id_set& b) {
  id_set out;
  std::set_difference(a.begin(), a.end(), b.begin(), b.end(), std::inserter(out, out.end()));
  return out;
}

bool subset_of(const id_set& a, const id_set& b) { return std::includes(b.begin(), b.end(), a.begin(), a.end()); }

std::optional<unsigned> node_of_cell(const placement& p, unsigned cell) {
  for (const auto& c : p.cells)
    if (c.cell == cell) return c.host_node;
  return std::nullopt;
}

}  // namespace

pins_granted pins_clear_of_dedicated(const placement& p, const pins_wanted& wanted, const ledger& held,
                                     const host_topology& host) {
  const id_set taken = held.dedicated_cpus(p.guest);
  const id_set anywhere = taken.empty() ? id_set{} : minus(host.all_cpus(), taken);
  pins_granted out;
  out.vcpus = p.vcpus;
  for (auto& v : out.vcpus) {
    if (!v.host_cpus.empty() && !p.dedicated_cpus.empty() && subset_of(v.host_cpus, p.dedicated_cpus)) continue;
    auto asked_it = wanted.vcpus.find(v.vcpu);
    const id_set asked = asked_it == wanted.vcpus.end() ? id_set{} : asked_it->second;
    if (asked.empty()) {
      v.host_cpus = anywhere;
      continue;
    }
    id_set left = minus(asked, taken);
    if (left.empty()) {
      if (auto node = node_of_cell(p, v.cell)) left = held.shared_cpus(*node, p.guest);
      if (left.empty()) {
        out.notes.push_back("vCPU " + std::to_string(v.vcpu) + ": every host thread it may use (" +
                            config::format_id_set(asked) + ") is held dedicated by other guests; left there");
        left = asked;
      } else {
        out.notes.push_back("vCPU " + std::to_string(v.vcpu) + ": its threads " + config::format_id_set(asked) +
                            " are held dedicated by other guests; moved to " + config::format_id_set(left));
      }
    }
    v.host_cpus = left;
  }
  if (wanted.emulator.empty()) {
    out.emulator = anywhere;
  } else {
    out.emulator = minus(wanted.emulator, taken);
    if (out.emulator.empty()) out.emulator = anywhere.empty() ? wanted.emulator : anywhere;
  }
  return out;
}

result<void> check_pins_not_all_dedicated(const placement& p, const ledger& held) {
  const id_set taken = held.dedicated_cpus(p.guest);
  if (taken.empty()) return {};
  auto refuse = [&](const std::string& what, const id_set& cpus) {
    std::string holders;
    for (unsigned cpu : cpus) {
      std::string holder = held.dedicated_holder(cpu).value_or("?");
      if (holders.find("'" + holder + "'") == std::string::npos) holders += (holders.empty() ? "'" : ", '") + holder + "'";
    }
    return make_error(errc::insufficient_cpus, "guest '" + p.guest + "': " + what + " is pinned to host threads " +
                                                   config::format_id_set(cpus) + ", held dedicated by guest " +
                                                   holders + "; pin it elsewhere or stop that guest");
  };
  for (const auto& v : p.vcpus)
    if (!v.host_cpus.empty() && subset_of(v.host_cpus, taken))
      return refuse("<vcpupin vcpu='" + std::to_string(v.vcpu) + "'>", v.host_cpus);
  if (!p.emulator_cpus.empty() && subset_of(p.emulator_cpus, taken)) return refuse("<emulatorpin>", p.emulator_cpus);
  return {};
}

}  // namespace vnumad::vnuma
