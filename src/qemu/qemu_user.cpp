#include "qemu/qemu_user.hpp"

#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vnumad::qemu {

result<qemu_credentials> resolve_qemu_user(const std::string& name) {
  std::vector<char> buffer(16384);
  passwd entry{};
  passwd* found = nullptr;
  const int err = ::getpwnam_r(name.c_str(), &entry, buffer.data(), buffer.size(), &found);
  if (err != 0)
    return make_error(errc::io_error, "runas = " + name + ": cannot read the user database: " + std::strerror(err));
  if (!found)
    return make_error(errc::not_found,
                      "runas = " + name + ": no such user; create it (adduser --system --group --no-create-home " +
                          name + ") or set runas in vnumad.conf to an existing user (runas = root runs QEMU as root)");
  qemu_credentials c{.name = name, .uid = found->pw_uid, .gid = found->pw_gid, .groups = {}};
  int count = 32;
  for (;;) {
    c.groups.assign(static_cast<std::size_t>(count), 0);
    int n = count;
    if (::getgrouplist(name.c_str(), c.gid, c.groups.data(), &n) >= 0) {
      c.groups.resize(static_cast<std::size_t>(n));
      break;
    }
    if (n <= count) return make_error(errc::io_error, "runas = " + name + ": getgrouplist failed");
    count = n;
  }
  return c;
}

result<std::vector<int>> probe_access_as(const qemu_credentials& who, const std::vector<access_probe>& probes) {
  std::vector<int> results(probes.size(), 0);
  if (probes.empty()) return results;
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0)
    return make_error(errc::io_error, std::string("access probe: pipe2: ") + std::strerror(errno));
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return make_error(errc::process_failed, std::string("access probe: fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Only async-signal-safe calls: the daemon may have threads.
    ::close(fds[0]);
    if (::setgroups(who.groups.size(), who.groups.data()) != 0 || ::setgid(who.gid) != 0 || ::setuid(who.uid) != 0)
      ::_exit(126);
    for (std::size_t i = 0; i < probes.size(); ++i) {
      int mode = R_OK;
      switch (probes[i].need) {
        case access_need::read: mode = R_OK; break;
        case access_need::write: mode = W_OK; break;
        case access_need::read_write: mode = R_OK | W_OK; break;
        case access_need::create_in_dir: mode = W_OK | X_OK; break;
      }
      results[i] = ::access(probes[i].path.c_str(), mode) == 0 ? 0 : errno;
    }
    const auto bytes = results.size() * sizeof(int);
    ::_exit(::write(fds[1], results.data(), bytes) == static_cast<ssize_t>(bytes) ? 0 : 125);
  }
  ::close(fds[1]);
  std::size_t got = 0;
  auto* out = reinterpret_cast<char*>(results.data());
  const std::size_t want = results.size() * sizeof(int);
  while (got < want) {
    const ssize_t n = ::read(fds[0], out + got, want - got);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    got += static_cast<std::size_t>(n);
  }
  ::close(fds[0]);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (got != want)
    return make_error(errc::process_failed, "access probe as user '" + who.name + "' (uid " +
                                                std::to_string(who.uid) + "): the child could not drop privileges");
  return results;
}

}  // namespace vnumad::qemu
