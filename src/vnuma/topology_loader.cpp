#include "vnuma/topology_loader.hpp"

#include <hwloc.h>
#include <numa.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

namespace vnumad::vnuma {

namespace {

namespace fs = std::filesystem;

struct topology_deleter {
  void operator()(hwloc_topology* t) const { hwloc_topology_destroy(t); }
};
using topology_ptr = std::unique_ptr<hwloc_topology, topology_deleter>;

// What differs between a live host and an XML export.
struct source {
  bool live = false;
  std::string label;  // the file, or "live host", for messages
};

std::string errno_text(int err) { return err ? std::strerror(err) : "unknown error"; }

std::optional<std::uint64_t> read_number(const fs::path& file) {
  std::ifstream in(file);
  long long value = 0;
  if (!(in >> value) || value < 0) return std::nullopt;
  return static_cast<std::uint64_t>(value);
}

std::string info(hwloc_obj_t obj, const char* name) {
  const char* value = obj ? hwloc_obj_get_info_by_name(obj, name) : nullptr;
  return value ? value : "";
}

// The node each PU belongs to. A CPU-less node (HBM, CXL, PMEM) may share its
// parent's cpuset, so hwloc locality alone can name several nodes for one PU:
// on a live host the kernel's answer (libnuma) decides; otherwise prefer plain
// DRAM nodes (no subtype), then the lowest id.
std::map<unsigned, unsigned> assign_pus(hwloc_topology_t topo, const source& src) {
  std::map<unsigned, unsigned> node_of_pu;
  const bool use_libnuma = src.live && numa_available() >= 0;
  for (hwloc_obj_t pu = nullptr; (pu = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_PU, pu));) {
    hwloc_obj_t best = nullptr;
    for (hwloc_obj_t node = nullptr; (node = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, node));) {
      if (!node->cpuset || !hwloc_bitmap_isset(node->cpuset, pu->os_index)) continue;
      auto rank = [](hwloc_obj_t n) { return std::pair(n->subtype != nullptr, n->os_index); };
      if (!best || rank(node) < rank(best)) best = node;
    }
    if (use_libnuma) {
      int kernel_node = numa_node_of_cpu(static_cast<int>(pu->os_index));
      if (kernel_node >= 0) {
        node_of_pu[pu->os_index] = static_cast<unsigned>(kernel_node);
        continue;
      }
    }
    if (best) node_of_pu[pu->os_index] = best->os_index;
  }
  return node_of_pu;
}

// SMT sibling groups: PUs sharing an hwloc Core. A PU without a Core parent
// (some VMs, some XML exports) is a single-thread core.
std::vector<id_set> group_cores(hwloc_topology_t topo, const id_set& cpus) {
  std::map<hwloc_obj_t, id_set> by_core;
  std::vector<id_set> cores;
  for (unsigned cpu : cpus) {
    hwloc_obj_t pu = hwloc_get_pu_obj_by_os_index(topo, cpu);
    hwloc_obj_t core = pu ? hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_CORE, pu) : nullptr;
    if (core)
      by_core[core].insert(cpu);
    else
      cores.push_back(id_set{cpu});
  }
  for (auto& [core, pus] : by_core) cores.push_back(std::move(pus));
  std::sort(cores.begin(), cores.end(), [](const id_set& a, const id_set& b) { return *a.begin() < *b.begin(); });
  return cores;
}

// hwloc lists the normal page size first and huge page sizes after it; 4 KiB
// pages are never huge pages whatever their position.
void read_xml_hugepages(hwloc_obj_t node, host_node& out) {
  const auto& mem = node->attr->numanode;
  for (unsigned i = 0; i < mem.page_types_len; ++i) {
    const auto& type = mem.page_types[i];
    if (i == 0 || type.size <= 4096) continue;
    out.hugepages_total[type.size] = type.count;
    out.hugepages_free[type.size] = type.count;
  }
  // hwloc exports MemTotal as local_memory and the normal pages left beside
  // the pools as the first page type; hand-written files often make the two
  // equal and list the pools on top. Either way the difference is the pools.
  if (mem.page_types_len > 0 && mem.page_types[0].count > 0) {
    const std::uint64_t normal = mem.page_types[0].size * mem.page_types[0].count;
    out.hugepage_pool_bytes = out.memory_bytes > normal ? out.memory_bytes - normal : 0;
  }
}

