#include "qemu/memory_hotplug.hpp"

#include "qemu/argv_memory.hpp"

namespace vnumad::qemu {

result<dimm_hotplug> build_dimm_hotplug(const config::domain& running, const host_facts& host,
                                        const config::memory_device_def& dimm) {
  const detail::memory_builder builder(running, host);
  const std::string what = "attach-memory (dimm on cell " + std::to_string(dimm.target_node.value_or(0)) + ")";
  auto built = detail::build_dimm(running, builder, dimm, 0, what);
  if (!built) return built.error();
  built->device.erase("slot");  // the running guest's free slot, QEMU's choice
  if (dimm.target_size_bytes == 0 || built->size_bytes != dimm.target_size_bytes)
    return make_error(errc::invalid_value,
                      what + ": size " + config::format_size(dimm.target_size_bytes) + " must be a non-zero multiple of " +
                          config::format_size(built->align_bytes) +
                          (built->hugepage_bytes ? " (the cell's huge page size)" : ""));
  return dimm_hotplug{std::move(built->backend), std::move(built->device), built->hugepage_bytes};
}

}  // namespace vnumad::qemu
