// prepare_file_access: the rule of file_access.hpp applied to a real host.
#include "qemu/file_grants.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vnumad::qemu {

namespace fs = std::filesystem;

namespace {

std::string errno_text(int err) { return std::strerror(err); }

std::string where_allowed(const access_rules& rules) {
  std::string dirs;
  for (const auto& d : rules.image_dirs) dirs += (dirs.empty() ? "" : " ") + d.string();
  return "vnumad gives QEMU only files under image_dirs (" + (dirs.empty() ? std::string("none") : dirs) +
         "), serial logs under log_dir (" + rules.log_dir.string() + "), and files its user may already open";
}

const char* need_text(access_need n) {
  switch (n) {
    case access_need::read: return "read";
    case access_need::write: return "write";
    case access_need::read_write: return "read and write";
    case access_need::create_in_dir: return "create files in";
  }
  return "open";
}

// A file in an image dir may be given only if nobody but root could have put
// it there: the image dir is root's and not writable by group or others, and
// the file has one link (a hard link would give away the file it links to).
result<void> check_givable(const host_file_use& use, const fs::path& canonical, const struct stat& st,
                           const access_rules& rules) {
  for (const auto& dir : rules.image_dirs) {
    if (!is_within(canonical, dir)) continue;
    struct stat ds {};
    if (::stat(dir.c_str(), &ds) != 0 || ds.st_uid != 0 || (ds.st_mode & (S_IWGRP | S_IWOTH)))
      return make_error(errc::permission_denied, use.element + ": image dir " + dir.string() +
                                                     " must be owned by root and not writable by group or others");
  }
  if (S_ISDIR(st.st_mode))
    return make_error(errc::invalid_value, use.element + ": " + canonical.string() + " is a directory");
  if (S_ISREG(st.st_mode) && st.st_nlink > 1)
    return make_error(errc::permission_denied, use.element + ": " + canonical.string() + " has " +
                                                   std::to_string(st.st_nlink) +
                                                   " hard links; vnumad gives QEMU only files with one");
  return {};
}

class preparation {
 public:
  preparation(const qemu_credentials& who, const access_rules& rules, const fs::path& grants_file,
              const std::vector<fs::path>& others)
      : who_(who), rules_(rules), grants_file_(grants_file), others_(others) {}
  ~preparation() {
    if (!done_ && !out.grants.empty()) (void)restore_file_grants(grants_file_, others_);
  }

