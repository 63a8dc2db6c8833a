// Handing host files to the QEMU user for one guest's life, and taking them
// back (the rule is in file_access.hpp).
//
// What was given is written to the guest's grants file (in its root-only
// state dir, before QEMU starts) so that a daemon that was killed and
// restarted still restores it; a file another running guest also holds is
// restored only when the last holder stops.
#pragma once

#include "config/domain.hpp"
#include "qemu/file_access.hpp"
#include "qemu/qemu_user.hpp"
#include "util/error.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vnumad::qemu {

struct file_grant {
  std::filesystem::path path;  // canonical
  std::uint64_t dev = 0, ino = 0;
  uid_t uid = 0;               // the original owner and mode
  gid_t gid = 0;
  mode_t mode = 0;
  uid_t given_to = 0;
  bool created_dir = false;    // made by vnumad for QEMU: removed, not chowned back
};

// A descriptor closed when its owner goes.
class owned_fd {
 public:
  explicit owned_fd(int fd = -1) : fd_(fd) {}
  owned_fd(owned_fd&& o) noexcept : fd_(std::exchange(o.fd_, -1)) {}
  owned_fd& operator=(owned_fd&& o) noexcept;
  owned_fd(const owned_fd&) = delete;
  owned_fd& operator=(const owned_fd&) = delete;
  ~owned_fd();
  int get() const { return fd_; }

 private:
  int fd_;
};

struct qemu_file_access {
  // The domain to build argv from: chardev logs vnumad opened point at
  // /dev/fdset/N.
  config::domain argv_domain;
  std::vector<std::string> extra_args;  // -add-fd fd=M,set=N
  std::vector<owned_fd> fds;            // what QEMU inherits
  std::vector<file_grant> grants;
};

// Applies the rule to every host file of `d` for QEMU running as `who`:
// probes first (no side effects), then gives and opens. Refusals name the
// element and the path. On failure whatever was given is taken back.
result<qemu_file_access> prepare_file_access(const config::domain& d, const qemu_credentials& who,
                                             const access_rules& rules, const std::filesystem::path& grants_file,
                                             const std::vector<std::filesystem::path>& other_grant_files);

// Creates `dir` (mode 0700, owned by `who`) and records it in the grants
// file, so that it is removed at stop. An existing dir is an error.
result<void> give_new_dir(const std::filesystem::path& dir, const qemu_credentials& who,
                          const std::filesystem::path& grants_file, std::vector<file_grant>& grants);

// Takes back everything in the grants file (newest first) and removes it: a
// file is chowned back and its mode restored when it is still the same file
// (device and inode) and still owned by the user it was given to, and no
// other grants file holds it. Returns what could not be restored.
std::vector<std::string> restore_file_grants(const std::filesystem::path& grants_file,
                                             const std::vector<std::filesystem::path>& other_grant_files);

result<std::vector<file_grant>> load_file_grants(const std::filesystem::path& grants_file);
result<void> save_file_grants(const std::filesystem::path& grants_file, const std::vector<file_grant>& grants);

}  // namespace vnumad::qemu
