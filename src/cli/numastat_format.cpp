#include "cli/numastat_format.hpp"

#include "config/cpuset.hpp"
#include "config/units.hpp"

#include <boost/json.hpp>

#include <cmath>
#include <cstdio>
#include <iomanip>
#include <set>
#include <sstream>

namespace vnumad::cli {

namespace json = boost::json;

namespace {

config::id_set ids_of(const json::value& v) {
  config::id_set out;
  if (v.is_array())
    for (const auto& e : v.as_array()) out.insert(static_cast<unsigned>(e.to_number<std::uint64_t>()));
  return out;
}

std::string cells_label(const json::value& cells) {
  auto ids = ids_of(cells);
  if (ids.empty()) return "ram";
  return config::format_id_set(ids);
}

std::string nodes_label(const config::id_set& nodes) {
  if (nodes.empty()) return "unbound";
  return (nodes.size() > 1 ? "nodes " : "node ") + config::format_id_set(nodes);
}

// 37%, 0.29%, 99.5%: whole percents unless that would hide a small part.
std::string format_percent(double p) {
  char buf[32];
  if (p == 0.0 || p == 100.0 || (p >= 1.0 && p <= 99.0)) std::snprintf(buf, sizeof buf, "%.0f%%", p);
  else std::snprintf(buf, sizeof buf, "%.2f%%", p);
  return buf;
}

std::string mib(std::uint64_t bytes) {
  std::ostringstream s;
  s << std::fixed << std::setprecision(1) << static_cast<double>(bytes) / (1024.0 * 1024.0);
  return s.str();
}

std::string page_label(std::uint64_t bytes) {
  if (bytes == 0) return "-";
  if (bytes >= (1ull << 30)) return std::to_string(bytes >> 30) + "G";
  if (bytes >= (1ull << 20)) return std::to_string(bytes >> 20) + "M";
  return std::to_string(bytes >> 10) + "K";
}

std::uint64_t bytes_on(const json::value& nodes, unsigned node) {
  for (const auto& n : nodes.as_array())
    if (n.at("node").to_number<std::uint64_t>() == node) return n.at("bytes").to_number<std::uint64_t>();
  return 0;
}

}  // namespace

void print_numastat(const json::value& r, std::ostream& out) {
  const auto& o = r.as_object();
  std::set<unsigned> columns;
  for (const auto& n : o.at("total").at("nodes").as_array())
    columns.insert(static_cast<unsigned>(n.at("node").to_number<std::uint64_t>()));
  out << "Per-node memory of guest '" << o.at("name").as_string().c_str() << "'";
  if (o.contains("pid")) out << " (QEMU pid " << json::serialize(o.at("pid")) << ")";
  out << ", in MiB\n\n";

  auto row = [&](const std::string& label, const std::string& bound, const std::string& pages, const json::value& nodes,
                 std::uint64_t total, const std::string& off, const std::string& backends) {
    out << std::left << std::setw(8) << label << std::setw(11) << bound << std::setw(6) << pages << std::right;
    for (unsigned n : columns) out << std::setw(10) << mib(bytes_on(nodes, n));
    out << std::setw(10) << mib(total) << "  " << std::left << std::setw(9) << off << backends << "\n";
  };
  out << std::left << std::setw(8) << "Cell" << std::setw(11) << "Bound to" << std::setw(6) << "Pages" << std::right;
  for (unsigned n : columns) out << std::setw(10) << ("Node " + std::to_string(n));
  out << std::setw(10) << "Total" << "  " << std::left << std::setw(9) << "Off node" << "Backends\n";

  bool any_group = false;
  for (const auto& c : o.at("cells").as_array()) {
    const auto& cell = c.as_object();
    bool grouped = cell.at("grouped").as_bool();
    any_group = any_group || grouped;
    std::string backends;
    for (const auto& b : cell.at("backends").as_array())
      backends += (backends.empty() ? "" : ",") + std::string(b.as_string());
    for (const auto& d : cell.at("devices").as_array()) backends += " +" + std::string(d.as_string());
    row(cells_label(cell.at("cells")) + (grouped ? "*" : ""), nodes_label(ids_of(cell.at("bound_nodes"))),
        page_label(cell.at("page_bytes").to_number<std::uint64_t>()), cell.at("nodes"),
        cell.at("resident_bytes").to_number<std::uint64_t>(),
        format_percent(cell.at("off_node_percent").to_number<double>()), backends);
  }
  const auto& other = o.at("other").as_object();
  row("other", "-", "-", other.at("nodes"), other.at("resident_bytes").to_number<std::uint64_t>(), "", "QEMU itself");
  const auto& total = o.at("total").as_object();
  row("Total", "", "", total.at("nodes"), total.at("resident_bytes").to_number<std::uint64_t>(), "", "");
  out << "\n";
  if (any_group)
    out << "* cells whose backends have the same size and node: which mapping is whose cannot be told,\n"
           "  so they are counted together.\n";
  for (const auto& u : o.at("unmatched").as_array())
    out << "Not found: " << u.at("id").as_string().c_str() << ": " << u.at("reason").as_string().c_str() << "\n";
  out << "Guest memory on its bound nodes: " << format_percent(o.at("on_bound_nodes_percent").to_number<double>())
      << "\n";
}

std::string memory_placement_line(const json::value& placement) {
  const auto& p = placement.as_object();
  if (const auto* e = p.if_contains("error")) return "unknown (" + std::string(e->as_string()) + ")";
  std::string line;
  for (const auto& off : p.at("off_node").as_array()) {
    auto cells = ids_of(off.at("cells"));
    std::string who = cells.empty() ? "guest RAM" : (cells.size() > 1 ? "cells " : "cell ") + config::format_id_set(cells);
    line += (line.empty() ? "" : "; ") + who + ": " +
            format_percent(off.at("off_node_percent").to_number<double>()) + " off " +
            nodes_label(ids_of(off.at("bound_nodes")));
  }
  if (line.empty())
    line = p.at("resident_bytes").to_number<std::uint64_t>() == 0 ? "no guest pages resident yet"
                                                                  : "100% on bound nodes";
  std::string missing;
  for (const auto& u : p.at("unmatched").as_array()) missing += (missing.empty() ? "" : ", ") + std::string(u.as_string());
  if (!missing.empty()) line += " (not found in numa_maps: " + missing + ")";
  return line;
}

}  // namespace vnumad::cli
