// How much memory a QEMU with <memoryBacking><locked/> (-overcommit
// mem-lock=on, i.e. mlockall) may lock: RLIMIT_MEMLOCK for a QEMU that runs
// without CAP_IPC_LOCK (any runas user but root).
//
// libvirt (qemuDomainGetMemLockLimitBytes) uses <hard_limit> when set and
// otherwise lifts the limit altogether for <locked/>, because it cannot know
// QEMU's own share; for VFIO it uses the guest's maximum memory + 1 GiB.
// vnumad follows the bounded rule for <locked/> too, so that a runaway QEMU
// still meets a limit: the guest's maximum memory (<maxMemory> when set, so
// hot-added DIMMs can be locked) + 1 GiB for QEMU's own allocations, plus the
// TCG translation cache (mlockall locks it too: <tb-cache>, else QEMU's 1 GiB
// default) for <domain type='qemu'>.
#pragma once

#include "config/domain.hpp"

#include <cstdint>
#include <optional>

namespace vnumad::qemu {

inline constexpr std::uint64_t qemu_own_lock_bytes = 1024ull * 1024 * 1024;
inline constexpr std::uint64_t tcg_default_tb_cache_bytes = 1024ull * 1024 * 1024;

// Unset when the domain does not lock its memory.
std::optional<std::uint64_t> memlock_limit_bytes(const config::domain& d);

}  // namespace vnumad::qemu
