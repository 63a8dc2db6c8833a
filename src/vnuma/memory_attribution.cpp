#include "vnuma/memory_attribution.hpp"

#include "config/units.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <tuple>

namespace vnumad::vnuma {

namespace json = boost::json;

namespace {

std::string_view basename_of(std::string_view path) {
  if (path.ends_with(" (deleted)")) path.remove_suffix(10);
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool named_after(const numa_vma& vma, const std::string& id) {
  if (id.empty() || vma.file.empty() || vma.file.starts_with("/memfd:")) return false;
  std::string_view base = basename_of(vma.file);
  return base == id || base.starts_with("qemu_back_mem." + id + ".");
}

// QEMU's HostMemPolicy name -> the kernel's, as numa_maps writes it.
std::string_view kernel_mode(std::string_view qemu_policy) {
  if (qemu_policy == "preferred") return "prefer";
  return qemu_policy;  // bind, interleave
}

bool policy_matches(const memory_backend& b, const numa_vma& vma) {
  if (b.host_nodes.empty() || b.policy == "default") return true;
  std::string_view mode = kernel_mode(b.policy);
  bool mode_ok = vma.policy_mode == mode || (mode == "interleave" && vma.policy_mode == "weighted interleave");
  return mode_ok && vma.policy_nodes == b.host_nodes;
}

// Adjacent mappings of one backend the kernel may have split (a partial
// madvise or mlock), joined back: same permissions, policy, file, page size.
struct run {
  std::vector<std::size_t> vmas;  // indexes into the input
  std::uint64_t start = 0, end = 0;
};

std::vector<run> runs_of(const std::vector<numa_vma>& vmas, const std::vector<bool>& taken) {
  std::vector<std::size_t> order;
  for (std::size_t i = 0; i < vmas.size(); ++i)
    if (!taken[i] && !vmas[i].perms.empty()) order.push_back(i);
  std::sort(order.begin(), order.end(), [&](auto a, auto b) { return vmas[a].start < vmas[b].start; });
  std::vector<run> out;
  for (std::size_t i : order) {
    const numa_vma& v = vmas[i];
    if (!out.empty()) {
      run& last = out.back();
      const numa_vma& prev = vmas[last.vmas.back()];
      if (prev.end == v.start && prev.perms == v.perms && prev.policy == v.policy && prev.file == v.file &&
          prev.huge == v.huge && (prev.pages.empty() || v.pages.empty() || prev.page_bytes == v.page_bytes)) {
        last.vmas.push_back(i);
        last.end = v.end;
        continue;
      }
    }
    out.push_back(run{{i}, v.start, v.end});
  }
  return out;
}

// Backends that were found, each group one or several of one shape.
struct found_group {
  std::vector<std::size_t> backends;  // indexes into the backend list
  std::vector<std::size_t> vmas;
};

std::string describe_nodes(const config::id_set& nodes) {
  return nodes.empty() ? std::string("no node") : "node" + std::string(nodes.size() > 1 ? "s " : " ") +
                                                      config::format_id_set(nodes);
}

double percent(std::uint64_t part, std::uint64_t whole) {
  if (whole == 0 || part == 0) return 0.0;
  if (part >= whole) return 100.0;
  // Two decimals, but a non-zero part never shows as 0 and a partial one never as 100.
  double p = std::round(10000.0 * static_cast<double>(part) / static_cast<double>(whole)) / 100.0;
  return std::clamp(p, 0.01, 99.99);
}

json::array ids_json(const config::id_set& ids) {
  json::array a;
  for (unsigned id : ids) a.emplace_back(id);
  return a;
}

json::array nodes_json(const node_bytes& n) {
  json::array a;
  for (const auto& [node, bytes] : n.bytes) {
    auto huge = n.huge_bytes.find(node);
    a.push_back(json::object{{"node", node},
                             {"bytes", bytes},
                             {"huge_bytes", huge == n.huge_bytes.end() ? 0 : huge->second}});
  }
  return a;
}

}  // namespace

std::optional<unsigned> cell_of_ram_backend(std::string_view id) {
  constexpr std::string_view prefix = "ram-node";
  if (!id.starts_with(prefix) || id.size() == prefix.size()) return std::nullopt;
  unsigned cell = 0;
  auto digits = id.substr(prefix.size());
  auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cell);
  if (ec != std::errc() || ptr != digits.data() + digits.size()) return std::nullopt;
  return cell;
}

void node_bytes::add(const numa_vma& vma) {
  for (const auto& [node, pages] : vma.pages) {
    bytes[node] += pages * vma.page_bytes;
    if (vma.huge) huge_bytes[node] += pages * vma.page_bytes;
  }
}

std::uint64_t node_bytes::total() const {
  std::uint64_t t = 0;
  for (const auto& [node, b] : bytes) t += b;
  return t;
}

std::uint64_t node_bytes::outside(const config::id_set& nodes) const {
  std::uint64_t t = 0;
  for (const auto& [node, b] : bytes)
    if (!nodes.contains(node)) t += b;
  return t;
}

std::uint64_t memory_report::guest_resident_bytes() const {
  std::uint64_t t = 0;
  for (const auto& c : cells) t += c.resident.total();
  return t;
}

std::uint64_t memory_report::off_node_bytes() const {
  std::uint64_t t = 0;
  for (const auto& c : cells) t += c.off_node_bytes();
  return t;
}

memory_report attribute_memory(const std::vector<numa_vma>& vmas, const std::vector<memory_backend>& backends) {
  memory_report report;
  std::vector<bool> taken(vmas.size(), false);
  std::vector<bool> found(backends.size(), false);
  std::vector<found_group> groups;

  // 1. By name.
  for (std::size_t b = 0; b < backends.size(); ++b) {
    found_group g{{b}, {}};
    for (std::size_t i = 0; i < vmas.size(); ++i)
      if (!taken[i] && named_after(vmas[i], backends[b].id)) {
        taken[i] = true;
        g.vmas.push_back(i);
      }
    if (!g.vmas.empty()) {
      found[b] = true;
      groups.push_back(std::move(g));
    }
  }

  // 2. By shape, one class of alike backends at a time; bound backends
  // before unbound ones, whose shape matches more mappings.
  using shape = std::tuple<bool, std::uint64_t, bool, std::string, config::id_set>;
  std::map<shape, std::vector<std::size_t>> classes;
  for (std::size_t b = 0; b < backends.size(); ++b) {
    if (found[b]) continue;
    const auto& be = backends[b];
    bool unbound = be.host_nodes.empty() || be.policy == "default";
    classes[shape{unbound, be.size_bytes, be.share, be.policy, be.host_nodes}].push_back(b);
  }
  for (const auto& [key, members] : classes) {
    const memory_backend& model = backends[members.front()];
    // Each mapping on its own first: backends QEMU mapped next to each other
    // (no guard page between) are adjacent mappings of one shape, which a join
    // would fuse. Joined runs only when single mappings do not fit.
    auto matching = [&](const std::vector<run>& runs) {
      std::vector<run> out;
      for (const auto& r : runs) {
        const numa_vma& first = vmas[r.vmas.front()];
        if (r.end - r.start == model.size_bytes && first.shared() == model.share && first.perms[0] == 'r' &&
            policy_matches(model, first))
          out.push_back(r);
      }
      return out;
    };
    std::vector<run> singles;
    for (std::size_t i = 0; i < vmas.size(); ++i)
      if (!taken[i] && !vmas[i].perms.empty()) singles.push_back(run{{i}, vmas[i].start, vmas[i].end});
    std::vector<run> candidates = matching(singles);
    if (candidates.size() != members.size())
      if (auto joined = matching(runs_of(vmas, taken)); joined.size() == members.size()) candidates = std::move(joined);
    if (candidates.size() != members.size()) {
      std::string shape_text = config::format_size(model.size_bytes) + (model.share ? " shared" : "") + " mapping";
      std::string bound = " bound to " + describe_nodes(model.host_nodes);
      std::string reason =
          candidates.empty()
              ? "no " + shape_text + bound + " in numa_maps"
              : std::to_string(candidates.size()) + " " + shape_text + (candidates.size() > 1 ? "s" : "") + bound +
                    " in numa_maps for " + std::to_string(members.size()) +
                    " backend(s) of that shape: cannot tell which";
      for (std::size_t b : members) report.unmatched.push_back({backends[b].id, reason});
      continue;
    }
    found_group g{members, {}};
    for (const run& r : candidates)
      for (std::size_t i : r.vmas) {
        taken[i] = true;
        g.vmas.push_back(i);
      }
    groups.push_back(std::move(g));
  }

  // 3. Rows: groups that share a cell are one row (a cell's RAM and its dimm
  // stay together; a group of alike backends pulls in every cell it spans).
  std::vector<cell_memory> rows;
  for (const auto& g : groups) {
    cell_memory row;
    row.grouped = g.backends.size() > 1;
    for (std::size_t b : g.backends) {
      const auto& be = backends[b];
      row.backends.push_back(be.id);
      if (be.cell) row.cells.insert(*be.cell);
      if (be.device) row.devices.push_back(*be.device);
      row.bound_nodes.insert(be.host_nodes.begin(), be.host_nodes.end());
      row.size_bytes += be.size_bytes;
    }
    for (std::size_t i : g.vmas) {
      row.resident.add(vmas[i]);
      if (!vmas[i].pages.empty()) row.page_bytes = std::max(row.page_bytes, vmas[i].page_bytes);
    }
    // Merge with every earlier row it shares a cell with.
    for (auto it = rows.begin(); it != rows.end();) {
      bool shares = std::any_of(row.cells.begin(), row.cells.end(), [&](unsigned c) { return it->cells.contains(c); });
      if (!shares) {
        ++it;
        continue;
      }
      row.cells.insert(it->cells.begin(), it->cells.end());
      row.backends.insert(row.backends.begin(), it->backends.begin(), it->backends.end());
      row.devices.insert(row.devices.begin(), it->devices.begin(), it->devices.end());
      row.bound_nodes.insert(it->bound_nodes.begin(), it->bound_nodes.end());
      row.size_bytes += it->size_bytes;
      row.page_bytes = std::max(row.page_bytes, it->page_bytes);
      row.grouped = row.grouped || it->grouped;
      for (const auto& [node, b] : it->resident.bytes) row.resident.bytes[node] += b;
      for (const auto& [node, b] : it->resident.huge_bytes) row.resident.huge_bytes[node] += b;
      it = rows.erase(it);
    }
    rows.push_back(std::move(row));
  }
  std::sort(rows.begin(), rows.end(), [](const cell_memory& a, const cell_memory& b) {
    if (a.cells.empty() != b.cells.empty()) return !a.cells.empty();
    if (a.cells.empty()) return a.backends < b.backends;
    return *a.cells.begin() < *b.cells.begin();
  });
  for (auto& row : rows) std::sort(row.backends.begin(), row.backends.end());
  report.cells = std::move(rows);

  for (std::size_t i = 0; i < vmas.size(); ++i) {
    report.total.add(vmas[i]);
    if (!taken[i]) report.other.add(vmas[i]);
  }
  return report;
}

json::object to_json(const memory_report& r) {
  json::array cells;
  for (const auto& c : r.cells) {
    json::array backends, devices;
    for (const auto& b : c.backends) backends.emplace_back(b);
    for (const auto& d : c.devices) devices.emplace_back(d);
    std::uint64_t resident = c.resident.total();
    cells.push_back(json::object{{"cells", ids_json(c.cells)},
                                 {"backends", std::move(backends)},
                                 {"devices", std::move(devices)},
                                 {"bound_nodes", ids_json(c.bound_nodes)},
                                 {"grouped", c.grouped},
                                 {"size_bytes", c.size_bytes},
                                 {"page_bytes", c.page_bytes},
                                 {"resident_bytes", resident},
                                 {"off_node_bytes", c.off_node_bytes()},
                                 {"off_node_percent", percent(c.off_node_bytes(), resident)},
                                 {"nodes", nodes_json(c.resident)}});
  }
  json::array unmatched;
  for (const auto& u : r.unmatched) unmatched.push_back(json::object{{"id", u.id}, {"reason", u.reason}});
  std::uint64_t guest = r.guest_resident_bytes();
  return json::object{
      {"cells", std::move(cells)},
      {"other", json::object{{"resident_bytes", r.other.total()}, {"nodes", nodes_json(r.other)}}},
      {"total", json::object{{"resident_bytes", r.total.total()}, {"nodes", nodes_json(r.total)}}},
      {"unmatched", std::move(unmatched)},
      {"off_node_bytes", r.off_node_bytes()},
      {"on_bound_nodes_percent", guest == 0 ? 100.0 : percent(guest - r.off_node_bytes(), guest)},
  };
}

json::object placement_summary_json(const memory_report& r) {
  json::array off;
  for (const auto& c : r.cells) {
    std::uint64_t bytes = c.off_node_bytes();
    if (bytes == 0) continue;
    off.push_back(json::object{{"cells", ids_json(c.cells)},
                               {"bound_nodes", ids_json(c.bound_nodes)},
                               {"off_node_percent", percent(bytes, c.resident.total())}});
  }
  json::array unmatched;
  for (const auto& u : r.unmatched) unmatched.emplace_back(u.id);
  std::uint64_t guest = r.guest_resident_bytes();
  return json::object{{"on_bound_nodes_percent", guest == 0 ? 100.0 : percent(guest - r.off_node_bytes(), guest)},
                      {"resident_bytes", guest},
                      {"off_node", std::move(off)},
                      {"unmatched", std::move(unmatched)}};
}

}  // namespace vnumad::vnuma
