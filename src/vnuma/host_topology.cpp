#include "vnuma/host_topology.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace vnumad::vnuma {

namespace {

// Spec section 3: a host without a distance table counts as 10 local / 20 remote.
constexpr unsigned default_local_distance = 10;
constexpr unsigned default_remote_distance = 20;

std::optional<std::size_t> position_of(const host_topology& host, unsigned id) {
  for (std::size_t i = 0; i < host.nodes.size(); ++i)
    if (host.nodes[i].id == id) return i;
  return std::nullopt;
}

std::string trim(std::string_view text) {
  auto is_space = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return std::string(text);
}

}  // namespace

const host_node* host_topology::find_node(unsigned id) const {
  auto pos = position_of(*this, id);
  return pos ? &nodes[*pos] : nullptr;
}

unsigned host_topology::distance(unsigned node_a, unsigned node_b) const {
  auto a = position_of(*this, node_a);
  auto b = position_of(*this, node_b);
  if (a && b && *a < distances.size() && *b < distances[*a].size()) return distances[*a][*b];
  return node_a == node_b ? default_local_distance : default_remote_distance;
}

std::optional<unsigned> host_topology::node_of_cpu(unsigned cpu) const {
  for (const auto& node : nodes)
    if (node.cpus.contains(cpu)) return node.id;
  return std::nullopt;
}

id_set host_topology::all_cpus() const {
  id_set cpus;
  for (const auto& node : nodes) cpus.insert(node.cpus.begin(), node.cpus.end());
  return cpus;
}

id_set host_topology::node_ids() const {
  id_set ids;
  for (const auto& node : nodes) ids.insert(node.id);
  return ids;
}

id_set host_topology::nodes_with_cpus() const {
  id_set ids;
  for (const auto& node : nodes)
    if (node.has_cpus()) ids.insert(node.id);
  return ids;
}

result<reserved_cpus_setting> parse_reserved_cpus(std::string_view text) {
  std::string value = trim(text);
  std::string lower = value;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (lower == "auto") return reserved_cpus_setting{reserved_cpus_setting::kind::automatic, {}};
  if (lower == "none") return reserved_cpus_setting{reserved_cpus_setting::kind::none, {}};
  if (value.empty())
    return make_error(errc::invalid_cpuset,
                      "reserved_cpus is empty: valid values are 'auto', 'none' or a cpuset such as '0,60'");
  auto cpus = config::parse_id_set(value, "reserved_cpus");
  if (!cpus)
    return make_error(errc::invalid_cpuset,
                      cpus.error().message + " (reserved_cpus also accepts 'auto' or 'none')");
  return reserved_cpus_setting{reserved_cpus_setting::kind::explicit_set, std::move(*cpus)};
}

result<id_set> resolve_reserved_cpus(const host_topology& host, const reserved_cpus_setting& setting) {
  switch (setting.which) {
    case reserved_cpus_setting::kind::none:
      return id_set{};
    case reserved_cpus_setting::kind::automatic: {
      // A node with a single core keeps it for guests: reserving it would leave
      // the node unusable.
      id_set reserved;
      for (const auto& node : host.nodes)
        if (node.cores.size() >= 2) reserved.insert(node.cores.front().begin(), node.cores.front().end());
      return reserved;
    }
    case reserved_cpus_setting::kind::explicit_set: {
      const id_set existing = host.all_cpus();
      id_set unknown;
      for (unsigned cpu : setting.cpus)
        if (!existing.contains(cpu)) unknown.insert(cpu);
      if (!unknown.empty())
        return make_error(errc::invalid_cpuset,
                          "reserved_cpus names CPUs " + config::format_id_set(unknown) +
                              " that this host does not have: valid CPUs are " +
                              config::format_id_set(existing));
      return setting.cpus;
    }
  }
  return make_error(errc::invalid_value, "reserved_cpus: unknown setting kind");
}

result<std::map<unsigned, std::uint64_t>> resolve_reserved_memory(const host_topology& host,
                                                                  const config::reserved_memory_setting& setting) {
  const id_set existing = host.node_ids();
  id_set unknown;
  for (const auto& [node, bytes] : setting.per_node)
    if (!existing.contains(node)) unknown.insert(node);
  if (!unknown.empty())
    return make_error(errc::invalid_value, "reserved_memory names nodes " + config::format_id_set(unknown) +
                                               " that this host does not have: its nodes are " +
                                               config::format_id_set(existing));
  std::map<unsigned, std::uint64_t> reserve;
  for (const auto& node : host.nodes) reserve[node.id] = setting.on(node.id);
  return reserve;
}

}  // namespace vnumad::vnuma
