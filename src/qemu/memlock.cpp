#include "qemu/memlock.hpp"

#include <algorithm>

namespace vnumad::qemu {

std::optional<std::uint64_t> memlock_limit_bytes(const config::domain& d) {
  if (!d.memory_backing || !d.memory_backing->locked) return std::nullopt;
  std::uint64_t guest = std::max(d.total_memory_bytes(), d.max_memory_bytes.value_or(0));
  std::uint64_t limit = guest + qemu_own_lock_bytes;
  if (d.type == "qemu") limit += d.tcg_tb_cache_bytes.value_or(tcg_default_tb_cache_bytes);
  return limit;
}

}  // namespace vnumad::qemu
