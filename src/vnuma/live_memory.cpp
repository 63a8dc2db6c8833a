#include "vnuma/live_memory.hpp"

#include "config/units.hpp"

#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

namespace vnumad::vnuma {

namespace fs = std::filesystem;

std::optional<std::uint64_t> parse_node_meminfo_available(std::string_view meminfo) {
  // "Node 0 MemFree:         3630292 kB"
  std::map<std::string, std::uint64_t> kib;
  std::istringstream in{std::string(meminfo)};
  for (std::string line; std::getline(in, line);) {
    char key[64];
    unsigned node = 0;
    unsigned long long value = 0;
    if (std::sscanf(line.c_str(), "Node %u %63[^:]: %llu", &node, key, &value) == 3) kib[key] = value;
  }
  auto get = [&](const char* key) -> std::uint64_t {
    auto it = kib.find(key);
    return it == kib.end() ? 0 : it->second;
  };
  if (!kib.contains("MemFree")) return std::nullopt;
  const std::uint64_t reclaimable = kib.contains("KReclaimable") ? get("KReclaimable") : get("SReclaimable");
  return (get("MemFree") + get("Active(file)") + get("Inactive(file)") + reclaimable) * config::KiB;
}

std::vector<std::string> live_memory_warnings(const placement& p, const ledger& held,
                                              const std::map<unsigned, live_node_memory>& live) {
  std::vector<std::string> warnings;
  for (const auto& [node, bytes] : p.memory_per_node) {
    auto it = live.find(node);
    if (it == live.end()) continue;
    const std::uint64_t need = p.normal_memory_on(node);
    if (need == 0) continue;
    const std::uint64_t ledger_free = held.free_memory(node, p.guest);
    const std::uint64_t live_free = it->second.available_bytes;
    if (live_free >= ledger_free) continue;
    warnings.push_back("node " + std::to_string(node) + ": the ledger counts " + config::format_size(ledger_free) +
                       " free, but only " + config::format_size(live_free) +
                       " is available there now (MemFree + reclaimable); guest '" + p.guest + "' needs " +
                       config::format_size(need) + " (memory outside vnumad's accounting exceeds reserved_memory " +
                       config::format_size(held.reserved_memory(node)) + ")");
  }
  for (const auto& [key, pages] : p.hugepages_per_node) {
    const auto& [node, page_bytes] = key;
    auto it = live.find(node);
    if (it == live.end()) continue;
    auto pool = it->second.hugepages_free.find(page_bytes);
    if (pool == it->second.hugepages_free.end()) continue;
    const std::uint64_t ledger_free = held.free_hugepages(node, page_bytes, p.guest);
    if (pool->second >= ledger_free) continue;
    warnings.push_back("node " + std::to_string(node) + ": the ledger counts " + std::to_string(ledger_free) +
                       " free " + config::format_size(page_bytes) + " huge pages, but only " +
                       std::to_string(pool->second) + " are free there now; guest '" + p.guest + "' needs " +
                       std::to_string(pages) + " (something outside vnumad uses the pool)");
  }
  return warnings;
}

std::map<unsigned, live_node_memory> read_live_node_memory(const placement& p, const fs::path& node_root) {
  std::set<unsigned> nodes;
  for (const auto& [node, bytes] : p.memory_per_node) nodes.insert(node);
  for (const auto& [key, pages] : p.hugepages_per_node) nodes.insert(key.first);
  std::map<unsigned, live_node_memory> live;
  for (unsigned node : nodes) {
    const fs::path dir = node_root / ("node" + std::to_string(node));
    std::ifstream in(dir / "meminfo");
    std::ostringstream text;
    text << in.rdbuf();
    auto available = in ? parse_node_meminfo_available(text.str()) : std::nullopt;
    if (!available) continue;
    live_node_memory m{.available_bytes = *available};
    for (const auto& [key, pages] : p.hugepages_per_node) {
      if (key.first != node) continue;
      std::ifstream count(dir / "hugepages" / ("hugepages-" + std::to_string(key.second / config::KiB) + "kB") /
                          "free_hugepages");
      std::uint64_t free = 0;
      if (count >> free) m.hugepages_free[key.second] = free;
    }
    live[node] = std::move(m);
  }
  return live;
}

std::vector<std::string> check_live_memory(const placement& p, const host_topology& host, const ledger& held) {
  if (!host.live) return {};
  return live_memory_warnings(p, held, read_live_node_memory(p));
}

}  // namespace vnumad::vnuma
