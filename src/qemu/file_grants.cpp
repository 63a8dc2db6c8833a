// Grants: chown to the QEMU user and back, and the grants file (JSON).
#include "qemu/file_grants.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace vnumad::qemu {

namespace json = boost::json;
namespace fs = std::filesystem;

owned_fd& owned_fd::operator=(owned_fd&& o) noexcept {
  if (this != &o) {
    if (fd_ >= 0) ::close(fd_);
    fd_ = std::exchange(o.fd_, -1);
  }
  return *this;
}

owned_fd::~owned_fd() {
  if (fd_ >= 0) ::close(fd_);
}

namespace {

std::string errno_text(int err) { return std::strerror(err); }

json::object to_json(const file_grant& g) {
  return {{"path", g.path.string()}, {"dev", g.dev},           {"ino", g.ino},
          {"uid", g.uid},            {"gid", g.gid},           {"mode", g.mode},
          {"given_to", g.given_to},  {"created_dir", g.created_dir}};
}

file_grant from_json(const json::object& o) {
  file_grant g;
  g.path = std::string(o.at("path").as_string());
  g.dev = o.at("dev").to_number<std::uint64_t>();
  g.ino = o.at("ino").to_number<std::uint64_t>();
  g.uid = o.at("uid").to_number<uid_t>();
  g.gid = o.at("gid").to_number<gid_t>();
  g.mode = o.at("mode").to_number<mode_t>();
  g.given_to = o.at("given_to").to_number<uid_t>();
  g.created_dir = o.at("created_dir").as_bool();
  return g;
}

bool same_file(const file_grant& a, const file_grant& b) { return a.dev == b.dev && a.ino == b.ino; }

bool held_elsewhere(const file_grant& g, const std::vector<fs::path>& others) {
  for (const auto& file : others) {
    auto theirs = load_file_grants(file);
    if (!theirs) continue;
    for (const auto& t : *theirs)
      if (same_file(t, g)) return true;
  }
  return false;
}

std::string restore_one(const file_grant& g) {
  if (g.created_dir) {
    if (::rmdir(g.path.c_str()) != 0 && errno != ENOENT)
      return g.path.string() + ": cannot remove the directory made for QEMU: " + errno_text(errno);
    return {};
  }
  const int fd = ::open(g.path.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return errno == ENOENT ? std::string() : g.path.string() + ": cannot open to restore: " + errno_text(errno);
  struct stat st {};
  std::string problem;
  if (::fstat(fd, &st) != 0) {
    problem = g.path.string() + ": fstat: " + errno_text(errno);
  } else if (st.st_dev != g.dev || st.st_ino != g.ino || st.st_uid != g.given_to) {
    // Replaced or re-owned meanwhile: not ours to change any more.
  } else if (::fchownat(fd, "", g.uid, g.gid, AT_EMPTY_PATH) != 0) {
    problem = g.path.string() + ": cannot give back to uid " + std::to_string(g.uid) + ": " + errno_text(errno);
  } else if (!S_ISLNK(st.st_mode)) {
    // chown clears set-id bits; O_PATH fds take no fchmod, their /proc link does.
    const std::string proc = "/proc/self/fd/" + std::to_string(fd);
    if (::chmod(proc.c_str(), g.mode & 07777) != 0)
      problem = g.path.string() + ": cannot restore mode: " + errno_text(errno);
  }
  ::close(fd);
  return problem;
}

}  // namespace

result<std::vector<file_grant>> load_file_grants(const fs::path& grants_file) {
  std::ifstream in(grants_file);
  if (!in) return std::vector<file_grant>{};
  std::stringstream text;
  text << in.rdbuf();
  boost::system::error_code ec;
  json::value v = json::parse(text.str(), ec);
  if (ec || !v.is_array()) return make_error(errc::protocol_error, grants_file.string() + ": not a JSON array");
  std::vector<file_grant> out;
  try {
    for (const auto& g : v.as_array()) out.push_back(from_json(g.as_object()));
  } catch (const std::exception& e) {
    return make_error(errc::protocol_error, grants_file.string() + ": " + e.what());
  }
  return out;
}

result<void> save_file_grants(const fs::path& grants_file, const std::vector<file_grant>& grants) {
  json::array a;
  for (const auto& g : grants) a.push_back(to_json(g));
  fs::path tmp = grants_file;
  tmp += ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) return make_error(errc::io_error, tmp.string() + ": cannot create: " + errno_text(errno));
  const std::string text = json::serialize(a) + "\n";
  const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) && ::fsync(fd) == 0;
  ::close(fd);
  if (!written || ::rename(tmp.c_str(), grants_file.c_str()) != 0)
    return make_error(errc::io_error, grants_file.string() + ": cannot write: " + errno_text(errno));
  return {};
}

result<void> give_new_dir(const fs::path& dir, const qemu_credentials& who, const fs::path& grants_file,
                          std::vector<file_grant>& grants) {
  if (::mkdir(dir.c_str(), 0700) != 0)
    return make_error(errc::io_error, dir.string() + ": cannot create a directory for QEMU: " + errno_text(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || ::lchown(dir.c_str(), who.uid, who.gid) != 0) {
    const int err = errno;
    ::rmdir(dir.c_str());
    return make_error(errc::io_error, dir.string() + ": cannot give to user '" + who.name + "': " + errno_text(err));
  }
  grants.push_back({.path = dir,
                    .dev = st.st_dev,
                    .ino = st.st_ino,
                    .uid = 0,
                    .gid = 0,
                    .mode = st.st_mode,
                    .given_to = who.uid,
                    .created_dir = true});
  return save_file_grants(grants_file, grants);
}

std::vector<std::string> restore_file_grants(const fs::path& grants_file, const std::vector<fs::path>& other_grant_files) {
  std::vector<std::string> problems;
  auto grants = load_file_grants(grants_file);
  if (!grants) return {grants.error().message};
  for (auto it = grants->rbegin(); it != grants->rend(); ++it) {
    if (!it->created_dir && held_elsewhere(*it, other_grant_files)) continue;
    if (auto problem = restore_one(*it); !problem.empty()) problems.push_back(std::move(problem));
  }
  std::error_code ec;
  fs::remove(grants_file, ec);
  return problems;
}

}  // namespace vnumad::qemu
