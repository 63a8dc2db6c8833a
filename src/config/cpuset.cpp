#include "config/cpuset.hpp"

#include <charconv>
#include <vector>

namespace vnumad::config {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

error bad(std::string_view what, std::string_view text, std::string_view why) {
  return make_error(errc::invalid_cpuset,
                    std::string(what) + " '" + std::string(text) + "': " + std::string(why) +
                        " (expected libvirt syntax such as '0-3,8,^2')");
}

bool parse_id(std::string_view s, unsigned& out) {
  s = trim(s);
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size();
}

}  // namespace

result<id_set> parse_id_set(std::string_view text, std::string_view what) {
  id_set included;
  id_set excluded;
  if (trim(text).empty()) return bad(what, text, "empty set");
  std::size_t pos = 0;
  while (pos <= text.size()) {
    std::size_t comma = text.find(',', pos);
    if (comma == std::string_view::npos) comma = text.size();
    std::string_view item = trim(text.substr(pos, comma - pos));
    pos = comma + 1;
    if (item.empty()) return bad(what, text, "empty item between commas");
    bool exclude = item.front() == '^';
    if (exclude) item.remove_prefix(1);
    if (exclude && trim(item).empty()) return bad(what, text, "'^' must be followed by an id to exclude");
    unsigned first = 0;
    unsigned last = 0;
    std::size_t dash = item.find('-');
    if (dash == std::string_view::npos) {
      if (!parse_id(item, first)) return bad(what, text, "'" + std::string(item) + "' is not a non-negative number");
      last = first;
    } else {
      if (exclude) return bad(what, text, "an exclusion takes a single id, not a range");
      if (!parse_id(item.substr(0, dash), first) || !parse_id(item.substr(dash + 1), last))
        return bad(what, text, "'" + std::string(item) + "' is not a range of non-negative numbers");
      if (first > last) return bad(what, text, "range '" + std::string(item) + "' runs backwards");
    }
    if (last > max_set_id)
      return bad(what, text, "id " + std::to_string(last) + " is above the limit " + std::to_string(max_set_id));
    for (unsigned id = first; id <= last; ++id) (exclude ? excluded : included).insert(id);
    if (comma == text.size()) break;
  }
  for (unsigned id : excluded) included.erase(id);
  if (included.empty()) return bad(what, text, "the set is empty after exclusions");
  return included;
}

std::string format_id_ranges(const id_set& ids, std::string_view separator) {
  std::string out;
  auto it = ids.begin();
  while (it != ids.end()) {
    unsigned first = *it;
    unsigned last = first;
    for (++it; it != ids.end() && *it == last + 1; ++it) last = *it;
    if (!out.empty()) out += separator;
    out += std::to_string(first);
    if (last != first) out += "-" + std::to_string(last);
  }
  return out;
}

std::string format_id_set(const id_set& ids) { return format_id_ranges(ids, ","); }

}  // namespace vnumad::config
