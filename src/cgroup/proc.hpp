// Small readers for /proc and cgroupfs text files. Kept apart from the cgroup
// mechanism so affinity checks and the per-guest policy share one errno-naming
// reader.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::cgroup {

// Whole-file read; the error names the path and the errno text.
result<std::string> read_text_file(const std::filesystem::path& path);

// Parses a newline-separated list of ids (cgroup "tasks", "cgroup.procs",
// "cgroup.threads"); `origin` names the file in the error message.
result<std::vector<pid_t>> parse_id_lines(std::string_view text, std::string_view origin);

// Thread ids of a process (/proc/PID/task), sorted.
result<std::vector<pid_t>> list_threads(pid_t pid);

// The value of "Key:" in /proc/PID/task/TID/status (pid 0: /proc/TID/status),
// trimmed. errc::not_found when the key is absent.
result<std::string> read_status_field(pid_t pid, pid_t tid, std::string_view key);

// The process (thread group) a thread belongs to.
result<pid_t> thread_group_of(pid_t tid);

}  // namespace vnumad::cgroup
