#include "vnuma/capabilities_report.hpp"

#include "config/cpuset.hpp"

#include <boost/json.hpp>

#include <cstdio>
#include <sstream>

namespace vnumad::vnuma {

namespace {

constexpr std::uint64_t mib = 1024 * 1024;

// numactl lists CPUs one by one (" 0 1 2"); so do we, an operator greps for a
// CPU number.
std::string spaced(const id_set& ids) {
  std::string out;
  for (unsigned id : ids) out += " " + std::to_string(id);
  return out;
}

std::string page_size_text(std::uint64_t bytes) {
  if (bytes % (1024 * mib) == 0) return std::to_string(bytes / (1024 * mib)) + " GB";
  return std::to_string(bytes / 1024) + " kB";  // the kernel's hugepages-2048kB naming
}

id_set reserved_on(const host_node& node, const id_set& reserved) {
  id_set out;
  for (unsigned cpu : node.cpus)
    if (reserved.contains(cpu)) out.insert(cpu);
  return out;
}

void render_pci(std::ostringstream& out, const pci_device& dev) {
  out << "  " << dev.bus_id << " " << dev.description;
  for (const auto& name : dev.os_names) out << " " << name;
  out << "\n";
}

boost::json::array id_array(const id_set& ids) {
  boost::json::array out;
  for (unsigned id : ids) out.push_back(id);
  return out;
}

boost::json::object pci_json(const pci_device& dev) {
  boost::json::array names;
  for (const auto& name : dev.os_names) names.push_back(boost::json::string(name));
  boost::json::object out{{"bus_id", dev.bus_id}, {"description", dev.description}, {"os_names", std::move(names)}};
  if (dev.node)
    out["node"] = *dev.node;
  else
    out["node"] = nullptr;
  return out;
}

}  // namespace

std::string render_capabilities_text(const host_topology& host, const id_set& reserved) {
  std::ostringstream out;
  out << "host: " << host.description << "\n";
  out << "available: " << host.nodes.size() << " nodes (" << config::format_id_set(host.node_ids()) << ")\n";
  for (const auto& node : host.nodes) {
    const std::string p = "node " + std::to_string(node.id) + " ";
    out << p << "cpus:" << spaced(node.cpus) << "\n";
    out << p << "size: " << node.memory_bytes / mib << " MB\n";
    out << p << "free: " << node.free_bytes / mib << " MB\n";
    for (const auto& [size, total] : node.hugepages_total) {
      auto free = node.hugepages_free.find(size);
      out << p << "hugepages " << page_size_text(size) << ": " << total << " total, "
          << (free == node.hugepages_free.end() ? 0 : free->second) << " free\n";
    }
    if (node.package) out << p << "package: " << *node.package << "\n";
    if (node.has_cpus()) {
      out << p << "cores:";
      for (const auto& core : node.cores) out << " " << config::format_id_set(core);
      out << "\n";
      const id_set mine = reserved_on(node, reserved);
      out << p << "reserved cpus: " << (mine.empty() ? "none" : config::format_id_set(mine)) << "\n";
    } else {
      out << p << "cores: none (memory only)\n";
    }
    if (node.pci_devices.empty()) {
      out << p << "pci devices: none\n";
    } else {
      out << p << "pci devices:\n";
      for (const auto& dev : node.pci_devices) render_pci(out, dev);
    }
  }
  if (!host.unattached_pci.empty()) {
    out << "pci devices without a node:\n";
    for (const auto& dev : host.unattached_pci) render_pci(out, dev);
  }
  out << "node distances:" << (host.distances.empty() ? " (none reported, 10 local / 20 remote assumed)" : "")
      << "\n";
  char cell[16];
  out << "node";
  for (const auto& col : host.nodes) {
    std::snprintf(cell, sizeof cell, " %3u", col.id);
    out << cell;
  }
  out << "\n";
  for (const auto& row : host.nodes) {
    std::snprintf(cell, sizeof cell, "%3u:", row.id);
    out << cell;
    for (const auto& col : host.nodes) {
      std::snprintf(cell, sizeof cell, " %3u", host.distance(row.id, col.id));
      out << cell;
    }
    out << "\n";
  }
  out << "threads per core: " << host.threads_per_core << "\n";
  out << "default huge page size: " << page_size_text(host.default_hugepage_bytes) << "\n";
  out << "reserved cpus: " << (reserved.empty() ? "none" : config::format_id_set(reserved)) << "\n";
  return out.str();
}

boost::json::value capabilities_json(const host_topology& host, const id_set& reserved) {
  boost::json::array nodes;
  for (const auto& node : host.nodes) {
    boost::json::array cores;
    for (const auto& core : node.cores) cores.push_back(id_array(core));
    boost::json::array hugepages;
    for (const auto& [size, total] : node.hugepages_total) {
      auto free = node.hugepages_free.find(size);
      hugepages.push_back(boost::json::object{
          {"size_bytes", size}, {"total", total}, {"free", free == node.hugepages_free.end() ? 0 : free->second}});
    }
    boost::json::array pci;
    for (const auto& dev : node.pci_devices) pci.push_back(pci_json(dev));
    const id_set mine = reserved_on(node, reserved);
    boost::json::object obj{
        {"id", node.id},
        {"cpus", config::format_id_set(node.cpus)},
        {"cpu_ids", id_array(node.cpus)},
        {"cores", std::move(cores)},
        {"memory_bytes", node.memory_bytes},
        {"free_bytes", node.free_bytes},
        {"hugepages", std::move(hugepages)},
        {"pci_devices", std::move(pci)},
        {"reserved_cpus", config::format_id_set(mine)},
        {"reserved_cpu_ids", id_array(mine)},
    };
    if (node.package)
      obj["package"] = *node.package;
    else
      obj["package"] = nullptr;
    nodes.push_back(std::move(obj));
  }
  boost::json::array distances;
  for (const auto& row : host.nodes) {
    boost::json::array r;
    for (const auto& col : host.nodes) r.push_back(host.distance(row.id, col.id));
    distances.push_back(std::move(r));
  }
  boost::json::array unattached;
  for (const auto& dev : host.unattached_pci) unattached.push_back(pci_json(dev));
  return boost::json::object{
      {"description", host.description},
      {"threads_per_core", host.threads_per_core},
      {"default_hugepage_bytes", host.default_hugepage_bytes},
      {"node_ids", id_array(host.node_ids())},
      {"reserved_cpus", config::format_id_set(reserved)},
      {"reserved_cpu_ids", id_array(reserved)},
      {"nodes", std::move(nodes)},
      {"distances", std::move(distances)},
      {"distances_reported", !host.distances.empty()},
      {"unattached_pci_devices", std::move(unattached)},
  };
}

}  // namespace vnumad::vnuma
