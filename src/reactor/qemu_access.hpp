// What a guest's QEMU runs as and may open: the runas user resolved, the
// guest's files given or passed (qemu/file_access.hpp), QEMU's own folder in
// the state dir and on each hugetlbfs mount, and its RLIMIT_MEMLOCK. Every
// grant is recorded in the guest's state dir, so state_store::remove (at
// stop, on a failed start, for a stale record after a daemon restart) gives
// it back.
#pragma once

#include "config/daemon_config.hpp"
#include "config/domain.hpp"
#include "qemu/argv.hpp"
#include "qemu/file_grants.hpp"
#include "qemu/qemu_user.hpp"
#include "reactor/state_store.hpp"

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

namespace vnumad::reactor {

struct qemu_launch {
  std::optional<qemu::qemu_credentials> run_as;  // unset: QEMU stays root (runas = root)
  qemu::qemu_file_access files;                  // argv_domain, -add-fd args and their fds
  std::optional<std::uint64_t> memlock_bytes;
};

// Fails, before QEMU exists, for a runas user that does not exist, a file the
// guest may not be given, or a device the QEMU user cannot use. Adjusts
// `facts` (state dir and hugetlbfs paths QEMU writes to).
result<qemu_launch> prepare_qemu_launch(const config::daemon_config& cfg, const std::filesystem::path& log_dir,
                                        const state_store& store, const config::domain& running,
                                        qemu::host_facts& facts,
                                        const std::function<void(std::string_view)>& warn);

}  // namespace vnumad::reactor