  result<void> give(const host_file_use& use, const fs::path& canonical) {
    const int fd = ::open(canonical.c_str(), O_PATH | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return make_error(errc::io_error, use.element + ": " + canonical.string() + ": " + errno_text(errno));
    owned_fd guard(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0) return make_error(errc::io_error, use.element + ": fstat: " + errno_text(errno));
    if (auto ok = check_givable(use, canonical, st, rules_); !ok) return ok;
    file_grant g{.path = canonical,
                 .dev = st.st_dev,
                 .ino = st.st_ino,
                 .uid = st.st_uid,
                 .gid = st.st_gid,
                 .mode = st.st_mode,
                 .given_to = who_.uid};
    if (st.st_uid == who_.uid) {
      // Already the user's: given by another running guest (whose record
      // has the original owner), or simply owned by it; nothing to restore then.
      if (!original_from_others(g)) return {};
    }
    out.grants.push_back(g);
    // Recorded before the change, so that a crash in between still restores.
    if (auto saved = save_file_grants(grants_file_, out.grants); !saved) return saved;
    if (st.st_uid != who_.uid && ::fchownat(fd, "", who_.uid, who_.gid, AT_EMPTY_PATH) != 0)
      return make_error(errc::io_error, use.element + ": cannot give " + canonical.string() + " to user '" +
                                            who_.name + "': " + errno_text(errno));
    return {};
  }

  result<void> open_and_pass(const host_file_use& use, const fs::path& canonical, config::domain& argv_domain) {
    int fd = ::open(canonical.c_str(), O_WRONLY | O_CREAT | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK | O_CLOEXEC, 0640);
    if (fd < 0) return make_error(errc::io_error, use.element + ": cannot open " + canonical.string() + ": " + errno_text(errno));
    if (fd <= 2) {
      const int moved = ::fcntl(fd, F_DUPFD_CLOEXEC, 3);
      ::close(fd);
      fd = moved;
    }
    owned_fd file(fd);
    struct stat st {};
    if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
      return make_error(errc::invalid_value, use.element + ": " + canonical.string() + " is not a regular file");
    if (st.st_nlink > 1)
      return make_error(errc::permission_denied, use.element + ": " + canonical.string() + " has " +
                                                     std::to_string(st.st_nlink) + " hard links; refusing to truncate it");
    // QEMU truncates a file chardev it opens itself; the passed fd gets the same.
    if (::ftruncate(fd, 0) != 0 || ::fcntl(fd, F_SETFL, 0) != 0)
      return make_error(errc::io_error, use.element + ": " + canonical.string() + ": " + errno_text(errno));
    const std::string set = std::to_string(out.fds.size() + 1);
    out.extra_args.insert(out.extra_args.end(), {"-add-fd", "fd=" + std::to_string(fd) + ",set=" + set});
    auto& list = use.console ? argv_domain.devices.consoles : argv_domain.devices.serials;
    list[use.chardev_index].path = "/dev/fdset/" + set;
    out.fds.push_back(std::move(file));
    return {};
  }

  void finish() { done_ = true; }
  qemu_file_access out;

 private:
  bool original_from_others(file_grant& g) const {
    for (const auto& file : others_) {
      auto theirs = load_file_grants(file);
      if (!theirs) continue;
      for (const auto& t : *theirs)
        if (!t.created_dir && t.dev == g.dev && t.ino == g.ino) {
          g.uid = t.uid;
          g.gid = t.gid;
          g.mode = t.mode;
          return true;
        }
    }
    return false;
  }

  const qemu_credentials& who_;
  const access_rules& rules_;
  const fs::path& grants_file_;
  const std::vector<fs::path>& others_;
  bool done_ = false;
};

struct planned {
  host_file_use use;
  fs::path canonical;
  file_treatment treatment;
};

}  // namespace

result<qemu_file_access> prepare_file_access(const config::domain& d, const qemu_credentials& who,
                                             const access_rules& rules, const fs::path& grants_file,
                                             const std::vector<fs::path>& other_grant_files) {
  std::vector<planned> plan;
  std::vector<access_probe> probes;
  std::vector<std::size_t> probed;  // plan index of each probe
  for (auto& use : host_files(d)) {
    if (!use.path.is_absolute())
      return make_error(errc::invalid_value, use.element + ": '" + use.path.string() + "' is not an absolute path");
    std::error_code ec;
    fs::path canonical = use.role == file_role::chardev_log ? fs::weakly_canonical(use.path, ec)
                                                            : fs::canonical(use.path, ec);
    if (ec) return make_error(errc::io_error, use.element + ": " + use.path.string() + ": " + ec.message());
    const file_treatment t = treatment_for(use, canonical, rules);
    if (t == file_treatment::user_must_open) {
      access_probe p{.path = canonical, .need = access_need::read};
      if (use.role == file_role::image_read_write) p.need = access_need::read_write;
      if (use.role == file_role::chardev_log) {
        const bool exists = fs::exists(canonical, ec);
        p = exists ? access_probe{canonical, access_need::write} : access_probe{canonical.parent_path(), access_need::create_in_dir};
      }
      probes.push_back(p);
      probed.push_back(plan.size());
    }
    plan.push_back({std::move(use), std::move(canonical), t});
  }

  // Every check before any change.
  auto verdicts = probe_access_as(who, probes);
  if (!verdicts) return verdicts.error();
  for (std::size_t i = 0; i < probes.size(); ++i) {
    if ((*verdicts)[i] == 0) continue;
    const auto& p = plan[probed[i]];
    return make_error(errc::permission_denied,
                      p.use.element + ": refused: QEMU runs as user '" + who.name + "', which may not " +
                          need_text(probes[i].need) + " " + probes[i].path.string() + " (" +
                          errno_text((*verdicts)[i]) + "); " + where_allowed(rules));
  }

  preparation prep(who, rules, grants_file, other_grant_files);
  prep.out.argv_domain = d;
  for (const auto& p : plan) {
    if (p.treatment == file_treatment::give) {
      if (auto ok = prep.give(p.use, p.canonical); !ok) return ok.error();
    } else if (p.treatment == file_treatment::open_and_pass) {
      if (auto ok = prep.open_and_pass(p.use, p.canonical, prep.out.argv_domain); !ok) return ok.error();
    }
  }
  prep.finish();
  return std::move(prep.out);
}

}  // namespace vnumad::qemu
