// The Prometheus text exposition format, version 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/): families of
// samples written as `# HELP`, `# TYPE` and one line per series. Pure: no I/O.
//
// What the format demands and format_exposition() checks rather than trusts:
// metric and label names of the allowed characters, one HELP and TYPE per
// family (a name used by two families is refused), no two series of a family
// with the same labels, and label values and help text escaped. Series are
// written sorted by their labels, so that a scrape reads the same way twice.
#pragma once

#include "util/error.hpp"

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vnumad::metrics {

enum class metric_type { counter, gauge };
std::string_view to_string(metric_type t);

using label_set = std::vector<std::pair<std::string, std::string>>;

struct sample {
  label_set labels;  // in the order they are written; names unique
  double value = 0;
};

struct family {
  std::string name;  // counters end in _total
  std::string help;
  metric_type type = metric_type::gauge;
  std::vector<sample> samples;  // a family without samples writes only HELP and TYPE
};

// The exposition, or an error naming the family, series and rule broken.
result<std::string> format_exposition(const std::vector<family>& families);

// Escaping as the format wants it: label values escape backslash, double
// quote and newline; help text backslash and newline.
std::string escape_label_value(std::string_view value);
std::string escape_help(std::string_view text);

// A sample value: integers (bytes, counts) in full digits, others in the
// shortest form that reads back the same; NaN, +Inf, -Inf as spelled there.
std::string format_value(double value);

bool valid_metric_name(std::string_view name);  // [a-zA-Z_:][a-zA-Z0-9_:]*
bool valid_label_name(std::string_view name);   // [a-zA-Z_][a-zA-Z0-9_]*, not __-prefixed

// The Content-Type of a scrape answer.
inline constexpr std::string_view content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace vnumad::metrics
