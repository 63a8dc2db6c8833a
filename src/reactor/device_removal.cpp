#include "reactor/device_removal.hpp"

namespace vnumad::reactor {

std::optional<removal_outcome> remove_device(const std::string& guest, config::domain& running,
                                             vnuma::ledger& ledger, std::string_view device_id) {
  auto removal = apply_device_removal(running, device_id);
  if (!removal) return std::nullopt;
  removal_outcome out{*removal, std::nullopt};
  if (removal->dimm)
    if (auto released = ledger.remove_memory(guest, removal->node, removal->dimm->target_size_bytes,
                                             removal->hugepage_bytes);
        !released)
      out.ledger_failure = released.error();
  return out;
}

}  // namespace vnumad::reactor