void read_live_hugepages(host_node& out) {
  auto counts = read_node_hugepages(out.id);
  out.hugepages_total = std::move(counts.total);
  out.hugepages_free = std::move(counts.free);
  // The node's MemTotal (memory_bytes) counts the pools.
  for (const auto& [size, pages] : out.hugepages_total) out.hugepage_pool_bytes += size * pages;
}

void read_live_free_memory(host_node& out) {
  if (numa_available() < 0) {
    out.free_bytes = out.memory_bytes;
    return;
  }
  long long free = 0;
  if (numa_node_size64(static_cast<int>(out.id), &free) >= 0 && free >= 0)
    out.free_bytes = static_cast<std::uint64_t>(free);
}

std::uint64_t live_default_hugepage_bytes() {
  std::ifstream in("/proc/meminfo");
  std::string line;
  while (std::getline(in, line)) {
    unsigned long long kib = 0;
    if (std::sscanf(line.c_str(), "Hugepagesize: %llu kB", &kib) == 1) return kib * 1024;
  }
  return 2 * 1024 * 1024;
}

// The first latency matrix between NUMA nodes, the OS-provided "NUMALatency"
// one preferred; bandwidth matrices are not distances and are ignored.
std::vector<std::vector<unsigned>> read_distances(hwloc_topology_t topo, const std::vector<host_node>& nodes) {
  unsigned count = 0;
  const unsigned long kind = HWLOC_DISTANCES_KIND_MEANS_LATENCY;
  if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &count, nullptr, kind, 0) < 0 || count == 0) return {};
  std::vector<hwloc_distances_s*> found(count, nullptr);
  if (hwloc_distances_get_by_type(topo, HWLOC_OBJ_NUMANODE, &count, found.data(), kind, 0) < 0) return {};
  found.resize(count);
  hwloc_distances_s* chosen = found.front();
  for (auto* d : found) {
    const char* name = hwloc_distances_get_name(topo, d);
    if (name && std::string_view(name) == "NUMALatency") {
      chosen = d;
      break;
    }
  }
  std::map<unsigned, unsigned> index_of;  // node os id -> matrix index
  for (unsigned i = 0; i < chosen->nbobjs; ++i) index_of[chosen->objs[i]->os_index] = i;
  std::vector<std::vector<unsigned>> matrix(nodes.size(), std::vector<unsigned>(nodes.size()));
  for (std::size_t a = 0; a < nodes.size(); ++a) {
    for (std::size_t b = 0; b < nodes.size(); ++b) {
      auto ia = index_of.find(nodes[a].id);
      auto ib = index_of.find(nodes[b].id);
      // A node missing from the matrix gets the spec's 10/20 default.
      matrix[a][b] = (ia != index_of.end() && ib != index_of.end())
                         ? static_cast<unsigned>(chosen->values[ia->second * chosen->nbobjs + ib->second])
                         : (a == b ? 10u : 20u);
    }
  }
  for (auto* d : found) hwloc_distances_release(topo, d);
  return matrix;
}

std::string pci_class_name(unsigned class_id) {
  static const std::map<unsigned, const char*> names = {
      {0x0100, "SCSI storage controller"}, {0x0101, "IDE interface"}, {0x0104, "RAID bus controller"},
      {0x0106, "SATA controller"}, {0x0107, "Serial Attached SCSI controller"},
      {0x0108, "Non-Volatile memory controller"}, {0x0200, "Ethernet controller"},
      {0x0207, "InfiniBand controller"}, {0x0280, "Network controller"}, {0x0300, "VGA compatible controller"},
      {0x0302, "3D controller"}, {0x0502, "CXL memory device"}, {0x0604, "PCI bridge"},
      {0x0700, "Serial controller"}, {0x0c03, "USB controller"}, {0x0c04, "Fibre Channel"},
      {0x0c06, "InfiniBand"}, {0x1200, "Processing accelerators"},
  };
  // Base classes, for subclasses the table does not name (virtio's 0x0180).
  static const std::map<unsigned, const char*> bases = {
      {0x01, "Mass storage controller"}, {0x02, "Network controller"}, {0x03, "Display controller"},
      {0x0b, "Processor"}, {0x0c, "Serial bus controller"}, {0x12, "Processing accelerators"},
  };
  if (auto it = names.find(class_id); it != names.end()) return it->second;
  if (auto it = bases.find(class_id >> 8); it != bases.end()) return it->second;
  char buf[32];
  std::snprintf(buf, sizeof buf, "PCI class %04x", class_id);
  return buf;
}

