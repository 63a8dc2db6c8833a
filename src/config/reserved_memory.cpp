#include "config/reserved_memory.hpp"

#include "config/xml_util.hpp"

#include <sstream>
#include <vector>

namespace vnumad::config {

namespace {

result<std::uint64_t> parse_reserve_size(const std::string& text, std::string_view what) {
  if (text == "none") return std::uint64_t{0};
  auto size = parse_size_with_unit(text, what);
  if (!size)
    return make_error(errc::invalid_value, size.error().message + " (reserved_memory takes sizes such as 1GiB, 512MiB, 0)");
  return *size;
}

// format_size's "1 GiB" has a blank, the separator here: "1GiB" instead.
std::string compact_size(std::uint64_t bytes) {
  std::string text = format_size(bytes);
  if (auto blank = text.find(' '); blank != std::string::npos) text.erase(blank, 1);
  return text;
}

}  // namespace

result<reserved_memory_setting> parse_reserved_memory(std::string_view text, std::string_view what) {
  const std::string where(what);
  std::istringstream in{std::string(text)};
  std::vector<std::string> items;
  for (std::string item; in >> item;) items.push_back(item);
  if (items.empty())
    return make_error(errc::invalid_value, where + ": empty (give a size such as 1GiB, optionally NODES=SIZE items)");
  reserved_memory_setting setting;
  bool every_node_given = false;
  for (const auto& item : items) {
    const auto eq = item.find('=');
    if (eq == std::string::npos) {
      if (every_node_given)
        return make_error(errc::invalid_value, where + ": two sizes for every node ('" + item +
                                                   "'); per-node sizes are written NODES=SIZE, e.g. 0=2GiB");
      VNUMAD_TRY(size, parse_reserve_size(item, where));
      setting.every_node = size;
      every_node_given = true;
      continue;
    }
    auto nodes = parse_id_set(item.substr(0, eq), where + " (node set before '=')");
    if (!nodes) return make_error(errc::invalid_value, nodes.error().message);
    if (nodes->empty()) return make_error(errc::invalid_value, where + ": '" + item + "' names no node");
    VNUMAD_TRY(size, parse_reserve_size(item.substr(eq + 1), where));
    for (unsigned node : *nodes) {
      if (setting.per_node.contains(node))
        return make_error(errc::invalid_value, where + ": node " + std::to_string(node) + " is given twice");
      setting.per_node[node] = size;
    }
  }
  return setting;
}

std::string format_reserved_memory(const reserved_memory_setting& setting) {
  std::string text = compact_size(setting.every_node);
  for (const auto& [node, bytes] : setting.per_node) text += " " + std::to_string(node) + "=" + compact_size(bytes);
  return text;
}

}  // namespace vnumad::config
