// What vnumad trusts on disk, as sshd's StrictModes: a domain file names the
// program QEMU runs as root and the files it opens, so only someone who could
// be root anyway may write it. A file is trusted when it, and every directory
// above it, is owned by root (or by the daemon's effective uid) and is not
// writable by group or others. A directory writable by others is accepted only
// with the sticky bit (/tmp), where no one can replace another's entries.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>
#include <unistd.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vnumad::config {

struct path_facts {
  uid_t uid = 0;
  mode_t mode = 0;  // st_mode: type and permission bits
};

// Why one path is not trusted (nullopt: it is), e.g. "owned by uid 65534, not
// root" or "writable by group (mode 0775)". Pure: the facts come from lstat.
std::optional<std::string> distrust_reason(const path_facts& facts, uid_t trusted_uid);

// Refuses `path` unless it and every ancestor pass distrust_reason. Symbolic
// links are followed (the target's chain is checked too), so a link in a
// trusted dir to a user's file is refused. `what` names the path in the
// message ("domain file", "config dir"). permission_denied errors name the
// path at fault and the reason.
result<void> check_trusted_path(const std::filesystem::path& path, std::string_view what,
                                uid_t trusted_uid = ::geteuid());

// Opens `path` for vnumad's own logs and state: O_NOFOLLOW | O_CLOEXEC are
// added to `flags`, so a link planted at the path is refused (the target is
// untouched), and the directory it is in must pass distrust_reason (checked
// on the opened directory, then the file opened relative to it). Returns the
// fd; the message of a refusal names the path and what is wrong.
result<int> open_in_trusted_dir(const std::filesystem::path& path, int flags, mode_t mode = 0600,
                                uid_t trusted_uid = ::geteuid());

}  // namespace vnumad::config
