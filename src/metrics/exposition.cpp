#include "metrics/exposition.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <set>

namespace vnumad::metrics {

namespace {

bool name_char(char c, bool first, bool colon) {
  const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':');
  return alpha || (!first && c >= '0' && c <= '9');
}

bool valid_name(std::string_view name, bool colon) {
  if (name.empty()) return false;
  for (std::size_t i = 0; i < name.size(); ++i)
    if (!name_char(name[i], i == 0, colon)) return false;
  return true;
}

std::string series_text(const family& f, const sample& s) {
  std::string out = f.name;
  if (!s.labels.empty()) {
    out += '{';
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
      if (i > 0) out += ',';
      out += s.labels[i].first + "=\"" + escape_label_value(s.labels[i].second) + '"';
    }
    out += '}';
  }
  return out;
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() < 19 && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// Label values compared as numbers where both are (node "2" before "10"),
// else as text.
bool value_less(const std::string& a, const std::string& b) {
  if (all_digits(a) && all_digits(b) && a.size() != b.size()) return a.size() < b.size();
  return a < b;
}

bool labels_less(const label_set& a, const label_set& b) {
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (a[i].first != b[i].first) return a[i].first < b[i].first;
    if (a[i].second != b[i].second) return value_less(a[i].second, b[i].second);
  }
  return a.size() < b.size();
}

result<void> check_labels(const family& f, const sample& s) {
  std::set<std::string_view> seen;
  for (const auto& [name, value] : s.labels) {
    if (!valid_label_name(name))
      return make_error(errc::invalid_value, "metric " + f.name + ": '" + name + "' is not a valid label name");
    if (!seen.insert(name).second)
      return make_error(errc::invalid_value, "metric " + f.name + ": label '" + name + "' given twice");
  }
  return {};
}

}  // namespace

std::string_view to_string(metric_type t) {
  switch (t) {
    case metric_type::counter: return "counter";
    case metric_type::gauge: return "gauge";
  }
  return "untyped";
}

bool valid_metric_name(std::string_view name) { return valid_name(name, true); }

bool valid_label_name(std::string_view name) { return valid_name(name, false) && name.substr(0, 2) != "__"; }

namespace {

// Backslash and newline always; the double quote only inside label values.
std::string escape(std::string_view text, bool quote) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '\\') out += "\\\\";
    else if (c == '\n') out += "\\n";
    else if (c == '"' && quote) out += "\\\"";
    else out += c;
  }
  return out;
}

}  // namespace

std::string escape_label_value(std::string_view value) { return escape(value, true); }

std::string escape_help(std::string_view text) { return escape(text, false); }

std::string format_value(double value) {
  if (std::isnan(value)) return "NaN";
  if (std::isinf(value)) return value > 0 ? "+Inf" : "-Inf";
  // Exactly representable integers in full: a byte count reads as one.
  if (value == std::trunc(value) && std::fabs(value) < 9007199254740992.0)
    return std::to_string(static_cast<std::int64_t>(value));
  char buf[64];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, end);
}

result<std::string> format_exposition(const std::vector<family>& families) {
  std::string out;
  std::set<std::string_view> names;
  for (const auto& f : families) {
    if (!valid_metric_name(f.name))
      return make_error(errc::invalid_value, "'" + f.name + "' is not a valid metric name");
    if (!names.insert(f.name).second)
      return make_error(errc::already_exists, "metric " + f.name + ": two families of that name");
    // A series is its set of labels, whatever their order.
    std::set<label_set> seen;
    std::vector<const sample*> series;
    for (const auto& s : f.samples) {
      if (auto ok = check_labels(f, s); !ok) return ok.error();
      label_set key = s.labels;
      std::sort(key.begin(), key.end());
      if (!seen.insert(std::move(key)).second)
        return make_error(errc::already_exists, "metric " + f.name + ": series " + series_text(f, s) + " given twice");
      series.push_back(&s);
    }
    std::stable_sort(series.begin(), series.end(),
                     [](const sample* a, const sample* b) { return labels_less(a->labels, b->labels); });
    out += "# HELP " + f.name + " " + escape_help(f.help) + "\n";
    out += "# TYPE " + f.name + " " + std::string(to_string(f.type)) + "\n";
    for (const sample* s : series) out += series_text(f, *s) + " " + format_value(s->value) + "\n";
  }
  return out;
}

}  // namespace vnumad::metrics
