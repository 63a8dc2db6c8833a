// A strict reader of the Prometheus text exposition format 0.0.4
// (https://prometheus.io/docs/instrumenting/exposition_formats/), written
// from the format's description, not from vnumad's writer, so that the tests
// check the writer against the format. It refuses what Prometheus refuses
// (bad names, bad escapes, a TYPE after its samples, a family in two
// groups, a series twice, a value that is no float) and what promtool's
// lint warns of (a family without HELP or TYPE, a counter not named
// *_total, a negative counter). No Boost.Test here.
#pragma once

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::testing {

struct prom_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct prom_family {
  std::string help;
  std::string type;
  bool has_help = false;
  std::vector<prom_sample> samples;
};

struct prom_parse {
  std::map<std::string, prom_family> families;
  std::vector<std::string> order;  // family names as they appear
  std::string error;               // empty: the text is valid

  bool ok() const { return error.empty(); }
  // The one sample of `name` with exactly these labels.
  std::optional<double> value(const std::string& name, const std::map<std::string, std::string>& labels = {}) const {
    auto f = families.find(name);
    if (f == families.end()) return std::nullopt;
    for (const auto& s : f->second.samples)
      if (s.labels == labels) return s.value;
    return std::nullopt;
  }
  // Every sample of `name` whose labels include `subset`.
  std::vector<prom_sample> select(const std::string& name, const std::map<std::string, std::string>& subset = {}) const {
    std::vector<prom_sample> out;
    auto f = families.find(name);
    if (f == families.end()) return out;
    for (const auto& s : f->second.samples) {
      bool match = true;
      for (const auto& [k, v] : subset) match = match && s.labels.count(k) && s.labels.at(k) == v;
      if (match) out.push_back(s);
    }
    return out;
  }
};

namespace prom_detail {

inline bool name_char(char c, bool first, bool colon) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (colon && c == ':')) return true;
  return !first && c >= '0' && c <= '9';
}

// Reads a name at `pos`; empty when there is none.
inline std::string read_name(std::string_view line, std::size_t& pos, bool colon) {
  std::size_t start = pos;
  while (pos < line.size() && name_char(line[pos], pos == start, colon)) ++pos;
  return std::string(line.substr(start, pos - start));
}

