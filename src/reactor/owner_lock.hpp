// One daemon, one owner: vnumad holds an exclusive flock on its state dir and
// on the cgroup directory it creates guest groups in (<cgroup root>/vnumad),
// so a second daemon on the same host refuses to start instead of sharing
// them (and moving the first one's QEMU threads out of their cgroups when it
// destroys a guest of the same name). flock locks go with the open file, so
// they vanish with the daemon however it ends; O_CLOEXEC keeps QEMU, which
// vnumad spawns, from inheriting them.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

namespace vnumad::reactor {

class owner_lock {
 public:
  // Locks the directory `dir` (which must exist). Another holder is
  // errc::busy, naming `what`, the path and the other process's pid.
  static result<owner_lock> take(const std::filesystem::path& dir, std::string_view what);

  owner_lock() = default;
  owner_lock(owner_lock&& other) noexcept;
  owner_lock& operator=(owner_lock&& other) noexcept;
  owner_lock(const owner_lock&) = delete;
  owner_lock& operator=(const owner_lock&) = delete;
  ~owner_lock();

  bool held() const { return fd_ >= 0; }
  const std::filesystem::path& path() const { return path_; }
  // Whether the locked directory is still the one at path() (it can be
  // deleted and made again while the daemon runs).
  bool still_at_path() const;

 private:
  int fd_ = -1;
  std::filesystem::path path_;
};

// Who holds a flock on `path`, from /proc/locks (matched by device and inode).
std::optional<pid_t> flock_holder(const std::filesystem::path& path);

// One line of /proc/locks ("1: FLOCK  ADVISORY  WRITE 4242 00:1d:8142 0 EOF"):
// the holder's pid when it is a lock on device major:minor, inode `ino`.
std::optional<pid_t> parse_proc_locks_line(std::string_view line, unsigned major, unsigned minor, ino_t ino);

}  // namespace vnumad::reactor
