#include "vnuma/placement.hpp"

#include <boost/json.hpp>

namespace vnumad::vnuma {

namespace json = boost::json;

std::uint64_t placement::normal_memory_on(unsigned node) const {
  auto it = memory_per_node.find(node);
  std::uint64_t total = it == memory_per_node.end() ? 0 : it->second;
  std::uint64_t huge = 0;
  for (const auto& [key, pages] : hugepages_per_node)
    if (key.first == node) huge += pages * key.second;
  return total > huge ? total - huge : 0;
}

std::uint64_t placement::total_memory() const {
  std::uint64_t total = 0;
  for (const auto& [node, bytes] : memory_per_node) total += bytes;
  return total;
}

json::value to_json(const placement& p) {
  json::object o;
  o["guest"] = p.guest;
  json::array cells;
  for (const auto& c : p.cells)
    cells.push_back(json::object{{"cell", c.cell},
                                 {"host_node", c.host_node},
                                 {"vcpus", config::format_id_set(c.vcpus)},
                                 {"memory_bytes", c.memory_bytes},
                                 {"hugepage_bytes", c.hugepage_bytes}});
  o["cells"] = std::move(cells);
  json::array vcpus;
  for (const auto& v : p.vcpus)
    vcpus.push_back(
        json::object{{"vcpu", v.vcpu}, {"cell", v.cell}, {"host_cpus", config::format_id_set(v.host_cpus)}});
  o["vcpus"] = std::move(vcpus);
  o["emulator_cpus"] = config::format_id_set(p.emulator_cpus);
  o["dedicated_cpus"] = config::format_id_set(p.dedicated_cpus);
  json::array memory;
  for (const auto& [node, bytes] : p.memory_per_node) memory.push_back(json::object{{"node", node}, {"bytes", bytes}});
  o["memory_per_node"] = std::move(memory);
  json::array huge;
  for (const auto& [key, pages] : p.hugepages_per_node)
    huge.push_back(json::object{{"node", key.first}, {"page_bytes", key.second}, {"pages", pages}});
  o["hugepages_per_node"] = std::move(huge);
  json::array warnings;
  for (const auto& w : p.warnings) warnings.push_back(json::string(w));
  o["warnings"] = std::move(warnings);
  return o;
}

namespace {

// Small readers that name the JSON path of a bad value in their error.
error bad(std::string_view path, std::string_view want) {
  return make_error(errc::invalid_value, "placement JSON: " + std::string(path) + " must be " + std::string(want));
}

result<std::uint64_t> get_u64(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  std::string where = path + "." + std::string(key);
  if (!v) return bad(where, "present");
  if (v->is_uint64()) return v->get_uint64();
  if (v->is_int64() && v->get_int64() >= 0) return static_cast<std::uint64_t>(v->get_int64());
  return bad(where, "a non-negative integer");
}

result<unsigned> get_uint(const json::object& o, std::string_view key, const std::string& path) {
  auto v = get_u64(o, key, path);
  if (!v) return v.error();
  if (*v > config::max_set_id) return bad(path + "." + std::string(key), "at most " + std::to_string(config::max_set_id));
  return static_cast<unsigned>(*v);
}

result<id_set> get_set(const json::object& o, std::string_view key, const std::string& path) {
  const json::value* v = o.if_contains(key);
  std::string where = path + "." + std::string(key);
  if (!v || !v->is_string()) return bad(where, "a cpuset string (\"\" for none)");
  const auto& s = v->get_string();
  if (s.empty()) return id_set{};
  auto parsed = config::parse_id_set(std::string_view(s.data(), s.size()), where);
  if (!parsed) return bad(where, "a cpuset string: " + parsed.error().message);
  return *parsed;
}

result<const json::array*> get_array(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  if (!v || !v->is_array()) return bad(key, "an array");
  return &v->get_array();
}

}  // namespace

result<placement> placement_from_json(const json::value& v) {
  if (!v.is_object()) return bad("the document", "an object");
  const auto& o = v.get_object();
  placement p;
  const json::value* guest = o.if_contains("guest");
  if (!guest || !guest->is_string() || guest->get_string().empty()) return bad("guest", "a non-empty string");
  p.guest = std::string(guest->get_string());

  auto cells = get_array(o, "cells");
  if (!cells) return cells.error();
  for (std::size_t i = 0; i < (*cells)->size(); ++i) {
    std::string path = "cells[" + std::to_string(i) + "]";
    const auto& e = (**cells)[i];
    if (!e.is_object()) return bad(path, "an object");
    const auto& c = e.get_object();
    auto id = get_uint(c, "cell", path);
    auto node = get_uint(c, "host_node", path);
    auto vcpus = get_set(c, "vcpus", path);
    auto bytes = get_u64(c, "memory_bytes", path);
    auto page = get_u64(c, "hugepage_bytes", path);
    if (!id) return id.error();
    if (!node) return node.error();
    if (!vcpus) return vcpus.error();
    if (!bytes) return bytes.error();
    if (!page) return page.error();
    p.cells.push_back(cell_placement{*id, *node, std::move(*vcpus), *bytes, *page});
  }

  auto vcpus = get_array(o, "vcpus");
  if (!vcpus) return vcpus.error();
  for (std::size_t i = 0; i < (*vcpus)->size(); ++i) {
    std::string path = "vcpus[" + std::to_string(i) + "]";
    const auto& e = (**vcpus)[i];
    if (!e.is_object()) return bad(path, "an object");
    const auto& c = e.get_object();
    auto id = get_uint(c, "vcpu", path);
    auto cell = get_uint(c, "cell", path);
    auto cpus = get_set(c, "host_cpus", path);
    if (!id) return id.error();
    if (!cell) return cell.error();
    if (!cpus) return cpus.error();
    p.vcpus.push_back(vcpu_placement{*id, *cell, std::move(*cpus)});
  }

  auto emulator = get_set(o, "emulator_cpus", "");
  if (!emulator) return emulator.error();
  p.emulator_cpus = std::move(*emulator);
  auto dedicated = get_set(o, "dedicated_cpus", "");
  if (!dedicated) return dedicated.error();
  p.dedicated_cpus = std::move(*dedicated);

  auto memory = get_array(o, "memory_per_node");
  if (!memory) return memory.error();
  for (std::size_t i = 0; i < (*memory)->size(); ++i) {
    std::string path = "memory_per_node[" + std::to_string(i) + "]";
    const auto& e = (**memory)[i];
    if (!e.is_object()) return bad(path, "an object");
    auto node = get_uint(e.get_object(), "node", path);
    auto bytes = get_u64(e.get_object(), "bytes", path);
    if (!node) return node.error();
    if (!bytes) return bytes.error();
    p.memory_per_node[*node] += *bytes;
  }

  auto huge = get_array(o, "hugepages_per_node");
  if (!huge) return huge.error();
  for (std::size_t i = 0; i < (*huge)->size(); ++i) {
    std::string path = "hugepages_per_node[" + std::to_string(i) + "]";
    const auto& e = (**huge)[i];
    if (!e.is_object()) return bad(path, "an object");
    auto node = get_uint(e.get_object(), "node", path);
    auto size = get_u64(e.get_object(), "page_bytes", path);
    auto pages = get_u64(e.get_object(), "pages", path);
    if (!node) return node.error();
    if (!size) return size.error();
    if (!pages) return pages.error();
    if (*size == 0) return bad(path + ".page_bytes", "a page size above 0");
    p.hugepages_per_node[{*node, *size}] += *pages;
  }

  if (const json::value* w = o.if_contains("warnings")) {
    if (!w->is_array()) return bad("warnings", "an array of strings");
    for (const auto& s : w->get_array()) {
      if (!s.is_string()) return bad("warnings", "an array of strings");
      p.warnings.emplace_back(s.get_string());
    }
  }
  return p;
}

id_set guest_memory_nodes(const placement& p) {
  id_set nodes;
  for (const auto& cell : p.cells) nodes.insert(cell.host_node);
  return nodes;
}

thread_pin vcpu_pin(const placement& p, unsigned vcpu, const id_set& all_host_cpus) {
  thread_pin pin{all_host_cpus, guest_memory_nodes(p)};
  if (vcpu < p.vcpus.size() && !p.vcpus[vcpu].host_cpus.empty()) pin.cpus = p.vcpus[vcpu].host_cpus;
  return pin;
}

thread_pin emulator_pin(const placement& p, const id_set& all_host_cpus) {
  return {p.emulator_cpus.empty() ? all_host_cpus : p.emulator_cpus, guest_memory_nodes(p)};
}

thread_pin iothread_pin(const placement& p, const std::optional<id_set>& iothreadpin, const id_set& all_host_cpus) {
  if (iothreadpin) return {*iothreadpin, guest_memory_nodes(p)};
  return emulator_pin(p, all_host_cpus);
}

}  // namespace vnumad::vnuma
