// Per-guest cgroup policy (libvirt's qemu_cgroup.c): the layout
//   <root>/vnumad/<guest>/emulator          vnumad's own tree (no systemd)
//   <root>/vnumad/<guest>/vcpu<N>
//   <root>/vnumad/<guest>/iothread<N>       one per <iothreads> object, as libvirt
// or, under systemd, inside the guest's delegated machine scope
// (machine_scope.hpp, as libvirt's machine-qemu...scope/libvirt/):
//   /sys/fs/cgroup/machine.slice/machine-<guest>.scope/vnumad/emulator
//   /sys/fs/cgroup/machine.slice/machine-<guest>.scope/vnumad/vcpu<N>
// (v2: the guest group is a threaded domain with threaded children; v1: plain
// children), plus sched_setaffinity on every thread, so pinning holds even
// where no cgroup is writable.
#pragma once

#include "cgroup/cgroup_fs.hpp"
#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

namespace vnumad::cgroup {

class guest_cgroup {
 public:
  // Receives one-line warnings (backend none); the daemon passes its logger.
  using warning_sink = std::function<void(std::string_view)>;

  // Refuses names that could escape the layout ("", ".", "..", '/'); config
  // validation restricts names further. Creates nothing yet.
  static result<guest_cgroup> open(cgroup_fs fs, std::string guest, warning_sink warn = {});
  // The guest's groups inside its machine scope (a cgroup v2 directory that
  // systemd delegated): the guest group is <scope>/vnumad. Nothing is written
  // outside the scope, and the scope itself is systemd's to remove.
  static result<guest_cgroup> open_in_scope(std::filesystem::path scope_dir, std::string guest, warning_sink warn = {});

  // Before QEMU exists: creates the guest group with its final cpuset.mems
  // (the guest's whole nodeset; every group of the guest gets the same) and
  // returns the cgroup.procs file that QEMU's child joins before exec. QEMU
  // then allocates nothing outside those nodes and is never moved between
  // cpusets with other mems: cgroup v2 always migrates a process's memory
  // when its leader moves to other mems, mapping nodes by position and
  // ignoring each backend's own binding, which shuffled cells between nodes.
  // std::nullopt without a writable cpuset hierarchy.
  result<std::optional<std::filesystem::path>> prepare_spawn(const config::id_set& mems);

  // The same for a guest in its scope, once systemd has put `leader` (QEMU's
  // child, held before set_mempolicy and exec) into the scope: the leader
  // moves to <scope>/vnumad first (cgroup v2's no-internal-process rule: the
  // scope may enable cpuset for its children only when it holds no process
  // itself), then the scope enables cpuset and the guest group gets its final
  // cpuset.mems. Only then may the leader go on.
  result<void> prepare_scope_spawn(pid_t leader, const config::id_set& mems);
  bool in_scope() const { return in_scope_; }

  // Moves every thread of `pid` that is not a vCPU thread (known from pin_vcpu
  // or found in a vcpu<N> group, so a re-attached daemon does not sweep vCPUs
  // into the emulator group) into emulator/, and sets each one's affinity.
  result<void> pin_emulator(pid_t pid, const config::id_set& cpus, const config::id_set& mems);

  // Moves one vCPU thread into vcpu<N>/ with these cpus and mems, then sets
  // its affinity (after the move: joining a cpuset resets affinity).
  result<void> pin_vcpu(pid_t tid, unsigned vcpu, const config::id_set& cpus, const config::id_set& mems);

  // Moves one iothread's thread (QMP query-iothreads) into iothread<N>/, as
  // pin_vcpu does for a vCPU. pin_emulator leaves such threads where they are.
  result<void> pin_iothread(pid_t tid, unsigned iothread, const config::id_set& cpus, const config::id_set& mems);
  // The iothread threads pin_iothread placed, by iothread id: a later re-pin
  // (the emulator's CPUs changed) moves them without asking QEMU again.
  std::map<unsigned, pid_t> iothread_threads() const;

  // Reads back what pin_* did: each vCPU thread is in its group, the group has
  // the cpus and mems asked for, and the thread's affinity equals the cpus;
  // likewise the emulator's main thread. One error listing every mismatch.
  result<void> verify() const;

  // Removes the guest's groups (children first, live threads moved up). The
  // record of pins is forgotten.
  result<void> remove();

  const std::string& guest() const { return guest_; }
  const cgroup_fs& fs() const { return fs_; }
  std::filesystem::path guest_group() const { return base_; }
  std::filesystem::path emulator_group() const { return guest_group() / "emulator"; }
  std::filesystem::path vcpu_group(unsigned vcpu) const { return guest_group() / ("vcpu" + std::to_string(vcpu)); }
  std::filesystem::path iothread_group(unsigned id) const { return guest_group() / ("iothread" + std::to_string(id)); }

 private:
  struct pin {
    pid_t tid;
    config::id_set cpus;
    config::id_set mems;
  };

  guest_cgroup(cgroup_fs fs, std::string guest, warning_sink warn, std::filesystem::path base, bool in_scope);
  bool cgroups_usable();
  result<void> prepare_group(const std::filesystem::path& group, pid_t any_tid, const config::id_set& cpus,
                             const config::id_set& mems);
  result<void> check_pin(const std::filesystem::path& group, const pin& expected, std::string& problems) const;
  result<void> pin_thread(const std::filesystem::path& group, pid_t tid, const config::id_set& cpus,
                          const config::id_set& mems);

  cgroup_fs fs_;
  std::string guest_;
  warning_sink warn_;
  std::filesystem::path base_;  // the guest group, relative to fs_.root()
  bool in_scope_ = false;
  bool warned_ = false;
  std::map<unsigned, pin> vcpus_;
  std::map<unsigned, pin> iothreads_;
  std::optional<pin> emulator_;  // tid = the process id
};

}  // namespace vnumad::cgroup
