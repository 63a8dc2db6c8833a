// The user QEMU runs as (vnumad.conf `runas`, default vnumad-qemu): its ids
// resolved from the user database once per start, and a probe that asks the
// kernel what that user may open, from a child that has become the user.
//
// vnumad drops privileges itself, in the forked child before exec, as libvirt
// does (virCommand's setgroups/setgid/setuid), not with QEMU's
// `-run-with user=`: QEMU opens its disks, kernel and chardevs before that
// drop, so those opens would still be root's.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::qemu {

inline constexpr std::string_view default_qemu_user = "vnumad-qemu";

struct qemu_credentials {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> groups;  // supplementary groups (e.g. kvm for /dev/kvm), the primary one included
  bool is_root() const { return uid == 0; }
};

// getpwnam + getgrouplist. A user that does not exist is
// errc::not_found: "runas = NAME: no such user ...", naming the key.
result<qemu_credentials> resolve_qemu_user(const std::string& name);

// What a probed path must allow.
enum class access_need {
  read,           // R_OK
  write,          // W_OK
  read_write,     // R_OK | W_OK
  create_in_dir,  // W_OK | X_OK on a directory: a new file can be made in it
};

struct access_probe {
  std::filesystem::path path;
  access_need need = access_need::read;
};

// For each probe, 0 when `who` may open the path as needed, else the errno
// its access(2) gave (EACCES, ENOENT, ...). Runs access(2) in a forked child
// that has dropped to `who`, so the kernel's own checks apply: modes, ACLs,
// every directory on the way, read-only mounts.
result<std::vector<int>> probe_access_as(const qemu_credentials& who, const std::vector<access_probe>& probes);

}  // namespace vnumad::qemu
