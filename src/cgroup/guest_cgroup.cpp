#include "cgroup/guest_cgroup.hpp"

#include "cgroup/affinity.hpp"
#include "cgroup/proc.hpp"

#include <algorithm>
#include <set>

namespace vnumad::cgroup {
namespace fs = std::filesystem;
namespace {

bool contains(const std::vector<pid_t>& ids, pid_t id) { return std::find(ids.begin(), ids.end(), id) != ids.end(); }

// A thread that exited while we were pinning needs no pin.
bool gone(const error& e) { return e.code == errc::not_found; }

}  // namespace

guest_cgroup::guest_cgroup(cgroup_fs fs, std::string guest, warning_sink warn, fs::path base, bool in_scope)
    : fs_(std::move(fs)), guest_(std::move(guest)), warn_(std::move(warn)), base_(std::move(base)), in_scope_(in_scope) {}

namespace {
result<void> check_guest_name(const std::string& guest) {
  if (guest.empty() || guest == "." || guest == ".." || guest.find('/') != std::string::npos ||
      guest.find('\0') != std::string::npos)
    return make_error(errc::invalid_name, "guest name '" + guest + "' cannot name a cgroup directory");
  return {};
}
}  // namespace

result<guest_cgroup> guest_cgroup::open(cgroup_fs fs, std::string guest, warning_sink warn) {
  if (auto ok = check_guest_name(guest); !ok) return ok.error();
  fs::path base = fs::path("vnumad") / guest;
  return guest_cgroup(std::move(fs), std::move(guest), std::move(warn), std::move(base), false);
}

result<guest_cgroup> guest_cgroup::open_in_scope(fs::path scope_dir, std::string guest, warning_sink warn) {
  if (auto ok = check_guest_name(guest); !ok) return ok.error();
  return guest_cgroup(cgroup_fs(backend::v2, std::move(scope_dir)), std::move(guest), std::move(warn), "vnumad", true);
}

result<void> guest_cgroup::prepare_scope_spawn(pid_t leader, const config::id_set& mems) {
  if (mems.empty()) return make_error(errc::invalid_value, "guest '" + guest_ + "': no memory nodes to bind its cgroup to");
  if (auto made = fs_.create_bare(guest_group()); !made) return made.error();
  if (auto moved = fs_.move_process(guest_group(), leader); !moved) return moved.error();
  if (auto enabled = fs_.enable_cpuset_in(""); !enabled) return enabled.error();
  return fs_.write_mems(guest_group(), mems);
}

bool guest_cgroup::cgroups_usable() {
  if (fs_.kind() != backend::none) return true;
  if (!warned_ && warn_)
    warn_("guest '" + guest_ + "': no writable cgroup cpuset hierarchy; pinning by sched_setaffinity only, "
          "memory binding relies on QEMU's memory backends");
  warned_ = true;
  return false;
}

// Creates `group` under the guest group, writes cpus and mems, and (v2) makes
// sure the process is inside the guest's threaded domain: a thread can only
// join a threaded group of the subtree its process lives in.
result<void> guest_cgroup::prepare_group(const fs::path& group, pid_t any_tid, const config::id_set& cpus,
                                         const config::id_set& mems) {
  auto created = fs_.create(group, group_kind::threaded);
  if (!created) return created.error();
  // A v1 group was created with its parent's sets, so neither write leaves
  // it momentarily empty.
  auto wrote_mems = fs_.write_mems(group, mems);
  if (!wrote_mems) return wrote_mems.error();
  auto wrote_cpus = fs_.write_cpus(group, cpus);
  if (!wrote_cpus) return wrote_cpus.error();
  if (fs_.kind() == backend::v2) {
    auto tgid = thread_group_of(any_tid);
    if (!tgid) return tgid.error();
    auto procs = fs_.processes(guest_group());
    if (!procs) return procs.error();
    // Moving the process would pull already pinned vCPU threads back into the
    // domain, so only when it is not inside yet.
    if (!contains(*procs, *tgid)) {
      auto moved = fs_.move_process(guest_group(), *tgid);
      if (!moved) return moved.error();
    }
  }
  return {};
}

result<std::optional<fs::path>> guest_cgroup::prepare_spawn(const config::id_set& mems) {
  if (!cgroups_usable()) return std::optional<fs::path>{};
  if (mems.empty()) return make_error(errc::invalid_value, "guest '" + guest_ + "': no memory nodes to bind its cgroup to");
  // v2: a domain group, which becomes the threaded domain of the guest once
  // its emulator and vCPU groups exist; the process lives here and its
  // threads move to the threaded children. v1: a plain group (created with
  // its parent's sets, so it is never empty).
  auto created = fs_.create(guest_group(), group_kind::domain);
  if (!created) return created.error();
  auto wrote = fs_.write_mems(guest_group(), mems);
  if (!wrote) return wrote.error();
  return std::optional<fs::path>{fs_.path_of(guest_group()) / "cgroup.procs"};
}

result<void> guest_cgroup::pin_thread(const fs::path& group, pid_t tid, const config::id_set& cpus,
                                      const config::id_set& mems) {
  if (cgroups_usable()) {
    auto prepared = prepare_group(group, tid, cpus, mems);
    if (!prepared) return prepared.error();
    auto moved = fs_.move_thread(group, tid);
    if (!moved) return moved.error();
  }
  return set_affinity(tid, cpus);
}

result<void> guest_cgroup::pin_vcpu(pid_t tid, unsigned vcpu, const config::id_set& cpus, const config::id_set& mems) {
  auto pinned = pin_thread(vcpu_group(vcpu), tid, cpus, mems);
  if (!pinned) return pinned.error();
  vcpus_[vcpu] = pin{tid, cpus, mems};
  return {};
}

result<void> guest_cgroup::pin_iothread(pid_t tid, unsigned iothread, const config::id_set& cpus,
                                        const config::id_set& mems) {
  auto pinned = pin_thread(iothread_group(iothread), tid, cpus, mems);
  if (!pinned) return pinned.error();
  iothreads_[iothread] = pin{tid, cpus, mems};
  return {};
}

std::map<unsigned, pid_t> guest_cgroup::iothread_threads() const {
  std::map<unsigned, pid_t> threads;
  for (const auto& [id, p] : iothreads_) threads.emplace(id, p.tid);
  return threads;
}

result<void> guest_cgroup::pin_emulator(pid_t pid, const config::id_set& cpus, const config::id_set& mems) {
  // Threads with a group of their own (vCPUs, iothreads) stay in it.
  std::set<pid_t> vcpu_tids;
  for (const auto& [vcpu, p] : vcpus_) vcpu_tids.insert(p.tid);
  for (const auto& [id, p] : iothreads_) vcpu_tids.insert(p.tid);
  bool usable = cgroups_usable();
  if (usable && fs_.exists(guest_group())) {
    auto kids = fs_.children(guest_group());
    if (!kids) return kids.error();
    for (const auto& kid : *kids) {
      if (kid.rfind("vcpu", 0) != 0 && kid.rfind("iothread", 0) != 0) continue;
      auto tids = fs_.threads(guest_group() / kid);
      if (!tids) return tids.error();
      vcpu_tids.insert(tids->begin(), tids->end());
    }
  }
  auto tids = list_threads(pid);
  if (!tids) return tids.error();
  if (usable) {
    auto prepared = prepare_group(emulator_group(), pid, cpus, mems);
    if (!prepared) return prepared.error();
  }
  for (pid_t tid : *tids) {
    if (vcpu_tids.count(tid)) continue;
    if (usable) {
      auto moved = fs_.move_thread(emulator_group(), tid);
      if (!moved && !thread_vanished(moved.error())) return moved.error();
    }
    auto pinned = set_affinity(tid, cpus);
    if (!pinned && !gone(pinned.error())) return pinned.error();
  }
  emulator_ = pin{pid, cpus, mems};
  return {};
}

result<void> guest_cgroup::check_pin(const fs::path& group, const pin& expected, std::string& problems) const {
  auto note = [&](const std::string& what) { problems += (problems.empty() ? "" : "; ") + what; };
  if (fs_.kind() != backend::none) {
    auto tids = fs_.threads(group);
    if (!tids) return tids.error();
    if (!contains(*tids, expected.tid))
      note("thread " + std::to_string(expected.tid) + " is not in " + fs_.path_of(group).string());
    auto cpus = fs_.read_cpus(group);
    if (!cpus) return cpus.error();
    if (*cpus != expected.cpus)
      note(fs_.path_of(group / "cpuset.cpus").string() + " is '" + config::format_id_set(*cpus) + "', expected '" +
           config::format_id_set(expected.cpus) + "'");
    auto mems = fs_.read_mems(group);
    if (!mems) return mems.error();
    if (*mems != expected.mems)
      note(fs_.path_of(group / "cpuset.mems").string() + " is '" + config::format_id_set(*mems) + "', expected '" +
           config::format_id_set(expected.mems) + "'");
  }
  auto affinity = get_affinity(expected.tid);
  if (!affinity) return affinity.error();
  if (*affinity != expected.cpus)
    note("thread " + std::to_string(expected.tid) + " has affinity '" + config::format_id_set(*affinity) +
         "', expected '" + config::format_id_set(expected.cpus) + "'");
  return {};
}

result<void> guest_cgroup::verify() const {
  std::string problems;
  for (const auto& [vcpu, p] : vcpus_) {
    auto checked = check_pin(vcpu_group(vcpu), p, problems);
    if (!checked) return checked.error();
  }
  for (const auto& [id, p] : iothreads_) {
    auto checked = check_pin(iothread_group(id), p, problems);
    if (!checked) return checked.error();
  }
  if (emulator_) {
    auto checked = check_pin(emulator_group(), *emulator_, problems);
    if (!checked) return checked.error();
  }
  if (!problems.empty()) return make_error(errc::invalid_value, "guest '" + guest_ + "' pinning differs: " + problems);
  return {};
}

result<void> guest_cgroup::remove() {
  vcpus_.clear();
  iothreads_.clear();
  emulator_.reset();
  if (fs_.kind() == backend::none) return {};
  return fs_.remove(guest_group());
}

}  // namespace vnumad::cgroup
