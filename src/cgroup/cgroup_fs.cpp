#include "cgroup/cgroup_fs.hpp"

#include "cgroup/proc.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>

namespace vnumad::cgroup {
namespace fs = std::filesystem;
namespace {

errc errc_of(int err) {
  switch (err) {
    case ENOENT: return errc::not_found;
    case EINVAL:
    case ERANGE: return errc::invalid_value;
    case EACCES:
    case EPERM: return errc::permission_denied;
    case EBUSY: return errc::busy;
    default: return errc::io_error;
  }
}

error errno_error(std::string what, int err) {
  return make_error(errc_of(err), std::move(what) + ": " + std::strerror(err));
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool file_exists(const fs::path& p) {
  std::error_code ec;
  return fs::exists(p, ec);
}

// A file that lists cpuset among its words (cgroup.controllers, subtree_control).
bool lists_cpuset(const fs::path& file) {
  auto text = read_text_file(file);
  return text && list_contains_word(*text, "cpuset");
}

result<config::id_set> read_set(const fs::path& file) {
  auto text = read_text_file(file);
  if (!text) return text.error();
  std::string_view value = trim(*text);
  if (value.empty()) return config::id_set{};
  return config::parse_id_set(value, file.string());
}

result<std::vector<pid_t>> read_ids(const fs::path& file) {
  auto text = read_text_file(file);
  if (!text) return text.error();
  return parse_id_lines(*text, file.string());
}

result<void> write_set(const fs::path& file, const config::id_set& ids) {
  if (ids.empty()) return make_error(errc::invalid_value, "refusing to write an empty set to " + file.string());
  auto written = write_file(file, config::format_id_set(ids));
  if (written || written.error().code == errc::not_found) return written;
  // The kernel says ERANGE for ids it does not have and EACCES (EINVAL on
  // older kernels) for ids outside the parent's set: all are a bad value.
  return make_error(errc::invalid_value, written.error().message +
                                             " (the set must name existing ids within the parent group's " +
                                             file.filename().string() + ")");
}

bool vanished(const result<void>& r) { return !r && thread_vanished(r.error()); }

}  // namespace

std::string_view to_string(backend kind) {
  switch (kind) {
    case backend::none: return "none";
    case backend::v1: return "v1";
    case backend::v2: return "v2";
  }
  return "unknown";
}

bool thread_vanished(const error& e) { return e.message.find(std::strerror(ESRCH)) != std::string::npos; }

bool list_contains_word(std::string_view list, std::string_view word) {
  std::size_t pos = 0;
  while (pos < list.size()) {
    std::size_t start = list.find_first_not_of(" \t\n", pos);
    if (start == std::string_view::npos) break;
    std::size_t end = list.find_first_of(" \t\n", start);
    if (end == std::string_view::npos) end = list.size();
    std::string_view w = list.substr(start, end - start);
    if (!w.empty() && (w.front() == '+' || w.front() == '-')) w.remove_prefix(1);
    if (w == word) return true;
    pos = end;
  }
  return false;
}

result<void> write_file(const fs::path& path, std::string_view value) {
  int fd = ::open(path.c_str(), O_WRONLY | O_TRUNC | O_CLOEXEC);
  if (fd < 0) return errno_error("cannot open " + path.string() + " for writing '" + std::string(value) + "'", errno);
  // cgroupfs parses each write(2) on its own: one call, no buffering.
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return errno_error("writing '" + std::string(value) + "' to " + path.string() + " failed", err);
  if (static_cast<std::size_t>(n) != value.size())
    return make_error(errc::io_error, "short write of '" + std::string(value) + "' to " + path.string());
  return {};
}

result<detection> detect_backend(const fs::path& configured_root, const fs::path& mount_base) {
  if (!configured_root.empty()) {
    const fs::path& root = configured_root;
    if (!file_exists(root))
      return make_error(errc::not_found, "cgroup_root " + root.string() + " does not exist");
    if (file_exists(root / "cgroup.controllers")) {
      if (lists_cpuset(root / "cgroup.controllers"))
        return detection{backend::v2, root, "cgroup v2 with cpuset at " + root.string()};
      // A delegated group only offers cpuset once its parent enables it for children.
      fs::path parent = root.parent_path();
      if (lists_cpuset(parent / "cgroup.controllers")) {
        auto enabled = write_file(parent / "cgroup.subtree_control", "+cpuset");
        if (!enabled) return enabled.error();
        if (lists_cpuset(root / "cgroup.controllers"))
          return detection{backend::v2, root, "cgroup v2 at " + root.string() + " (cpuset enabled in the parent)"};
      }
      return make_error(errc::unsupported, "cgroup_root " + root.string() +
                                               ": cpuset is not in " + (root / "cgroup.controllers").string() +
                                               " nor offered by " + (parent / "cgroup.controllers").string());
    }
    if (file_exists(root / "cpuset.cpus") && file_exists(root / "tasks"))
      return detection{backend::v1, root, "cgroup v1 cpuset hierarchy at " + root.string()};
    return make_error(errc::unsupported, "cgroup_root " + root.string() +
                                             " is neither cgroup v2 (no cgroup.controllers) nor a cgroup v1 cpuset "
                                             "hierarchy (no cpuset.cpus and tasks)");
  }
  fs::path v2_controllers = mount_base / "cgroup.controllers";
  if (lists_cpuset(v2_controllers))
    return detection{backend::v2, mount_base, "cgroup v2 with cpuset at " + mount_base.string()};
  fs::path v1 = mount_base / "cpuset";
  if (file_exists(v1 / "cpuset.cpus") && ::access(v1.c_str(), W_OK) == 0)
    return detection{backend::v1, v1, "cgroup v1 cpuset hierarchy at " + v1.string()};
  return detection{backend::none, {},
                   "no cpuset controller in " + v2_controllers.string() + " and no writable cgroup v1 cpuset at " +
                       v1.string() + ": pinning by sched_setaffinity only"};
}

cgroup_fs::cgroup_fs(backend kind, fs::path root) : kind_(kind), root_(std::move(root)) {}

result<cgroup_fs> cgroup_fs::open(const fs::path& configured_root, const fs::path& mount_base) {
  auto found = detect_backend(configured_root, mount_base);
  if (!found) return found.error();
  return cgroup_fs(found->kind, found->root);
}

result<fs::path> cgroup_fs::checked(const fs::path& group) const {
  if (kind_ == backend::none)
    return make_error(errc::unsupported, "no cgroup backend: cannot use group '" + group.string() + "'");
  if (group.is_absolute())
    return make_error(errc::invalid_name, "cgroup group '" + group.string() + "' must be relative to " + root_.string());
  for (const auto& part : group)
    if (part == ".." || part == ".")
      return make_error(errc::invalid_name, "cgroup group '" + group.string() + "' must not contain '.' or '..'");
  return root_ / group;
}

bool cgroup_fs::exists(const fs::path& group) const {
  auto dir = checked(group);
  return dir && file_exists(*dir);
}

result<void> cgroup_fs::enable_cpuset_for_children(const fs::path& dir) const {
  // Only where the parent offers cpuset: on a hierarchy without it (or a
  // parent not yet delegated) the cpuset files simply will not appear, and the
  // write of cpus then names the missing file.
  if (!lists_cpuset(dir / "cgroup.controllers") || lists_cpuset(dir / "cgroup.subtree_control")) return {};
  return write_file(dir / "cgroup.subtree_control", "+cpuset");
}

result<void> cgroup_fs::create_bare(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  if (::mkdir(dir->c_str(), 0755) != 0 && errno != EEXIST) return errno_error("cannot create cgroup " + dir->string(), errno);
  return {};
}

result<void> cgroup_fs::enable_cpuset_in(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  if (!lists_cpuset(*dir / "cgroup.controllers"))
    return make_error(errc::unsupported, "cpuset is not in " + (*dir / "cgroup.controllers").string() +
                                             ": the parent group does not pass the controller down");
  return enable_cpuset_for_children(*dir);
}

result<void> cgroup_fs::create(const fs::path& group, group_kind kind) const {
  auto target = checked(group);
  if (!target) return target.error();
  fs::path dir = root_;
  for (const auto& part : group) {
    fs::path parent = dir;
    dir /= part;
    if (file_exists(dir)) continue;
    if (kind_ == backend::v2) {
      auto enabled = enable_cpuset_for_children(parent);
      if (!enabled) return enabled.error();
    }
    if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("cannot create cgroup " + dir.string(), errno);
    if (kind_ == backend::v1) {
      // v1 leaves a new cpuset empty, and an empty cpuset admits no task.
      for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
        auto value = read_text_file(parent / file);
        if (!value) return value.error();
        if (trim(*value).empty()) continue;
        auto written = write_file(dir / file, trim(*value));
        if (!written) return written.error();
      }
    }
  }
  if (kind_ == backend::v2 && kind == group_kind::threaded) {
    auto type = read_text_file(*target / "cgroup.type");
    if (!type) return type.error();
    if (trim(*type) != "threaded") {
      auto written = write_file(*target / "cgroup.type", "threaded");
      if (!written) return written.error();
    }
  }
  return {};
}

result<void> cgroup_fs::write_cpus(const fs::path& group, const config::id_set& cpus) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return write_set(*dir / "cpuset.cpus", cpus);
}

