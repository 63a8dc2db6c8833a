// Internal to argv_memory*.cpp: how one memory backend object is derived
// from the domain (libvirt's qemuBuildMemoryBackendProps), shared by the
// guest cells (argv_memory.cpp) and the memory devices
// (argv_memory_devices.cpp).
#pragma once

#include "qemu/argv_parts.hpp"
#include "qemu/qemu_option.hpp"

#include "config/units.hpp"

namespace vnumad::qemu::detail {


using config::id_set;
using config::MiB;

inline std::uint64_t round_up(std::uint64_t v, std::uint64_t align) { return (v + align - 1) / align * align; }

inline boost::json::array json_ids(const id_set& ids) {
  boost::json::array a;
  for (unsigned id : ids) a.emplace_back(id);
  return a;
}

struct binding {
  config::numa_policy mode;
  id_set nodes;
  std::string what;
};

// The page size backing cell `cell` (nullopt: normal pages).
inline std::optional<std::uint64_t> cell_page_size(const config::domain& d, unsigned cell, const host_facts& host) {
  if (!d.memory_backing || !d.memory_backing->hugepages) return std::nullopt;
  const auto& pages = d.memory_backing->pages;
  if (pages.empty()) return host.default_hugepage_bytes;
  auto size_of = [&](const config::hugepage_def& p) { return p.size_bytes ? p.size_bytes : host.default_hugepage_bytes; };
  for (const auto& p : pages)
    if (p.nodeset && p.nodeset->count(cell)) return size_of(p);
  for (const auto& p : pages)
    if (!p.nodeset) return size_of(p);
  return std::nullopt;
}

class memory_builder {
 public:
  memory_builder(const config::domain& d, const host_facts& host) : d_(d), host_(host) {
    cells_ = effective_cells(d);
  }

  const std::vector<config::numa_cell>& cells() const { return cells_; }
  const host_facts& host() const { return host_; }

  const config::numa_cell* find_cell(unsigned id) const {
    for (const auto& c : cells_)
      if (c.id == id) return &c;
    return nullptr;
  }

  id_set auto_nodes() const { return host_.auto_nodeset.value_or(host_.host_nodes); }

  // <memnode> for the cell, else <numatune><memory>; nullopt: no binding.
  result<std::optional<binding>> cell_binding(std::optional<unsigned> cell) const {
    if (!d_.numatune) return std::optional<binding>{};
    if (cell)
      for (const auto& mn : d_.numatune->memnodes)
        if (mn.cellid == *cell)
          return std::optional<binding>{binding{mn.mode, mn.nodeset,
                                                "<numatune><memnode cellid='" + std::to_string(mn.cellid) + "'>"}};
    const auto& m = d_.numatune->memory;
    if (!m) return std::optional<binding>{};
    id_set nodes = (m->placement == "auto" || !m->nodeset) ? auto_nodes() : *m->nodeset;
    if (nodes.empty())
      return make_error(errc::node_unavailable,
                        "<numatune><memory placement='auto'>: no host nodes known to place the memory on");
    return std::optional<binding>{binding{m->mode, std::move(nodes), "<numatune><memory>"}};
  }

  result<std::string> mount_for(std::uint64_t page, std::string_view what) const {
    auto it = host_.hugetlbfs_mounts.find(page);
    if (it == host_.hugetlbfs_mounts.end()) {
      std::string have;
      for (const auto& [size, path] : host_.hugetlbfs_mounts)
        have += (have.empty() ? "" : ", ") + config::format_size(size) + " at " + path;
      return make_error(errc::insufficient_hugepages,
                        std::string(what) + ": huge pages of " + config::format_size(page) +
                            " requested, but no hugetlbfs is mounted for that size (mounted: " +
                            (have.empty() ? "none" : have) + ")");
    }
    if (auto ok = check_representable(it->second, "hugetlbfs mount"); !ok) return ok.error();
    return it->second;
  }

  struct backend_request {
    std::string id;                               // ram-node0, pc.ram, memdimm0
    std::string what;                             // element, for messages
    std::uint64_t size = 0;
    std::optional<unsigned> cell;                 // guest cell whose settings apply
    std::optional<std::uint64_t> page;            // huge page size
    std::optional<std::string> access;            // shared | private
    std::optional<bool> discard;
    std::optional<std::string> nvdimm_path;
    bool nvdimm_pmem = false;
    std::optional<binding> bind;
    bool virtio_mem = false;
  };

