#include "reactor/qemu_access.hpp"

#include "qemu/memlock.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace vnumad::reactor {

namespace fs = std::filesystem;

namespace {

bool uses_hugepages(const config::domain& d) {
  if (d.memory_backing && d.memory_backing->hugepages) return true;
  return std::any_of(d.devices.memory_devices.begin(), d.devices.memory_devices.end(),
                     [](const auto& m) { return m.source_pagesize_bytes.has_value(); });
}

// A folder only QEMU's user (and root) may use.
result<void> make_qemu_dir(const fs::path& dir, const std::optional<qemu::qemu_credentials>& who) {
  if (::mkdir(dir.c_str(), 0700) != 0 && errno != EEXIST)
    return make_error(errc::io_error, dir.string() + ": cannot create: " + std::strerror(errno));
  struct stat st {};
  if (::lstat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    return make_error(errc::io_error, dir.string() + ": not a directory");
  const uid_t uid = who ? who->uid : 0;
  const gid_t gid = who ? who->gid : 0;
  if (::lchown(dir.c_str(), uid, gid) != 0 || ::chmod(dir.c_str(), 0700) != 0)
    return make_error(errc::io_error, dir.string() + ": cannot give to the QEMU user: " + std::strerror(errno));
  return {};
}

}  // namespace

result<qemu_launch> prepare_qemu_launch(const config::daemon_config& cfg, const fs::path& log_dir,
                                        const state_store& store, const config::domain& running,
                                        qemu::host_facts& facts,
                                        const std::function<void(std::string_view)>& warn) {
  qemu_launch launch;
  auto who = qemu::resolve_qemu_user(cfg.runas);
  if (!who) return who.error();
  if (!who->is_root()) launch.run_as = *who;
  if (auto ok = make_qemu_dir(store.qemu_dir(running.name), launch.run_as); !ok) return ok.error();
  facts.state_dir = store.qemu_dir(running.name).string();

  if (!launch.run_as) {
    warn("runas = " + cfg.runas + ": QEMU runs as root, with every privilege; a domain file can make it open any host file");
    launch.files.argv_domain = running;
    return launch;
  }
  for (const auto& i : running.devices.interfaces)
    if (i.type == "bridge" || i.type == "network")
      return make_error(errc::unsupported, "<interface type='" + i.type + "'>: QEMU runs as user '" + who->name +
                                               "', which cannot create and attach a tap (qemu-bridge-helper needs "
                                               "CAP_NET_ADMIN); use <interface type='user'> or set runas = root");

  qemu::access_rules rules;
  std::error_code ec;
  for (const auto& dir : cfg.image_dirs) rules.image_dirs.push_back(fs::weakly_canonical(dir, ec));
  rules.log_dir = fs::weakly_canonical(log_dir, ec);
  const fs::path grants = store.grants_file(running.name);
  auto files = qemu::prepare_file_access(running, *who, rules, grants, store.grant_files_except(running.name));
  if (!files) return files.error();
  launch.files = std::move(*files);

  // QEMU creates (and at once unlinks) its huge page files on the mount: a
  // folder of its own on each, removed at stop, as libvirt does.
  if (uses_hugepages(running)) {
    for (auto& [size, mount] : facts.hugetlbfs_mounts) {
      if (!fs::is_directory(mount, ec)) continue;
      const fs::path dir = fs::path(mount) / ("vnumad-" + running.name);
      ::rmdir(dir.c_str());  // left by a daemon that was killed mid-start
      if (auto ok = qemu::give_new_dir(dir, *who, grants, launch.files.grants); !ok) return ok.error();
      mount = dir.string();
    }
  }
  launch.memlock_bytes = qemu::memlock_limit_bytes(running);
  return launch;
}

}  // namespace vnumad::reactor
