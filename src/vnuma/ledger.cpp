#include "vnuma/ledger.hpp"

#include "config/units.hpp"

namespace vnumad::vnuma {

namespace {

std::string quoted(std::string_view guest) { return "'" + std::string(guest) + "'"; }

// "cell 1" / "cells 1, 3" / "" for the cells of a placement on one node that
// use the given page size: the part of the message that says what needs it.
std::string cells_on(const placement& p, unsigned node, std::uint64_t page_bytes) {
  std::vector<unsigned> ids;
  for (const auto& c : p.cells)
    if (c.host_node == node && c.hugepage_bytes == page_bytes) ids.push_back(c.cell);
  if (ids.empty()) return " for memory bound to that node";
  std::string text = ids.size() == 1 ? " for cell " : " for cells ";
  for (std::size_t i = 0; i < ids.size(); ++i) text += (i ? ", " : "") + std::to_string(ids[i]);
  return text;
}

std::string pages_text(std::uint64_t pages, std::uint64_t page_bytes) {
  return std::to_string(pages) + " free " + config::format_size(page_bytes) + " huge pages";
}

}  // namespace

ledger::ledger(const host_topology& host, const std::map<unsigned, std::uint64_t>& reserved_memory) {
  for (const auto& n : host.nodes) {
    auto it = reserved_memory.find(n.id);
    const std::uint64_t reserved = it == reserved_memory.end() ? 0 : it->second;
    const std::uint64_t normal = n.normal_memory_bytes();
    nodes_[n.id] = node_capacity{n.cpus, normal > reserved ? normal - reserved : 0, reserved, n.hugepages_total};
  }
}

std::uint64_t ledger::capacity_memory(unsigned node_id) const {
  const node_capacity* n = node(node_id);
  return n ? n->memory_bytes : 0;
}

std::uint64_t ledger::capacity_hugepages(unsigned node_id, std::uint64_t page_bytes) const {
  const node_capacity* n = node(node_id);
  if (!n) return 0;
  auto it = n->hugepages.find(page_bytes);
  return it == n->hugepages.end() ? 0 : it->second;
}

std::uint64_t ledger::reserved_memory(unsigned node_id) const {
  const node_capacity* n = node(node_id);
  return n ? n->reserved_bytes : 0;
}

const ledger::node_capacity* ledger::node(unsigned id) const {
  auto it = nodes_.find(id);
  return it == nodes_.end() ? nullptr : &it->second;
}

const placement* ledger::find(std::string_view guest) const {
  auto it = guests_.find(guest);
  return it == guests_.end() ? nullptr : &it->second;
}

std::vector<std::string> ledger::guests() const {
  std::vector<std::string> names;
  for (const auto& [name, p] : guests_) names.push_back(name);
  return names;
}

std::uint64_t ledger::held_memory(unsigned node_id) const {
  std::uint64_t held = 0;
  for (const auto& [name, p] : guests_)
    if (auto it = p.memory_per_node.find(node_id); it != p.memory_per_node.end()) held += it->second;
  return held;
}

std::uint64_t ledger::free_memory(unsigned node_id, std::string_view except) const {
  const node_capacity* n = node(node_id);
  if (!n) return 0;
  std::uint64_t held = 0;
  for (const auto& [name, p] : guests_)
    if (name != except) held += p.normal_memory_on(node_id);
  return n->memory_bytes > held ? n->memory_bytes - held : 0;
}

std::uint64_t ledger::free_hugepages(unsigned node_id, std::uint64_t page_bytes, std::string_view except) const {
  if (!node(node_id)) return 0;
  const std::uint64_t total = capacity_hugepages(node_id, page_bytes);
  std::uint64_t held = 0;
  for (const auto& [name, p] : guests_) {
    if (name == except) continue;
    if (auto h = p.hugepages_per_node.find({node_id, page_bytes}); h != p.hugepages_per_node.end()) held += h->second;
  }
  return total > held ? total - held : 0;
}

std::map<unsigned, std::string> ledger::dedicated_holders() const { return dedicated_; }

std::optional<std::string> ledger::dedicated_holder(unsigned cpu) const {
  auto it = dedicated_.find(cpu);
  if (it == dedicated_.end()) return std::nullopt;
  return it->second;
}

id_set ledger::dedicated_cpus(std::string_view except) const {
  id_set cpus;
  for (const auto& [cpu, guest] : dedicated_)
    if (guest != except) cpus.insert(cpu);
  return cpus;
}

id_set ledger::shared_cpus(unsigned node_id, std::string_view except) const {
  const node_capacity* n = node(node_id);
  if (!n) return {};
  id_set cpus;
  for (unsigned cpu : n->cpus) {
    auto it = dedicated_.find(cpu);
    if (it == dedicated_.end() || it->second == except) cpus.insert(cpu);
  }
  return cpus;
}

result<void> ledger::check_dedicated(std::string_view guest, const id_set& cpus) const {
  for (unsigned cpu : cpus) {
    bool exists = false;
    for (const auto& [id, n] : nodes_) exists = exists || n.cpus.contains(cpu);
    if (!exists)
      return make_error(errc::invalid_value, "guest " + quoted(guest) + " holds host CPU " + std::to_string(cpu) +
                                                 " dedicated, but the host has no such CPU");
    auto it = dedicated_.find(cpu);
    if (it != dedicated_.end() && it->second != guest)
      return make_error(errc::insufficient_cpus, "host thread " + std::to_string(cpu) + " is held dedicated by guest " +
                                                     quoted(it->second) + "; guest " + quoted(guest) +
                                                     " cannot hold it too");
  }
  return {};
}

result<void> ledger::check_fits(const placement& p) const {
  for (const auto& [node_id, bytes] : p.memory_per_node) {
    std::uint64_t need = p.normal_memory_on(node_id);
    std::uint64_t have = free_memory(node_id, p.guest);
    if (need > have)
      return make_error(errc::insufficient_memory, "node " + std::to_string(node_id) + " has " +
                                                       config::format_size(have) + " free, guest " + quoted(p.guest) +
                                                       " needs " + config::format_size(need) +
                                                       cells_on(p, node_id, 0));
  }
  for (const auto& [key, pages] : p.hugepages_per_node) {
    std::uint64_t have = free_hugepages(key.first, key.second, p.guest);
    if (pages > have)
      return make_error(errc::insufficient_hugepages,
                        "node " + std::to_string(key.first) + " has " + pages_text(have, key.second) + ", guest " +
                            quoted(p.guest) + " needs " + std::to_string(pages) + cells_on(p, key.first, key.second));
  }
  return {};
}

result<void> ledger::add(placement p, bool allow_overcommit) {
  if (p.guest.empty()) return make_error(errc::invalid_name, "a placement without a guest name cannot be held");
  if (guests_.contains(p.guest))
    return make_error(errc::already_exists, "the ledger already holds guest " + quoted(p.guest));
  auto unknown_node = [&](unsigned id) {
    return make_error(errc::node_unavailable,
                      "NUMA node " + std::to_string(id) + " is unavailable (guest " + quoted(p.guest) + ")");
  };
  for (const auto& c : p.cells)
    if (!node(c.host_node)) return unknown_node(c.host_node);
  for (const auto& [id, bytes] : p.memory_per_node)
    if (!node(id)) return unknown_node(id);
  for (const auto& [key, pages] : p.hugepages_per_node)
    if (!node(key.first)) return unknown_node(key.first);
  if (auto ok = check_dedicated(p.guest, p.dedicated_cpus); !ok) return ok;
  if (!allow_overcommit)
    if (auto ok = check_fits(p); !ok) return ok;
  for (unsigned cpu : p.dedicated_cpus) dedicated_[cpu] = p.guest;
  std::string name = p.guest;
  guests_.emplace(std::move(name), std::move(p));
  return {};
}

bool ledger::remove(std::string_view guest) {
  auto it = guests_.find(guest);
  if (it == guests_.end()) return false;
  for (unsigned cpu : it->second.dedicated_cpus) dedicated_.erase(cpu);
  guests_.erase(it);
  return true;
}

result<void> ledger::add_memory(std::string_view guest, unsigned node_id, std::uint64_t bytes,
                                std::uint64_t hugepage_bytes, bool allow_overcommit) {
  auto it = guests_.find(guest);
  if (it == guests_.end()) return make_error(errc::not_found, "the ledger holds no guest " + quoted(guest));
  if (!node(node_id))
    return make_error(errc::node_unavailable, "NUMA node " + std::to_string(node_id) + " is unavailable");
  if (hugepage_bytes && bytes % hugepage_bytes != 0)
    return make_error(errc::invalid_value, config::format_size(bytes) + " is not a whole number of " +
                                               config::format_size(hugepage_bytes) + " huge pages");
  if (!allow_overcommit) {
    if (hugepage_bytes) {
      std::uint64_t have = free_hugepages(node_id, hugepage_bytes, guest);
      std::uint64_t held = 0;
      if (auto h = it->second.hugepages_per_node.find({node_id, hugepage_bytes});
          h != it->second.hugepages_per_node.end())
        held = h->second;
      std::uint64_t left = have > held ? have - held : 0;
      if (bytes / hugepage_bytes > left)
        return make_error(errc::insufficient_hugepages,
                          "node " + std::to_string(node_id) + " has " + pages_text(left, hugepage_bytes) +
                              ", guest " + quoted(guest) + " needs " + std::to_string(bytes / hugepage_bytes) +
                              " more");
    } else {
      std::uint64_t have = free_memory(node_id);
      if (bytes > have)
        return make_error(errc::insufficient_memory, "node " + std::to_string(node_id) + " has " +
                                                         config::format_size(have) + " free, guest " + quoted(guest) +
                                                         " needs " + config::format_size(bytes) + " more");
    }
  }
  it->second.memory_per_node[node_id] += bytes;
  if (hugepage_bytes) it->second.hugepages_per_node[{node_id, hugepage_bytes}] += bytes / hugepage_bytes;
  return {};
}

result<void> ledger::remove_memory(std::string_view guest, unsigned node_id, std::uint64_t bytes,
                                   std::uint64_t hugepage_bytes) {
  auto it = guests_.find(guest);
  if (it == guests_.end()) return make_error(errc::not_found, "the ledger holds no guest " + quoted(guest));
  placement& p = it->second;
  auto mem = p.memory_per_node.find(node_id);
  std::uint64_t held = mem == p.memory_per_node.end() ? 0 : mem->second;
  if (bytes > held)
    return make_error(errc::invalid_value, "guest " + quoted(guest) + " holds " + config::format_size(held) +
                                               " on node " + std::to_string(node_id) + ", cannot release " +
                                               config::format_size(bytes));
  if (hugepage_bytes) {
    if (bytes % hugepage_bytes != 0)
      return make_error(errc::invalid_value, config::format_size(bytes) + " is not a whole number of " +
                                                 config::format_size(hugepage_bytes) + " huge pages");
    auto h = p.hugepages_per_node.find({node_id, hugepage_bytes});
    std::uint64_t pages = h == p.hugepages_per_node.end() ? 0 : h->second;
    if (bytes / hugepage_bytes > pages)
      return make_error(errc::invalid_value, "guest " + quoted(guest) + " holds " + std::to_string(pages) + " " +
                                                 config::format_size(hugepage_bytes) + " huge pages on node " +
                                                 std::to_string(node_id) + ", cannot release " +
                                                 std::to_string(bytes / hugepage_bytes));
    h->second -= bytes / hugepage_bytes;
    if (h->second == 0) p.hugepages_per_node.erase(h);
  }
  mem->second -= bytes;
  if (mem->second == 0) p.memory_per_node.erase(mem);
  return {};
}

result<void> ledger::set_vcpu_pins(std::string_view guest, std::vector<vcpu_placement> vcpus, id_set dedicated) {
  auto it = guests_.find(guest);
  if (it == guests_.end()) return make_error(errc::not_found, "the ledger holds no guest " + quoted(guest));
  if (auto ok = check_dedicated(guest, dedicated); !ok) return ok;
  for (unsigned cpu : it->second.dedicated_cpus) dedicated_.erase(cpu);
  for (unsigned cpu : dedicated) dedicated_[cpu] = it->first;
  it->second.vcpus = std::move(vcpus);
  it->second.dedicated_cpus = std::move(dedicated);
  return {};
}

result<void> ledger::set_emulator_cpus(std::string_view guest, id_set cpus) {
  auto it = guests_.find(guest);
  if (it == guests_.end()) return make_error(errc::not_found, "the ledger holds no guest " + quoted(guest));
  it->second.emulator_cpus = std::move(cpus);
  return {};
}

}  // namespace vnumad::vnuma
