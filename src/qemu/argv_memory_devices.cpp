// Memory devices: pc-dimm, nvdimm and virtio-mem-pci with their memdimmN /
// memnvdimmN / memvirtiomemN backends, as libvirt builds them.
#include "qemu/argv_memory.hpp"
#include "qemu/memory_hotplug.hpp"

#include <set>

namespace vnumad::qemu::detail {

// The backend settings every memory device of guest cell `m.target_node`
// shares: the cell's access and page size, the device's or the cell's
// binding, and the alignment QEMU needs (2 MiB, or the huge page size).
result<memory_builder::backend_request> device_request(const config::domain& d, const memory_builder& b,
                                                       const config::memory_device_def& m, const std::string& what,
                                                       std::uint64_t& align) {
  const unsigned node = m.target_node.value_or(0);
  const auto* cell = b.find_cell(node);
  if (!cell)
    return make_error(errc::invalid_value, what + ": can't add memory backend for guest node '" +
                                               std::to_string(node) + "' as the guest has only '" +
                                               std::to_string(b.cells().size()) + "' NUMA nodes configured");
  memory_builder::backend_request r;
  r.what = what;
  r.cell = node;
  r.access = m.access ? m.access : cell->mem_access;
  r.discard = m.discard;
  if (m.source_pagesize_bytes) {
    if (*m.source_pagesize_bytes > 4096) r.page = *m.source_pagesize_bytes;
  } else if (m.model != "nvdimm") {
    r.page = cell_page_size(d, node, b.host());
  }
  if (m.source_nodemask) {
    r.bind = binding{config::numa_policy::strict, *m.source_nodemask, what + "<source><nodemask>"};
  } else {
    auto bind = b.cell_binding(node);
    if (!bind) return bind.error();
    r.bind = *bind;
  }
  align = std::max<std::uint64_t>(2 * config::MiB, r.page.value_or(0));
  return r;
}

result<dimm_objects> build_dimm(const config::domain& d, const memory_builder& b, const config::memory_device_def& m,
                                unsigned slot, const std::string& what) {
  std::uint64_t align = 0;
  auto r = device_request(d, b, m, what, align);
  if (!r) return r.error();
  if (d.max_memory_slots && slot >= *d.max_memory_slots)
    return make_error(errc::invalid_value, what + ": DIMM slot " + std::to_string(slot) +
                                               " is beyond <maxMemory slots='" + std::to_string(*d.max_memory_slots) +
                                               "'>");
  std::string id = m.alias ? *m.alias : m.model + std::to_string(slot);
  if (auto ok = check_representable(id, what + "<alias name>"); !ok) return ok.error();
  r->id = dimm_backend_id(id);
  if (m.model == "nvdimm") {
    if (!m.source_path) return make_error(errc::missing_element, what + ": <source><path> is required for nvdimm");
    r->nvdimm_path = m.source_path;
    r->nvdimm_pmem = m.source_pmem.value_or(false);
    std::uint64_t label = m.target_label_bytes.value_or(0);
    r->size = label + round_up(m.target_size_bytes - std::min(label, m.target_size_bytes), align);
  } else {
    r->size = round_up(m.target_size_bytes, align);
  }
  auto o = b.backend(*r);
  if (!o) return o.error();
  dimm_objects out;
  out.backend = std::move(*o);
  out.size_bytes = r->size;
  out.align_bytes = align;
  out.hugepage_bytes = r->page.value_or(0);
  auto& dev = out.device;
  dev["driver"] = m.model == "dimm" ? "pc-dimm" : "nvdimm";
  dev["node"] = m.target_node.value_or(0);
  if (m.model == "nvdimm" && m.target_label_bytes) dev["label-size"] = *m.target_label_bytes;
  if (m.model == "nvdimm" && m.target_readonly.value_or(false)) dev["unarmed"] = true;
  dev["memdev"] = r->id;
  dev["id"] = id;
  dev["slot"] = slot;
  if (m.address_base) dev["addr"] = *m.address_base;
  return out;
}

result<void> plan_memory_devices(const config::domain& d, const memory_builder& b, pci_allocator& pci,
                                 memory_plan& plan) {
  using config::MiB;
  // Memory devices, in document order. DIMM slots: explicit ones first, the
  // others take the lowest free slot; ids follow the slot as in libvirt.
  std::set<unsigned> used_slots;
  for (const auto& m : d.devices.memory_devices)
    if (m.address_slot) used_slots.insert(*m.address_slot);
  unsigned virtio_mem_count = 0;
  for (std::size_t i = 0; i < d.devices.memory_devices.size(); ++i) {
    const auto& m = d.devices.memory_devices[i];
    std::string what = "<memory model='" + m.model + "'> #" + std::to_string(i + 1);
    unsigned node = m.target_node.value_or(0);

    if (m.model == "dimm" || m.model == "nvdimm") {
      unsigned slot = 0;
      if (m.address_slot) {
        slot = *m.address_slot;
      } else {
        while (used_slots.count(slot)) ++slot;
        used_slots.insert(slot);
      }
      auto dimm = build_dimm(d, b, m, slot, what);
      if (!dimm) return dimm.error();
      if (m.model == "nvdimm") plan.nvdimm = true;
      plan.devices.add_json("-object", dimm->backend);
      plan.devices.add_device(std::move(dimm->device));
    } else if (m.model == "virtio-mem") {
      std::uint64_t align = 0;
      auto r = device_request(d, b, m, what, align);
      if (!r) return r.error();
      std::string id = m.alias ? *m.alias : "virtiomem" + std::to_string(virtio_mem_count++);
      if (auto ok = check_representable(id, what + "<alias name>"); !ok) return ok.error();
      r->id = dimm_backend_id(id);
      r->virtio_mem = true;
      std::uint64_t block = m.target_block_bytes.value_or(2 * MiB);
      r->size = round_up(m.target_size_bytes, std::max(align, block));
      bool prealloc = false;
      auto o = b.backend(*r, &prealloc);
      if (!o) return o.error();
      plan.devices.add_json("-object", *o);
      auto placed = pci.place_endpoint(m.pci, what);
      if (!placed) return placed.error();
      boost::json::object dev;
      dev["driver"] = "virtio-mem-pci";
      dev["node"] = node;
      dev["block-size"] = block;
      dev["requested-size"] = m.target_requested_bytes.value_or(0);
      dev["memdev"] = r->id;
      if (prealloc) dev["prealloc"] = true;
      if (m.target_address_base) dev["memaddr"] = *m.target_address_base;
      if (m.target_dynamic_memslots.value_or(false)) dev["dynamic-memslots"] = true;
      dev["id"] = id;
      plan.devices.add_device(std::move(dev), *placed);
    } else {
      return make_error(errc::unsupported, what + ": memory model '" + m.model +
                                               "' is not supported (dimm, nvdimm, virtio-mem)");
    }
  }
  return {};
}

}  // namespace vnumad::qemu::detail