inline bool parse_float(std::string_view text, double& out) {
  if (text == "NaN" || text == "Nan" || text == "nan") return out = NAN, true;
  if (text == "+Inf" || text == "Inf" || text == "+inf" || text == "inf") return out = INFINITY, true;
  if (text == "-Inf" || text == "-inf") return out = -INFINITY, true;
  if (text.empty()) return false;
  for (char c : text)
    if (!((c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-')) return false;
  std::string s(text);
  char* end = nullptr;
  out = std::strtod(s.c_str(), &end);
  return end == s.c_str() + s.size();
}

// The family a sample belongs to: histogram and summary samples carry
// suffixes; everything else is its own name.
inline std::string family_of(const std::string& sample, const std::map<std::string, prom_family>& families) {
  for (std::string_view suffix : {"_bucket", "_sum", "_count"}) {
    if (sample.size() > suffix.size() && sample.compare(sample.size() - suffix.size(), suffix.size(), suffix) == 0) {
      std::string base = sample.substr(0, sample.size() - suffix.size());
      auto f = families.find(base);
      if (f != families.end() && (f->second.type == "histogram" || f->second.type == "summary")) return base;
    }
  }
  return sample;
}

}  // namespace prom_detail

inline prom_parse parse_prometheus_text(std::string_view text) {
  using namespace prom_detail;
  prom_parse r;
  std::set<std::string> closed;  // families whose group has ended
  std::set<std::pair<std::string, std::map<std::string, std::string>>> series;
  std::string current;  // family of the group being read
  if (!text.empty() && text.back() != '\n') return r.error = "the text does not end with a newline", r;
  auto enter = [&](const std::string& fam, std::size_t lineno) -> bool {
    if (fam == current) return true;
    if (!current.empty()) closed.insert(current);
    if (closed.count(fam)) {
      r.error = "line " + std::to_string(lineno) + ": family " + fam + " appears in two groups";
      return false;
    }
    current = fam;
    if (!r.families.count(fam)) r.order.push_back(fam);
    r.families[fam];
    return true;
  };
  std::size_t lineno = 0;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t end = text.find('\n', start);
    std::string_view line = text.substr(start, end - start);
    start = end + 1;
    ++lineno;
    const std::string at = "line " + std::to_string(lineno) + " (" + std::string(line) + "): ";
    if (line.empty()) continue;
    if (line[0] == '#') {
      // "# HELP name text", "# TYPE name type"; any other comment is free.
      if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
        const bool help = line[2] == 'H';
        std::size_t pos = 7;
        std::string name = read_name(line, pos, true);
        if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return r.error = at + "no metric name", r;
        if (!enter(name, lineno)) return r;
        prom_family& f = r.families[name];
        std::string rest = pos < line.size() ? std::string(line.substr(pos + 1)) : "";
        if (pos < line.size() && line[pos] != ' ') return r.error = at + "no space after the name", r;
        if (help) {
          if (f.has_help) return r.error = at + "a second HELP for " + name, r;
          std::string unescaped;
          for (std::size_t i = 0; i < rest.size(); ++i) {
            if (rest[i] != '\\') {
              unescaped += rest[i];
              continue;
            }
            if (i + 1 >= rest.size() || (rest[i + 1] != '\\' && rest[i + 1] != 'n'))
              return r.error = at + "a bad escape in HELP", r;
            unescaped += rest[++i] == 'n' ? '\n' : '\\';
          }
          f.help = unescaped;
          f.has_help = true;
        } else {
          if (!f.type.empty()) return r.error = at + "a second TYPE for " + name, r;
          if (!f.samples.empty()) return r.error = at + "TYPE after samples of " + name, r;
          if (rest != "counter" && rest != "gauge" && rest != "histogram" && rest != "summary" && rest != "untyped")
            return r.error = at + "unknown type '" + rest + "'", r;
          f.type = rest;
        }
      }
      continue;
    }
    std::size_t pos = 0;
    prom_sample s;
    s.name = read_name(line, pos, true);
    if (s.name.empty()) return r.error = at + "no metric name", r;
    if (pos < line.size() && line[pos] == '{') {
      ++pos;
      while (true) {
        if (pos < line.size() && line[pos] == '}') {
          ++pos;
          break;
        }
        std::string label = read_name(line, pos, false);
        if (label.empty()) return r.error = at + "no label name", r;
        if (label.rfind("__", 0) == 0) return r.error = at + "reserved label name " + label, r;
        if (pos + 1 >= line.size() || line[pos] != '=' || line[pos + 1] != '"')
          return r.error = at + "no =\" after label " + label, r;
        pos += 2;
        std::string value;
        bool closed_quote = false;
        while (pos < line.size()) {
          char c = line[pos++];
          if (c == '"') {
            closed_quote = true;
            break;
          }
          if (c == '\\') {
            if (pos >= line.size()) break;
            char e = line[pos++];
            if (e == '\\') value += '\\';
            else if (e == '"') value += '"';
            else if (e == 'n') value += '\n';
            else return r.error = at + "a bad escape \\" + std::string(1, e) + " in label " + label, r;
          } else {
            value += c;
          }
        }
        if (!closed_quote) return r.error = at + "unterminated value of label " + label, r;
        if (!s.labels.emplace(label, value).second) return r.error = at + "label " + label + " twice", r;
        if (pos < line.size() && line[pos] == ',') {
          ++pos;
          continue;
        }
        if (pos < line.size() && line[pos] == '}') {
          ++pos;
          break;
        }
        return r.error = at + "expected , or } after label " + label, r;
      }
    }
    if (pos >= line.size() || line[pos] != ' ') return r.error = at + "no space before the value", r;
    std::string_view rest = line.substr(pos + 1);
    std::string_view value = rest.substr(0, rest.find(' '));
    if (!parse_float(value, s.value)) return r.error = at + "'" + std::string(value) + "' is not a float", r;
    if (value.size() < rest.size()) {
      std::string_view ts = rest.substr(value.size() + 1);
      if (ts.empty() || ts.find_first_not_of("-0123456789") != std::string_view::npos)
        return r.error = at + "bad timestamp", r;
    }
    const std::string fam = family_of(s.name, r.families);
    if (!enter(fam, lineno)) return r;
    if (!series.emplace(s.name, s.labels).second) return r.error = at + "the series appears twice", r;
    r.families[fam].samples.push_back(std::move(s));
  }
  // promtool check metrics' lint.
  for (const auto& [name, f] : r.families) {
    if (!f.has_help) return r.error = name + ": no HELP", r;
    if (f.type.empty()) return r.error = name + ": no TYPE", r;
    const bool total = name.size() > 6 && name.compare(name.size() - 6, 6, "_total") == 0;
    if (f.type != "counter" && total) return r.error = name + ": a " + f.type + " named *_total", r;
    if (f.type == "counter") {
      if (name.size() < 6 || name.compare(name.size() - 6, 6, "_total") != 0)
        return r.error = name + ": a counter not named *_total", r;
      for (const auto& s : f.samples)
        if (s.value < 0 || std::isnan(s.value)) return r.error = name + ": a counter below 0", r;
    }
  }
  return r;
}

}  // namespace vnumad::testing
