#include "config/xml_util.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdio>
#include <limits>
#include <set>
#include <utility>

namespace vnumad::config::xml {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::string attr_path(std::string_view name) { return std::string(attr_key) + "." + std::string(name); }

}  // namespace

struct usage_scope::state {
  std::set<const ptree*> elements;
  std::set<std::pair<const ptree*, std::string>> attributes;
};

namespace {

// One parse runs on one thread from start to end (no co_await inside), so
// the current scope is per thread.
thread_local usage_scope::state* current = nullptr;

std::string shown_attrs(const ptree& node) {
  std::string out;
  if (auto a = node.get_child_optional(attr_key))
    for (const auto& [name, value] : *a) out += " " + name + "='" + value.data() + "'";
  return out;
}

bool is_namespace_declaration(const std::string& name) { return name == "xmlns" || name.rfind("xmlns:", 0) == 0; }

void collect_unused(const usage_scope::state& s, const ptree& node, const std::string& path,
                    std::vector<std::string>& out) {
  if (auto a = node.get_child_optional(attr_key))
    for (const auto& [name, value] : *a)
      if (!is_namespace_declaration(name) && !s.attributes.count({&node, name}))
        out.push_back(path.substr(0, path.size() - 1) + " " + name + "='" + value.data() +
                      "'>: attribute not supported, ignored");
  for (const auto& [key, child] : node) {
    if (is_meta(key)) continue;
    if (!s.elements.count(&child)) {
      out.push_back(path + "<" + key + shown_attrs(child) + ">: not supported, ignored");
      continue;
    }
    collect_unused(s, child, path + "<" + key + ">", out);
  }
}

}  // namespace

usage_scope::usage_scope() : state_(new state), outer_(current) { current = state_; }

usage_scope::~usage_scope() {
  current = outer_;
  delete state_;
}

std::vector<std::string> usage_scope::unused(const ptree& root, std::string_view root_name) const {
  std::vector<std::string> out;
  collect_unused(*state_, root, "<" + std::string(root_name) + ">", out);
  // The root's own name is implied: messages start at its children.
  const std::string prefix = "<" + std::string(root_name) + ">";
  for (auto& w : out)
    if (w.rfind(prefix + "<", 0) == 0) w.erase(0, prefix.size());
  return out;
}

void mark(const ptree& node) {
  if (current) current->elements.insert(&node);
}

void mark_attr(const ptree& node, std::string_view name) {
  if (!current) return;
  current->elements.insert(&node);
  current->attributes.insert({&node, std::string(name)});
}

void mark_tree(const ptree& node) {
  if (!current) return;
  current->elements.insert(&node);
  for (const auto& [key, child] : node) {
    if (key == attr_key)
      for (const auto& a : child) current->attributes.insert({&node, a.first});
    else if (!is_meta(key))
      mark_tree(child);
  }
}

std::optional<std::string> peek_attr(const ptree& node, std::string_view name) {
  auto v = node.get_optional<std::string>(ptree::path_type(attr_path(name), '.'));
  if (!v) return std::nullopt;
  return *v;
}

const ptree* find(const ptree& node, std::string_view child) {
  auto it = node.find(std::string(child));
  if (it == node.not_found()) return nullptr;
  mark(it->second);
  return &it->second;
}

bool is_meta(const std::string& key) { return !key.empty() && key.front() == '<'; }

std::optional<std::string> attr(const ptree& node, std::string_view name) {
  mark_attr(node, name);
  return peek_attr(node, name);
}

std::string text(const ptree& node) {
  mark(node);
  return std::string(trim(node.data()));
}

std::size_t count(const ptree& node, std::string_view child) {
  auto range = node.equal_range(std::string(child));
  std::size_t n = 0;
  for (auto it = range.first; it != range.second; ++it, ++n) mark(it->second);
  return n;
}

result<const ptree*> single_child(const ptree& node, std::string_view child, std::string_view where) {
  auto range = node.equal_range(std::string(child));
  if (range.first == range.second) return static_cast<const ptree*>(nullptr);
  mark(range.first->second);
  auto second = range.first;
  if (++second != range.second)
    return make_error(errc::duplicate_element, "<" + std::string(child) + "> appears more than once in " +
                                                   std::string(where) + " (at most one is allowed)");
  return &range.first->second;
}