pci_device describe_pci(hwloc_obj_t dev) {
  const auto& attr = dev->attr->pcidev;
  pci_device out;
  char bus[32];
  std::snprintf(bus, sizeof bus, "%04x:%02x:%02x.%01x", attr.domain, attr.bus, attr.dev, attr.func);
  out.bus_id = bus;
  const std::string vendor = info(dev, "PCIVendor");
  const std::string device = info(dev, "PCIDevice");
  out.description = pci_class_name(attr.class_id);
  if (!vendor.empty() || !device.empty()) {
    out.description += " (" + vendor + (vendor.empty() || device.empty() ? "" : " ") + device + ")";
  } else {
    char ids[32];
    std::snprintf(ids, sizeof ids, " [%04x:%04x]", attr.vendor_id, attr.device_id);
    out.description += ids;
  }
  // OS devices (eth0, nvme0n1, sda) hang directly below their PCI function.
  for (hwloc_obj_t child = dev->io_first_child; child; child = child->next_sibling)
    if (child->type == HWLOC_OBJ_OS_DEVICE && child->name) out.os_names.emplace_back(child->name);
  return out;
}

// The node of a PCI device: the kernel's numa_node on a live host; otherwise
// the nodes of its first non-I/O ancestor, if that narrows to one node with CPUs.
std::optional<unsigned> pci_node(hwloc_topology_t topo, hwloc_obj_t dev, const pci_device& desc,
                                 const std::vector<host_node>& nodes, const source& src) {
  auto known = [&](unsigned id) {
    return std::any_of(nodes.begin(), nodes.end(), [&](const host_node& n) { return n.id == id; });
  };
  if (src.live) {
    if (auto n = read_number(fs::path("/sys/bus/pci/devices") / desc.bus_id / "numa_node"); n && known(unsigned(*n)))
      return static_cast<unsigned>(*n);
  }
  hwloc_obj_t anc = hwloc_get_non_io_ancestor_obj(topo, dev);
  if (!anc || !anc->nodeset) return std::nullopt;
  std::vector<unsigned> all, with_cpus;
  for (int id = hwloc_bitmap_first(anc->nodeset); id >= 0; id = hwloc_bitmap_next(anc->nodeset, id)) {
    auto it = std::find_if(nodes.begin(), nodes.end(), [&](const host_node& n) { return n.id == unsigned(id); });
    if (it == nodes.end()) continue;
    all.push_back(it->id);
    if (it->has_cpus()) with_cpus.push_back(it->id);
  }
  if (all.size() == 1) return all.front();
  if (with_cpus.size() == 1) return with_cpus.front();
  return std::nullopt;
}

