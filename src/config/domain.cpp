#include "config/domain.hpp"

#include <array>
#include <string>
#include <utility>

namespace vnumad::config {
namespace {

// One table per enum, so to_string and parse_* can never disagree.
template <class E, std::size_t N>
using name_table = std::array<std::pair<E, std::string_view>, N>;

constexpr name_table<vnuma_mode, 2> mode_names{{{vnuma_mode::host, "host"}, {vnuma_mode::node, "node"}}};
constexpr name_table<vnuma_distribution, 4> distribution_names{{
    {vnuma_distribution::contiguous, "contiguous"},
    {vnuma_distribution::siblings, "siblings"},
    {vnuma_distribution::round_robin, "round-robin"},
    {vnuma_distribution::interleave, "interleave"},
}};
constexpr name_table<numa_policy, 4> policy_names{{
    {numa_policy::strict, "strict"},
    {numa_policy::preferred, "preferred"},
    {numa_policy::interleave, "interleave"},
    {numa_policy::restrictive, "restrictive"},
}};
constexpr name_table<lifecycle_action, 6> action_names{{
    {lifecycle_action::destroy, "destroy"},
    {lifecycle_action::restart, "restart"},
    {lifecycle_action::preserve, "preserve"},
    {lifecycle_action::rename_restart, "rename-restart"},
    {lifecycle_action::coredump_destroy, "coredump-destroy"},
    {lifecycle_action::coredump_restart, "coredump-restart"},
}};

template <class E, std::size_t N>
std::string_view name_of(const name_table<E, N>& table, E value) {
  for (const auto& [e, name] : table)
    if (e == value) return name;
  return "unknown";
}

template <class E, std::size_t N>
result<E> parse_from(const name_table<E, N>& table, std::string_view text, std::string_view what) {
  for (const auto& [e, name] : table)
    if (name == text) return e;
  std::string valid;
  for (const auto& [e, name] : table) {
    if (!valid.empty()) valid += ", ";
    valid += name;
  }
  return make_error(errc::invalid_value,
                    std::string(what) + ": '" + std::string(text) + "' is not valid (valid: " + valid + ")");
}

}  // namespace

std::string_view to_string(vnuma_mode m) { return name_of(mode_names, m); }
std::string_view to_string(vnuma_distribution d) { return name_of(distribution_names, d); }
std::string_view to_string(numa_policy p) { return name_of(policy_names, p); }
std::string_view to_string(lifecycle_action a) { return name_of(action_names, a); }

result<vnuma_mode> parse_vnuma_mode(std::string_view text, std::string_view what) {
  return parse_from(mode_names, text, what);
}
result<vnuma_distribution> parse_vnuma_distribution(std::string_view text, std::string_view what) {
  return parse_from(distribution_names, text, what);
}
result<numa_policy> parse_numa_policy(std::string_view text, std::string_view what) {
  return parse_from(policy_names, text, what);
}
result<lifecycle_action> parse_lifecycle_action(std::string_view text, std::string_view what) {
  return parse_from(action_names, text, what);
}

std::uint64_t domain::total_memory_bytes() const {
  if (memory_bytes) return *memory_bytes;
  std::uint64_t sum = 0;
  for (const numa_cell& c : cpu.cells) sum += c.memory_bytes;
  return sum;
}

}  // namespace vnumad::config