result<void> cgroup_fs::write_mems(const fs::path& group, const config::id_set& mems) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return write_set(*dir / "cpuset.mems", mems);
}

result<config::id_set> cgroup_fs::read_cpus(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return read_set(*dir / "cpuset.cpus");
}

result<config::id_set> cgroup_fs::read_mems(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return read_set(*dir / "cpuset.mems");
}

result<void> cgroup_fs::move_thread(const fs::path& group, pid_t tid) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return write_file(*dir / (kind_ == backend::v1 ? "tasks" : "cgroup.threads"), std::to_string(tid));
}

result<void> cgroup_fs::move_process(const fs::path& group, pid_t pid) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return write_file(*dir / "cgroup.procs", std::to_string(pid));
}

result<std::vector<pid_t>> cgroup_fs::threads(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return read_ids(*dir / (kind_ == backend::v1 ? "tasks" : "cgroup.threads"));
}

result<std::vector<pid_t>> cgroup_fs::processes(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  return read_ids(*dir / "cgroup.procs");
}

result<std::vector<std::string>> cgroup_fs::children(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  std::error_code ec;
  std::vector<std::string> names;
  for (fs::directory_iterator it(*dir, ec), end; !ec && it != end; it.increment(ec)) {
    std::error_code type_ec;
    if (it->is_directory(type_ec)) names.push_back(it->path().filename().string());
  }
  if (ec) return errno_error("cannot list cgroup " + dir->string(), ec.value());
  std::sort(names.begin(), names.end());
  return names;
}