  // The backend object; `device_prealloc` is set for virtio-mem, which takes
  // prealloc on the device instead of the backend.
  result<boost::json::object> backend(const backend_request& r, bool* device_prealloc = nullptr) const {
    const auto& mb = d_.memory_backing;
    std::string source = mb && mb->source_type ? *mb->source_type : "anonymous";
    std::optional<std::string> access = r.access;
    if (!access && mb && mb->access_mode) access = mb->access_mode;
    bool immediate = mb && mb->allocation_mode && *mb->allocation_mode == "immediate";

    boost::json::object o;
    bool prealloc = false;
    if (source == "memfd" && !r.nvdimm_path) {
      o["qom-type"] = "memory-backend-memfd";
      o["id"] = r.id;
      if (r.page) {
        o["hugetlb"] = true;
        o["hugetlbsize"] = *r.page;
        prealloc = true;
      }
    } else if (r.page || r.nvdimm_path || access || source == "file") {
      o["qom-type"] = "memory-backend-file";
      o["id"] = r.id;
      std::string path;
      if (r.nvdimm_path) {
        if (auto ok = check_representable(*r.nvdimm_path, r.what + "<source><path>"); !ok) return ok.error();
        path = *r.nvdimm_path;
        prealloc = !r.nvdimm_pmem;
      } else if (r.page) {
        auto m = mount_for(*r.page, r.what);
        if (!m) return m.error();
        path = *m;
        prealloc = true;
      } else {
        if (host_.state_dir.empty())
          return make_error(errc::invalid_value,
                            r.what + ": needs a memory-backend-file but host_facts.state_dir is empty");
        if (auto ok = check_representable(host_.state_dir, "state directory"); !ok) return ok.error();
        path = host_.state_dir + "/" + r.id;
      }
      o["mem-path"] = path;
      if (r.id == "pc.ram") o["x-use-canonical-path-for-ramblock-id"] = false;
      if (r.discard) o["discard-data"] = *r.discard;
      else if (mb && mb->discard) o["discard-data"] = true;
    } else {
      o["qom-type"] = "memory-backend-ram";
      o["id"] = r.id;
    }
    if (access) o["share"] = *access == "shared";
    if (r.virtio_mem) o["reserve"] = false;
    if (immediate) prealloc = true;
    if (prealloc) {
      if (r.virtio_mem) {
        if (device_prealloc) *device_prealloc = true;
      } else {
        o["prealloc"] = true;
        if (mb && mb->allocation_threads) o["prealloc-threads"] = *mb->allocation_threads;
      }
    }
    o["size"] = r.size;
    if (r.bind && r.bind->mode != config::numa_policy::restrictive) {
      if (auto ok = check_host_nodes(r.bind->nodes, host_, r.bind->what); !ok) return ok.error();
      o["host-nodes"] = json_ids(r.bind->nodes);
      switch (r.bind->mode) {
        case config::numa_policy::strict: o["policy"] = "bind"; break;
        case config::numa_policy::preferred: o["policy"] = "preferred"; break;
        case config::numa_policy::interleave: o["policy"] = "interleave"; break;
        case config::numa_policy::restrictive: break;
      }
    }
    return o;
  }

 private:
  const config::domain& d_;
  const host_facts& host_;
  std::vector<config::numa_cell> cells_;
};

// One pc-dimm or nvdimm with its backend, for -object/-device at boot and for
// object-add/device_add when hot-added (qemu/memory_hotplug.hpp): one builder,
// so that a hot-added dimm gets what a boot-time one would (huge pages,
// memfd, share, prealloc, host-nodes) and the same alignment.
struct dimm_objects {
  boost::json::object backend;        // -object / object-add
  boost::json::object device;         // -device / device_add
  std::uint64_t size_bytes = 0;       // the backend's size, aligned
  std::uint64_t align_bytes = 0;      // 2 MiB, or the huge page size
  std::uint64_t hugepage_bytes = 0;   // 0: normal pages
};
result<dimm_objects> build_dimm(const config::domain& d, const memory_builder& b, const config::memory_device_def& m,
                                unsigned slot, const std::string& what);

// The memory devices (pc-dimm, nvdimm, virtio-mem-pci) with their backends.
result<void> plan_memory_devices(const config::domain& d, const memory_builder& b, pci_allocator& pci,
                                 memory_plan& plan);

}  // namespace vnumad::qemu::detail
