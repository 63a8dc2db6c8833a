// Test helper: reads libvirt's expected command lines (.args files, and the
// one-option-per-line seed file) and compares the NUMA-relevant options of two
// argvs semantically. Header-only, shared by conformance_test.cpp and
// argv_test.cpp.
//
// What is compared and how (decided per key; see the comments in normalise_*):
//  - -m: size/slots/maxmem in bytes ("-m 32768" = MiB, "size=219136k" = KiB);
//  - -smp: every key; dies/clusters absent = 1;
//  - -numa: each option as a set of keys, cpus= ranges merged into one set,
//    the options compared as a sorted list (their order means nothing);
//  - memory backends (-object qom-type memory-backend-*): JSON objects by id,
//    key by key, legacy "a=b,c=d" syntax converted to JSON first. mem-path: a
//    path on one of the test's hugetlbfs mounts must be on the same mount;
//    a path in libvirt's own /var/lib/libvirt/qemu/ram/<guest>/ dir must be
//    <state_dir>/<same file name>; anything else (nvdimm files) must be equal.
//    "prealloc-context" and the "thread-context" objects it names are skipped:
//    they only tell QEMU which threads to preallocate with (a speed-up), the
//    preallocation itself ("prealloc") is compared.
//  - -device pc-dimm, nvdimm, virtio-mem-pci, pxb, pxb-pcie: JSON objects by
//    id, every key including bus and addr.
#pragma once

#include "qemu/qemu_option.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace argv_compare {

using strings = std::vector<std::string>;

// The words of a libvirt .args file (shell syntax: backslash-newline, single
// quotes), without the leading environment assignments.
inline strings read_args_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  strings words;
  std::string cur;
  bool in_word = false, quoted = false;
  for (std::size_t i = 0; i < text.size(); ++i) {
    char c = text[i];
    if (quoted) {
      if (c == '\'') quoted = false;
      else cur += c;
      continue;
    }
    if (c == '\\' && i + 1 < text.size() && text[i + 1] == '\n') {
      ++i;
      continue;
    }
    if (c == '\'') {
      quoted = true;
      in_word = true;
      continue;
    }
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (in_word) words.push_back(cur);
      cur.clear();
      in_word = false;
      continue;
    }
    cur += c;
    in_word = true;
  }
  if (in_word) words.push_back(cur);
  // Drop VAR=value words before the binary.
  std::size_t first = 0;
  while (first < words.size() && words[first].find('=') != std::string::npos && words[first][0] != '-') ++first;
  return strings(words.begin() + static_cast<long>(first), words.end());
}

// One option per line (the seed's argv file).
inline strings read_lines_file(const std::string& path) {
  std::ifstream in(path);
  strings words;
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    auto sp = line.find(' ');
    if (sp == std::string::npos) {
      words.push_back(line);
    } else {
      words.push_back(line.substr(0, sp));
      words.push_back(line.substr(sp + 1));
    }
  }
  return words;
}

// Values of every occurrence of an option.
inline strings values_of(const strings& argv, const std::string& option) {
  strings out;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option) out.push_back(argv[i + 1]);
  return out;
}

inline std::uint64_t scaled(const std::string& v, char default_unit) {
  std::size_t pos = 0;
  std::uint64_t n = std::stoull(v, &pos);
  char unit = pos < v.size() ? static_cast<char>(std::tolower(v[pos])) : default_unit;
  switch (unit) {
    case 'k': return n << 10;
    case 'm': return n << 20;
    case 'g': return n << 30;
    case 't': return n << 40;
    default: return n;
  }
}

// "-m" as {size, slots, maxmem} in bytes.
inline std::map<std::string, std::uint64_t> normalise_m(const std::string& v) {
  std::map<std::string, std::uint64_t> out;
  for (auto& [k, val] : vnumad::qemu::split_option(v)) {
    if (k.empty() || k == "size") out["size"] = scaled(val, 'm');
    else if (k == "maxmem") out["maxmem"] = scaled(val, 'm');
    else out[k] = std::stoull(val);
  }
  return out;
}

inline std::map<std::string, std::string> normalise_smp(const std::string& v) {
  std::map<std::string, std::string> out{{"dies", "1"}, {"clusters", "1"}};
  for (auto& [k, val] : vnumad::qemu::split_option(v)) out[k.empty() ? "cpus" : k] = val;
  if (!out.count("maxcpus")) out["maxcpus"] = out["cpus"];
  return out;
}

