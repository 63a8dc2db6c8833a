#include "config/path_trust.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace vnumad::config {
namespace fs = std::filesystem;

namespace {

std::string octal_mode(mode_t mode) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04o", static_cast<unsigned>(mode & 07777));
  return buf;
}

std::string user_name(uid_t uid) {
  std::string out = "uid " + std::to_string(uid);
  if (const passwd* pw = ::getpwuid(uid)) out += " (" + std::string(pw->pw_name) + ")";
  return out;
}

// `path` (absolute, no symlinks) and each directory above it.
result<void> check_chain(const fs::path& path, std::string_view what, const fs::path& subject, uid_t trusted_uid) {
  for (fs::path p = path;; p = p.parent_path()) {
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0)
      return make_error(errc::io_error, std::string(what) + " " + subject.string() + ": cannot check " + p.string() +
                                            ": " + std::strerror(errno));
    if (auto why = distrust_reason(path_facts{st.st_uid, st.st_mode}, trusted_uid))
      return make_error(errc::permission_denied,
                        std::string(what) + " " + subject.string() + " refused: " + p.string() + " is " + *why +
                            " (vnumad reads only what root owns and only root can write, in directories likewise)");
    if (p == p.root_path() || !p.has_relative_path()) break;
  }
  return {};
}

}  // namespace

std::optional<std::string> distrust_reason(const path_facts& facts, uid_t trusted_uid) {
  if (facts.uid != 0 && facts.uid != trusted_uid) return "owned by " + user_name(facts.uid) + ", not root";
  const mode_t writable = facts.mode & (S_IWGRP | S_IWOTH);
  if (!writable) return std::nullopt;
  // A sticky directory (/tmp): others may add entries but not replace ours.
  if (S_ISDIR(facts.mode) && (facts.mode & S_ISVTX)) return std::nullopt;
  std::string by = (writable & S_IWGRP) && (writable & S_IWOTH) ? "group and others"
                   : (writable & S_IWGRP)                        ? "group"
                                                                 : "others";
  return "writable by " + by + " (mode " + octal_mode(facts.mode) + ")";
}

result<void> check_trusted_path(const fs::path& path, std::string_view what, uid_t trusted_uid) {
  std::error_code ec;
  const fs::path absolute = fs::absolute(path, ec);
  if (ec) return make_error(errc::io_error, std::string(what) + " " + path.string() + ": " + ec.message());
  // The directory the name is in (a link there is an entry of that dir)...
  const fs::path dir = fs::canonical(absolute.parent_path(), ec);
  if (ec)
    return make_error(errc::io_error, std::string(what) + " " + path.string() + ": cannot resolve " +
                                          absolute.parent_path().string() + ": " + ec.message());
  if (auto ok = check_chain(dir, what, path, trusted_uid); !ok) return ok;
  // ...and the file itself wherever it really is.
  const fs::path target = fs::canonical(absolute, ec);
  if (ec) return make_error(errc::io_error, std::string(what) + " " + path.string() + ": " + ec.message());
  if (target == dir) return {};
  return check_chain(target, what, path, trusted_uid);
}

result<int> open_in_trusted_dir(const fs::path& path, int flags, mode_t mode, uid_t trusted_uid) {
  const fs::path dir = path.parent_path().empty() ? fs::path(".") : path.parent_path();
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0) return make_error(errc::io_error, path.string() + ": cannot open " + dir.string() + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(dfd, &st) != 0) {
    const int err = errno;
    ::close(dfd);
    return make_error(errc::io_error, path.string() + ": cannot check " + dir.string() + ": " + std::strerror(err));
  }
  if (auto why = distrust_reason(path_facts{st.st_uid, st.st_mode}, trusted_uid)) {
    ::close(dfd);
    return make_error(errc::permission_denied, path.string() + ": refused: its directory " + dir.string() + " is " +
                                                   *why + " (vnumad writes only in directories root alone can write)");
  }
  const int fd = ::openat(dfd, path.filename().c_str(), flags | O_NOFOLLOW | O_CLOEXEC, mode);
  const int err = errno;
  ::close(dfd);
  if (fd >= 0) return fd;
  if (err == ELOOP)
    return make_error(errc::permission_denied, path.string() + ": is a symbolic link; vnumad does not follow links "
                                                   "for its logs and state (remove it)");
  return make_error(errc::io_error, path.string() + ": cannot open: " + std::strerror(err));
}

}  // namespace vnumad::config
