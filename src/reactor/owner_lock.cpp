#include "reactor/owner_lock.hpp"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

namespace vnumad::reactor {

namespace fs = std::filesystem;

std::optional<pid_t> parse_proc_locks_line(std::string_view line, unsigned major, unsigned minor, ino_t ino) {
  std::istringstream in{std::string(line)};
  std::string ordinal, kind, mode, access, device;
  long pid = 0;
  if (!(in >> ordinal >> kind)) return std::nullopt;
  if (kind == "->") return std::nullopt;  // a waiter, not the holder
  if (!(in >> mode >> access >> pid >> device)) return std::nullopt;
  // MAJ:MIN:INODE, the first two in hex, the inode in decimal.
  unsigned maj = 0, min = 0;
  unsigned long long inode = 0;
  if (std::sscanf(device.c_str(), "%x:%x:%llu", &maj, &min, &inode) != 3) return std::nullopt;
  if (maj != major || min != minor || inode != static_cast<unsigned long long>(ino)) return std::nullopt;
  return static_cast<pid_t>(pid);
}

std::optional<pid_t> flock_holder(const fs::path& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);)
    if (auto pid = parse_proc_locks_line(line, ::major(st.st_dev), ::minor(st.st_dev), st.st_ino)) return pid;
  return std::nullopt;
}

result<owner_lock> owner_lock::take(const fs::path& dir, std::string_view what) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0)
    return make_error(errc::io_error, std::string(what) + " " + dir.string() + ": cannot open to lock it: " +
                                          std::strerror(errno));
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    ::close(fd);
    if (err != EWOULDBLOCK)
      return make_error(errc::io_error, std::string(what) + " " + dir.string() + ": flock failed: " + std::strerror(err));
    auto holder = flock_holder(dir);
    return make_error(errc::busy, std::string(what) + " " + dir.string() + " is locked by another vnumad (pid " +
                                      (holder ? std::to_string(*holder) : std::string("unknown")) +
                                      "): one daemon per state dir and cgroup root; stop that one first");
  }
  owner_lock lock;
  lock.fd_ = fd;
  lock.path_ = dir;
  return lock;
}

owner_lock::owner_lock(owner_lock&& other) noexcept : fd_(other.fd_), path_(std::move(other.path_)) { other.fd_ = -1; }

owner_lock& owner_lock::operator=(owner_lock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = other.fd_;
    path_ = std::move(other.path_);
    other.fd_ = -1;
  }
  return *this;
}

owner_lock::~owner_lock() {
  if (fd_ >= 0) ::close(fd_);
}

bool owner_lock::still_at_path() const {
  if (fd_ < 0) return false;
  struct stat held {}, now {};
  if (::fstat(fd_, &held) != 0 || ::stat(path_.c_str(), &now) != 0) return false;
  return held.st_dev == now.st_dev && held.st_ino == now.st_ino;
}

}  // namespace vnumad::reactor
