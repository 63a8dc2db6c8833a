// What the live tests (tests/integration, tests/qemu) read themselves from
// /proc and cgroupfs about QEMU processes and their threads, apart from what
// vnumad reports, to check what it does. No Boost.Test here.
#pragma once

#include "support/files_and_processes.hpp"

#include <sys/types.h>

#include <cstdio>
#include <filesystem>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <system_error>
#include <vector>

namespace vnumad::testing {

// Where vnumad (at its default cgroup_dir) makes each guest's cpuset
// cgroups: <name>/emulator, <name>/vcpuN, <name>/iothreadN.
inline const std::filesystem::path vnumad_cgroup = "/sys/fs/cgroup/cpuset/vnumad";

// The command line of a process, its arguments joined by spaces ("" once it
// is gone).
inline std::string command_line(pid_t pid) {
  std::string cmdline = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  for (auto& c : cmdline)
    if (c == '\0') c = ' ';
  return cmdline;
}

// The value of one "Key:" line of a status file (/proc/PID/status,
// /proc/PID/task/TID/status), blanks before it stripped; "" if it has none.
inline std::string status_value(const std::filesystem::path& status_file, const std::string& key) {
  std::istringstream in(read_text(status_file));
  for (std::string line; std::getline(in, line);)
    if (line.rfind(key + ":", 0) == 0) {
      std::string rest = line.substr(key.size() + 1);
      rest.erase(0, rest.find_first_not_of(" \t"));
      return rest;
    }
  return {};
}
inline std::string status_value(pid_t pid, const std::string& key) {
  return status_value("/proc/" + std::to_string(pid) + "/status", key);
}

// Pids of the live processes whose command line names this guest
// ("guest=NAME,"): those running a qemu-system binary, or, given `exe`, those
// whose /proc/PID/exe is that file.
inline std::vector<pid_t> guest_qemus(const std::string& guest, const std::filesystem::path& exe = {}) {
  std::vector<pid_t> found;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string base = entry.path().filename().string();
    if (base.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(base));
    std::error_code ec;
    const std::string cmdline = command_line(pid);
    if (exe.empty() ? cmdline.find("qemu-system") == std::string::npos
                    : std::filesystem::read_symlink(entry.path() / "exe", ec) != exe)
      continue;
    if (cmdline.find("guest=" + guest + ",") != std::string::npos) found.push_back(pid);
  }
  return found;
}

// QEMU's vCPU threads (debug-threads=on names them "CPU N/TCG", "CPU N/KVM"):
// vCPU id -> /proc/PID/task/TID.
inline std::map<unsigned, std::filesystem::path> vcpu_thread_dirs(pid_t qemu) {
  std::map<unsigned, std::filesystem::path> out;
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator("/proc/" + std::to_string(qemu) + "/task", ec)) {
    unsigned vcpu = 0;
    if (std::sscanf(read_text(task.path() / "comm").c_str(), "CPU %u/", &vcpu) == 1) out[vcpu] = task.path();
  }
  return out;
}

// The task ids in a cgroup's tasks file (empty once the group is gone).
inline std::set<std::string> cgroup_task_ids(const std::filesystem::path& group) {
  std::set<std::string> out;
  std::istringstream in(read_text(group / "tasks"));
  for (std::string tid; in >> tid;) out.insert(tid);
  return out;
}

}  // namespace vnumad::testing
