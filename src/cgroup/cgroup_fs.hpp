// cgroupfs mechanism (libvirt's vircgroup.c): detect the backend, create and
// remove groups, write cpuset files, move threads. No per-guest knowledge
// here; that policy lives in guest_cgroup.
#pragma once

#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::cgroup {

enum class backend {
  none,  // no writable cpuset hierarchy: callers fall back to sched_setaffinity
  v1,    // legacy cpuset hierarchy (tasks, cpuset.cpus, cpuset.mems)
  v2,    // unified hierarchy with the cpuset controller (cgroup.threads, threaded subtrees)
};
std::string_view to_string(backend kind);

// v2 only: a threaded group holds threads of processes that live in its
// threaded-domain ancestor; v1 has no such distinction and ignores it.
enum class group_kind { domain, threaded };

struct detection {
  backend kind = backend::none;
  std::filesystem::path root;  // empty for backend::none
  std::string reason;          // one line for the log: what was found where
};

// `configured_root` is vnumad.conf's cgroup_root; empty means auto: cgroup v2
// at `mount_base` if its cgroup.controllers lists cpuset, else the v1 cpuset
// hierarchy at `mount_base`/cpuset if writable, else none. A configured root
// must be one or the other; for v2 without cpuset the parent's
// cgroup.subtree_control is asked to enable it. `mount_base` is a parameter so
// tests can point it at a fake tree.
result<detection> detect_backend(const std::filesystem::path& configured_root,
                                 const std::filesystem::path& mount_base = "/sys/fs/cgroup");

// Group names are paths relative to the root ("vnumad/web/vcpu0"); "" is the
// root itself. Every error names the file or directory and the errno text.
class cgroup_fs {
 public:
  cgroup_fs() = default;  // backend::none
  cgroup_fs(backend kind, std::filesystem::path root);
  static result<cgroup_fs> open(const std::filesystem::path& configured_root,
                                const std::filesystem::path& mount_base = "/sys/fs/cgroup");

  backend kind() const { return kind_; }
  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path path_of(const std::filesystem::path& group) const { return root_ / group; }

  // Creates the group and any missing ancestors (idempotent). v1: a new group
  // gets its parent's cpuset.cpus and cpuset.mems, without which no task can
  // join. v2: cpuset is enabled in each parent's cgroup.subtree_control where
  // the parent offers it, and a threaded group gets "threaded" in cgroup.type.
  result<void> create(const std::filesystem::path& group, group_kind kind = group_kind::domain) const;
  bool exists(const std::filesystem::path& group) const;
  // One mkdir and nothing else: the parent's cgroup.subtree_control is left as
  // it is. For a systemd scope, whose leader must leave the scope for a child
  // group before the scope may enable controllers for its children.
  result<void> create_bare(const std::filesystem::path& group) const;
  // v2: "+cpuset" in the group's cgroup.subtree_control, unless it is there
  // already; an error when the group itself is not offered cpuset.
  result<void> enable_cpuset_in(const std::filesystem::path& group) const;

  result<void> write_cpus(const std::filesystem::path& group, const config::id_set& cpus) const;
  result<void> write_mems(const std::filesystem::path& group, const config::id_set& mems) const;
  // An empty file (v2: "inherit the parent") reads as an empty set.
  result<config::id_set> read_cpus(const std::filesystem::path& group) const;
  result<config::id_set> read_mems(const std::filesystem::path& group) const;

  // One thread: v1 "tasks", v2 "cgroup.threads". A whole process: "cgroup.procs".
  result<void> move_thread(const std::filesystem::path& group, pid_t tid) const;
  result<void> move_process(const std::filesystem::path& group, pid_t pid) const;
  result<std::vector<pid_t>> threads(const std::filesystem::path& group) const;
  result<std::vector<pid_t>> processes(const std::filesystem::path& group) const;

  // Names of the child groups, sorted.
  result<std::vector<std::string>> children(const std::filesystem::path& group) const;

  // Removes the group and its subtree, children first. Live tasks are moved
  // to the parent (v2 domain groups: the nearest ancestor that accepts them)
  // before each rmdir, since the kernel refuses to remove a populated group.
  // A group that does not exist is already removed.
  result<void> remove(const std::filesystem::path& group) const;

 private:
  result<std::filesystem::path> checked(const std::filesystem::path& group) const;
  result<void> enable_cpuset_for_children(const std::filesystem::path& dir) const;
  result<void> evacuate(const std::filesystem::path& group) const;

  backend kind_ = backend::none;
  std::filesystem::path root_;
};

// Low-level helpers, exposed for tests and for guest_cgroup's read-backs.
// write_file writes the value in one write(2) without creating the file: a
// missing cgroup file means a missing controller, not something to create.
result<void> write_file(const std::filesystem::path& path, std::string_view value);
bool list_contains_word(std::string_view list, std::string_view word);
// A move that failed with ESRCH: the thread exited between listing and moving,
// so there is nothing left to move.
bool thread_vanished(const error& e);

}  // namespace vnumad::cgroup