result<void> cgroup_fs::evacuate(const fs::path& group) const {
  fs::path dir = root_ / group;
  bool threaded = false;
  if (kind_ == backend::v2) {
    auto type = read_text_file(dir / "cgroup.type");
    threaded = type && trim(*type) == "threaded";
  }
  if (kind_ == backend::v1 || threaded) {
    // Threads move one by one; a process may spawn more meanwhile, so repeat.
    for (int round = 0; round < 10; ++round) {
      auto tids = threads(group);
      if (!tids) return tids.error();
      if (tids->empty()) return {};
      for (pid_t tid : *tids) {
        auto moved = move_thread(group.parent_path(), tid);
        if (!moved && !vanished(moved)) return moved.error();
      }
    }
    return make_error(errc::busy, "cgroup " + dir.string() + " keeps gaining threads while being emptied");
  }
  // v2 domain: "no internal processes" may refuse the parent, so walk up
  // towards the root, which always accepts.
  auto pids = processes(group);
  if (!pids) return pids.error();
  for (pid_t pid : *pids) {
    fs::path target = group.parent_path();
    while (true) {
      auto moved = move_process(target, pid);
      if (moved || vanished(moved)) break;
      if (target.empty()) return moved.error();
      target = target.parent_path();
    }
  }
  return {};
}

result<void> cgroup_fs::remove(const fs::path& group) const {
  auto dir = checked(group);
  if (!dir) return dir.error();
  if (group.empty() || group == ".") return make_error(errc::invalid_name, "refusing to remove the cgroup root " + root_.string());
  if (!file_exists(*dir)) return {};
  auto kids = children(group);
  if (!kids) return kids.error();
  for (const auto& kid : *kids) {
    auto removed = remove(group / kid);
    if (!removed) return removed.error();
  }
  // The group may be repopulated between evacuating and rmdir (a thread
  // forked into it): evacuate again rather than fail on the first EBUSY.
  int err = 0;
  for (int attempt = 0; attempt < 5; ++attempt) {
    auto emptied = evacuate(group);
    if (!emptied) return emptied.error();
    if (::rmdir(dir->c_str()) == 0 || errno == ENOENT) return {};
    err = errno;
    if (err != EBUSY) break;
  }
  return errno_error("cannot remove cgroup " + dir->string(), err);
}

}  // namespace vnumad::cgroup