result<std::uint64_t> parse_u64(std::string_view raw, std::string_view what) {
  std::string_view t = trim(raw);
  int base = 10;
  if (t.size() > 2 && t[0] == '0' && (t[1] == 'x' || t[1] == 'X')) {
    base = 16;
    t.remove_prefix(2);
  }
  auto is_digit = [base](char c) {
    return (c >= '0' && c <= '9') || (base == 16 && std::isxdigit(static_cast<unsigned char>(c)));
  };
  if (t.empty() || !std::all_of(t.begin(), t.end(), is_digit))
    return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(raw) +
                                               "' is not a non-negative whole number");
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), n, base);
  if (ec != std::errc() || ptr != t.data() + t.size())
    return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(raw) + "' is too large");
  return n;
}

result<unsigned> parse_uint(std::string_view raw, std::string_view what) {
  VNUMAD_TRY(n, parse_u64(raw, what));
  if (n > std::numeric_limits<unsigned>::max())
    return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(raw) + "' is too large (at most " +
                                               std::to_string(std::numeric_limits<unsigned>::max()) + ")");
  return static_cast<unsigned>(n);
}

result<std::optional<unsigned>> uint_attr(const ptree& node, std::string_view elem, std::string_view name) {
  auto v = attr(node, name);
  if (!v) return std::optional<unsigned>{};
  VNUMAD_TRY(n, parse_uint(*v, show_attr(elem, name, *v)));
  return std::optional<unsigned>{n};
}

result<bool> parse_bool(std::string_view raw, std::string_view what) {
  std::string_view t = trim(raw);
  if (t == "yes" || t == "on") return true;
  if (t == "no" || t == "off") return false;
  return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(raw) + "' is not valid (valid: yes, no)");
}

std::string show_attr(std::string_view elem, std::string_view name, std::string_view value) {
  return "<" + std::string(elem) + " " + std::string(name) + "='" + std::string(value) + "'>";
}

std::string attr_name(std::string_view elem, std::string_view name) {
  return "<" + std::string(elem) + " " + std::string(name) + ">";
}

result<std::string> one_of(std::string_view value, std::string_view valid, std::string_view what) {
  std::size_t pos = 0;
  while (pos <= valid.size()) {
    std::size_t bar = valid.find('|', pos);
    if (bar == std::string_view::npos) bar = valid.size();
    if (valid.substr(pos, bar - pos) == value) return std::string(value);
    pos = bar + 1;
  }
  std::string list(valid);
  std::replace(list.begin(), list.end(), '|', ',');
  std::string pretty;
  for (char c : list) pretty += c == ',' ? std::string(", ") : std::string(1, c);
  return make_error(errc::invalid_value,
                    std::string(what) + ": '" + std::string(value) + "' is not valid (valid: " + pretty + ")");
}

void set_attr(ptree& node, std::string_view name, std::string_view value) {
  auto it = node.find(attr_key);
  if (it == node.not_found()) {
    node.push_front({attr_key, ptree()});
    it = node.find(attr_key);
  }
  ptree& attrs = node.to_iterator(it)->second;
  auto a = attrs.find(std::string(name));
  if (a != attrs.not_found())
    attrs.to_iterator(a)->second.data() = std::string(value);
  else
    attrs.push_back({std::string(name), ptree(std::string(value))});
}

void erase_attr(ptree& node, std::string_view name) {
  auto it = node.find(attr_key);
  if (it == node.not_found()) return;
  ptree& attrs = node.to_iterator(it)->second;
  attrs.erase(std::string(name));
  if (attrs.empty()) node.erase(attr_key);
}

ptree& child(ptree& node, std::string_view name) {
  auto it = node.find(std::string(name));
  if (it != node.not_found()) return node.to_iterator(it)->second;
  return node.push_back({std::string(name), ptree()})->second;
}

void erase_children(ptree& node, std::string_view name) { node.erase(std::string(name)); }

void set_flag(ptree& node, std::string_view name, bool present) {
  if (!present) {
    erase_children(node, name);
    return;
  }
  ptree& c = child(node, name);
  c.clear();  // <locked/> and friends are empty by definition
  c.data().clear();
}

std::string scaled_value(std::uint64_t bytes, std::string& unit) {
  if (bytes % 1024 == 0) {
    unit = "KiB";
    return std::to_string(bytes / 1024);
  }
  unit = "b";
  return std::to_string(bytes);
}

void set_scaled_child(ptree& node, std::string_view name, std::uint64_t bytes) {
  ptree& c = child(node, name);
  std::string unit;
  c.data() = scaled_value(bytes, unit);
  set_attr(c, "unit", unit);
}

std::string hex(unsigned value, int width) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%0*x", width, value);
  return buf;
}

std::string hex64(std::uint64_t value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(value));
  return buf;
}

}  // namespace vnumad::config::xml
