#include "config/units.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <limits>

namespace vnumad::config {
namespace {

struct unit_scale {
  std::string_view name;
  std::uint64_t bytes;
};

constexpr std::uint64_t k10 = 1000;
constexpr std::array<unit_scale, 21> units{{
    {"b", 1},          {"bytes", 1},
    {"k", 1ull << 10}, {"kib", 1ull << 10}, {"kb", k10},
    {"m", 1ull << 20}, {"mib", 1ull << 20}, {"mb", k10 * k10},
    {"g", 1ull << 30}, {"gib", 1ull << 30}, {"gb", k10 * k10 * k10},
    {"t", 1ull << 40}, {"tib", 1ull << 40}, {"tb", k10 * k10 * k10 * k10},
    {"p", 1ull << 50}, {"pib", 1ull << 50}, {"pb", k10 * k10 * k10 * k10 * k10},
    {"e", 1ull << 60}, {"eib", 1ull << 60}, {"eb", k10 * k10 * k10 * k10 * k10 * k10},
    {"", 1ull << 10},
}};

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

}  // namespace

result<std::uint64_t> parse_memory_size(std::string_view value, std::string_view unit, std::string_view what) {
  std::string_view v = trim(value);
  bool digits = !v.empty() && std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
  if (!digits)
    return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(value) +
                                               "' is not a non-negative whole number");
  std::uint64_t n = 0;
  auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc() || ptr != v.data() + v.size())
    return make_error(errc::invalid_value, std::string(what) + ": '" + std::string(value) + "' is too large");
  std::string u = lower(trim(unit));
  auto it = std::find_if(units.begin(), units.end(), [&](const unit_scale& s) { return s.name == u; });
  if (it == units.end())
    return make_error(errc::invalid_unit, std::string(what) + ": unknown unit '" + std::string(unit) +
                                              "' (valid: b, bytes, KB, k, KiB, MB, M, MiB, GB, G, GiB, "
                                              "TB, T, TiB, PB, P, PiB, EB, E, EiB; case-insensitive)");
  if (n > std::numeric_limits<std::uint64_t>::max() / it->bytes)
    return make_error(errc::invalid_value,
                      std::string(what) + ": " + std::string(value) + " " + std::string(unit) + " overflows 64 bits");
  return n * it->bytes;
}

result<std::uint64_t> parse_size_with_unit(std::string_view text, std::string_view what) {
  std::string_view t = trim(text);
  std::size_t split = 0;
  while (split < t.size() && t[split] >= '0' && t[split] <= '9') ++split;
  return parse_memory_size(t.substr(0, split), t.substr(split), what);
}

std::string format_size(std::uint64_t bytes) {
  if (bytes != 0 && bytes % GiB == 0) return std::to_string(bytes / GiB) + " GiB";
  if (bytes != 0 && bytes % MiB == 0) return std::to_string(bytes / MiB) + " MiB";
  if (bytes != 0 && bytes % KiB == 0) return std::to_string(bytes / KiB) + " KiB";
  return std::to_string(bytes) + " B";
}

}  // namespace vnumad::config