inline std::set<unsigned> expand_ranges(const std::string& v) {
  std::set<unsigned> out;
  auto dash = v.find('-');
  unsigned a = std::stoul(v.substr(0, dash));
  unsigned b = dash == std::string::npos ? a : std::stoul(v.substr(dash + 1));
  for (unsigned i = a; i <= b; ++i) out.insert(i);
  return out;
}

inline std::string normalise_numa(const std::string& v) {
  std::map<std::string, std::string> keys;
  std::set<unsigned> cpus;
  bool has_cpus = false;
  for (auto& [k, val] : vnumad::qemu::split_option(v)) {
    if (k == "cpus") {
      has_cpus = true;
      auto r = expand_ranges(val);
      cpus.insert(r.begin(), r.end());
    } else {
      keys[k.empty() ? "type" : k] = val;
    }
  }
  std::string out;
  for (auto& [k, val] : keys) out += k + "=" + val + ";";
  if (has_cpus) {
    out += "cpus=";
    for (unsigned c : cpus) out += std::to_string(c) + " ";
  }
  return out;
}

inline bool is_number(const std::string& v) {
  if (v.empty()) return false;
  if (v.rfind("0x", 0) == 0) return v.size() > 2 && std::all_of(v.begin() + 2, v.end(), ::isxdigit);
  return std::all_of(v.begin(), v.end(), ::isdigit);
}

// Legacy "type,key=value" (-object or -device) as the JSON libvirt writes today.
inline boost::json::object legacy_to_json(const std::string& v, const char* type_key) {
  boost::json::object o;
  static const std::set<std::string> strings_keys{"addr", "id", "bus", "memdev", "mem-path", "policy", "netdev", "drive", "mac"};
  for (auto& [k, val] : vnumad::qemu::split_option(v)) {
    if (k.empty()) {
      o[type_key] = val;
    } else if (k == "host-nodes") {
      auto r = expand_ranges(val);
      if (!o.contains("host-nodes")) o["host-nodes"] = boost::json::array();
      for (unsigned n : r) o["host-nodes"].as_array().emplace_back(n);
    } else if (strings_keys.count(k)) {
      o[k] = val;
    } else if (val == "on" || val == "yes" || val == "true") {
      o[k] = true;
    } else if (val == "off" || val == "no" || val == "false") {
      o[k] = false;
    } else if (is_number(val)) {
      o[k] = static_cast<std::uint64_t>(std::stoull(val, nullptr, 0));
    } else {
      o[k] = val;
    }
  }
  return o;
}

inline boost::json::object to_object(const std::string& v, const char* type_key) {
  if (!v.empty() && v[0] == '{') return boost::json::parse(v).as_object();
  return legacy_to_json(v, type_key);
}

struct environment {
  std::map<std::uint64_t, std::string> hugetlbfs_mounts;
  std::string state_dir;
};

// Differences between the memory backend objects, keyed by id.
inline void compare_objects(const boost::json::object& expected, const boost::json::object& actual,
                            const std::string& what, const environment& env, strings& diffs) {
  std::set<std::string> keys;
  for (auto& kv : expected) keys.insert(std::string(kv.key()));
  for (auto& kv : actual) keys.insert(std::string(kv.key()));
  keys.erase("prealloc-context");
  for (const auto& k : keys) {
    auto e = expected.if_contains(k);
    auto a = actual.if_contains(k);
    if (!e || !a) {
      diffs.push_back(what + ": key '" + k + "' " + (e ? "missing, expected " + boost::json::serialize(*e)
                                                       : "unexpected, got " + boost::json::serialize(*a)));
      continue;
    }
    if (k == "mem-path" && e->is_string() && a->is_string()) {
      std::string ep(e->as_string()), ap(a->as_string());
      std::string mount;
      for (auto& [size, m] : env.hugetlbfs_mounts)
        if ((ep == m || ep.rfind(m + "/", 0) == 0) && m.size() > mount.size()) mount = m;
      bool ok;
      if (!mount.empty()) ok = ap == mount || ap.rfind(mount + "/", 0) == 0;
      else if (ep.rfind("/var/lib/libvirt/qemu/ram/", 0) == 0)
        ok = ap == env.state_dir + ep.substr(ep.rfind('/'));
      else ok = ep == ap;
      if (!ok) diffs.push_back(what + ": mem-path " + ap + " is not equivalent to libvirt's " + ep);
      continue;
    }
    // Integers: libvirt's JSON and the legacy syntax may differ in signedness.
    bool equal = *e == *a;
    if (!equal && e->is_number() && a->is_number()) equal = e->to_number<double>() == a->to_number<double>();
    if (!equal)
      diffs.push_back(what + ": key '" + k + "' expected " + boost::json::serialize(*e) + ", got " +
                      boost::json::serialize(*a));
  }
}