result<host_topology> build(hwloc_topology_t topo, const source& src) {
  host_topology host;
  host.live = src.live;
  const auto node_of_pu = assign_pus(topo, src);

  for (hwloc_obj_t obj = nullptr; (obj = hwloc_get_next_obj_by_type(topo, HWLOC_OBJ_NUMANODE, obj));) {
    host_node node;
    node.id = obj->os_index;
    for (const auto& [pu, id] : node_of_pu)
      if (id == node.id) node.cpus.insert(pu);
    node.cores = group_cores(topo, node.cpus);
    if (hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, obj)) node.package = pkg->os_index;
    node.memory_bytes = obj->attr->numanode.local_memory;
    if (src.live) {
      read_live_free_memory(node);
      read_live_hugepages(node);
    } else {
      node.free_bytes = node.memory_bytes;
      read_xml_hugepages(obj, node);
    }
    host.nodes.push_back(std::move(node));
  }
  if (host.nodes.empty())
    return make_error(errc::invalid_value, src.label + ": hwloc reports no NUMA node");
  std::sort(host.nodes.begin(), host.nodes.end(), [](const host_node& a, const host_node& b) { return a.id < b.id; });

  for (const auto& node : host.nodes)
    for (const auto& core : node.cores) host.threads_per_core = std::max<unsigned>(host.threads_per_core, core.size());

  host.distances = read_distances(topo, host.nodes);

  for (hwloc_obj_t dev = nullptr; (dev = hwloc_get_next_pcidev(topo, dev));) {
    pci_device desc = describe_pci(dev);
    desc.node = pci_node(topo, dev, desc, host.nodes, src);
    if (!desc.node) {
      host.unattached_pci.push_back(std::move(desc));
      continue;
    }
    for (auto& node : host.nodes)
      if (node.id == *desc.node) node.pci_devices.push_back(std::move(desc));
  }

  const hwloc_obj_t root = hwloc_get_root_obj(topo);
  host.description = info(root, "DMIProductName");
  if (host.description.empty()) host.description = src.live ? info(root, "HostName") : src.label;
  if (host.description.empty()) host.description = src.label;

  if (src.live) {
    host.default_hugepage_bytes = live_default_hugepage_bytes();
  } else {
    // An export does not record the kernel's default: 2 MiB when the host has
    // it, else its smallest huge page size.
    std::set<std::uint64_t> sizes;
    for (const auto& node : host.nodes)
      for (const auto& [size, count] : node.hugepages_total) sizes.insert(size);
    if (!sizes.empty() && !sizes.contains(2 * 1024 * 1024)) host.default_hugepage_bytes = *sizes.begin();
  }
  return host;
}

result<topology_ptr> init_topology(const source& src) {
  hwloc_topology_t raw = nullptr;
  if (hwloc_topology_init(&raw) < 0)
    return make_error(errc::io_error, src.label + ": hwloc_topology_init failed: " + errno_text(errno));
  topology_ptr topo(raw);
  // Only devices an operator places guests by (NICs, storage, GPUs): the
  // "important" filter drops host bridges' many uninteresting functions.
  hwloc_topology_set_io_types_filter(raw, HWLOC_TYPE_FILTER_KEEP_IMPORTANT);
  return topo;
}

}  // namespace

result<host_topology> load_live_topology() {
  const source src{true, "live host"};
  auto topo = init_topology(src);
  if (!topo) return topo.error();
  errno = 0;
  if (hwloc_topology_load(topo->get()) < 0)
    return make_error(errc::io_error, "live host: hwloc_topology_load failed: " + errno_text(errno));
  return build(topo->get(), src);
}

result<host_topology> load_topology_xml(const fs::path& file) {
  const source src{false, file.string()};
  // hwloc's own failure for a missing file is a bare EINVAL: open it first so
  // the operator gets the real reason.
  {
    std::ifstream probe(file);
    if (!probe) {
      return make_error(errc::io_error,
                        "topology file " + file.string() + ": cannot open: " + errno_text(errno));
    }
  }
  auto topo = init_topology(src);
  if (!topo) return topo.error();
  errno = 0;
  if (hwloc_topology_set_xml(topo->get(), file.c_str()) < 0)
    return make_error(errc::io_error, "topology file " + file.string() + ": hwloc cannot read XML: " +
                                          errno_text(errno));
  errno = 0;
  if (hwloc_topology_load(topo->get()) < 0)
    return make_error(errc::xml_malformed, "topology file " + file.string() +
                                               ": hwloc rejected it as an hwloc XML export: " + errno_text(errno));
  return build(topo->get(), src);
}

hugepage_counts read_node_hugepages(unsigned node, const fs::path& node_root) {
  hugepage_counts out;
  const fs::path dir = node_root / ("node" + std::to_string(node)) / "hugepages";
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    // hugepages-2048kB
    unsigned long long kib = 0;
    if (std::sscanf(entry.path().filename().c_str(), "hugepages-%llukB", &kib) != 1) continue;
    const std::uint64_t size = kib * 1024;
    out.total[size] = read_number(entry.path() / "nr_hugepages").value_or(0);
    out.free[size] = read_number(entry.path() / "free_hugepages").value_or(0);
  }
  return out;
}

}  // namespace vnumad::vnuma