inline std::map<std::string, boost::json::object> memory_objects(const strings& argv) {
  std::map<std::string, boost::json::object> out;
  for (const auto& v : values_of(argv, "-object")) {
    auto o = to_object(v, "qom-type");
    auto type = o.if_contains("qom-type");
    if (!type || !type->is_string()) continue;
    std::string t(type->as_string());
    if (t.rfind("memory-backend-", 0) != 0) continue;
    out[std::string(o["id"].as_string())] = o;
  }
  return out;
}

inline std::map<std::string, boost::json::object> numa_devices(const strings& argv) {
  static const std::set<std::string> drivers{"pc-dimm", "nvdimm", "virtio-mem-pci", "pxb", "pxb-pcie"};
  std::map<std::string, boost::json::object> out;
  for (const auto& v : values_of(argv, "-device")) {
    auto o = to_object(v, "driver");
    auto d = o.if_contains("driver");
    if (!d || !d->is_string() || !drivers.count(std::string(d->as_string()))) continue;
    out[std::string(o["id"].as_string())] = o;
  }
  return out;
}

template <class Map>
inline std::string show(const Map& m) {
  std::string s;
  for (auto& [k, v] : m) s += k + "=" + std::to_string(v) + " ";
  return s;
}

inline std::string show_strings(const std::map<std::string, std::string>& m) {
  std::string s;
  for (auto& [k, v] : m) s += k + "=" + v + " ";
  return s;
}

// Every NUMA-relevant difference, one line each ("" = semantically equal).
inline strings compare(const strings& expected, const strings& actual, const environment& env) {
  strings diffs;
  auto em = values_of(expected, "-m"), am = values_of(actual, "-m");
  if (em.size() != 1 || am.size() != 1) diffs.push_back("-m: expected one -m each");
  else if (normalise_m(em[0]) != normalise_m(am[0]))
    diffs.push_back("-m: expected '" + em[0] + "' (" + show(normalise_m(em[0])) + "), got '" + am[0] + "'");

  auto es = values_of(expected, "-smp"), as = values_of(actual, "-smp");
  if (es.size() != 1 || as.size() != 1) diffs.push_back("-smp: expected one -smp each");
  else if (normalise_smp(es[0]) != normalise_smp(as[0]))
    diffs.push_back("-smp: expected '" + es[0] + "', got '" + as[0] + "'");

  strings en, an;
  for (auto& v : values_of(expected, "-numa")) en.push_back(normalise_numa(v));
  for (auto& v : values_of(actual, "-numa")) an.push_back(normalise_numa(v));
  std::sort(en.begin(), en.end());
  std::sort(an.begin(), an.end());
  for (auto& e : en)
    if (!std::binary_search(an.begin(), an.end(), e)) diffs.push_back("-numa: missing " + e);
  for (auto& a : an)
    if (!std::binary_search(en.begin(), en.end(), a)) diffs.push_back("-numa: unexpected " + a);

  auto eo = memory_objects(expected), ao = memory_objects(actual);
  for (auto& [id, o] : eo) {
    if (!ao.count(id)) diffs.push_back("-object " + id + ": missing, expected " + boost::json::serialize(o));
    else compare_objects(o, ao[id], "-object " + id, env, diffs);
  }
  for (auto& [id, o] : ao)
    if (!eo.count(id)) diffs.push_back("-object " + id + ": unexpected " + boost::json::serialize(o));

  auto ed = numa_devices(expected), ad = numa_devices(actual);
  for (auto& [id, o] : ed) {
    if (!ad.count(id)) diffs.push_back("-device " + id + ": missing, expected " + boost::json::serialize(o));
    else compare_objects(o, ad[id], "-device " + id, env, diffs);
  }
  for (auto& [id, o] : ad)
    if (!ed.count(id)) diffs.push_back("-device " + id + ": unexpected " + boost::json::serialize(o));
  return diffs;
}

}  // namespace argv_compare
