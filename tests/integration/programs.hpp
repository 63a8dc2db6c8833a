// Programs the integration tests run: vnumad and vnumactl of this build,
// started with fork and exec, or through the shell with their output.
#pragma once

#include <fcntl.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

namespace vnumad::testing {

inline const std::filesystem::path vnumad_binary = std::filesystem::path(VNUMAD_BINARY_DIR) / "vnumad";
inline const std::filesystem::path vnumactl_binary = std::filesystem::path(VNUMAD_BINARY_DIR) / "vnumactl";

// Forks and execs args[0] with `args`; `in_child` runs in the child first
// (redirections, setsid). Returns the child's pid; its exit is the caller's
// to reap.
inline pid_t spawn_program(std::vector<std::string> args, const std::function<void()>& in_child = {}) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    if (in_child) in_child();
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// In a child: stdout and stderr into `file`, appended to (O_APPEND) or
// truncated first (O_TRUNC) as `mode` says.
inline void send_output_to(const std::filesystem::path& file, int mode) {
  const int fd = ::open(file.c_str(), O_WRONLY | O_CREAT | mode, 0644);
  ::dup2(fd, 1);
  ::dup2(fd, 2);
}

// What a program run through the shell printed, and its exit status (-1:
// it did not exit by itself, or could not be run).
struct program_output {
  int exit_status = -1;
  std::string out;
};

inline program_output run_shell(const std::string& command) {
  program_output r;
  FILE* p = ::popen(command.c_str(), "r");
  if (!p) return r;
  std::array<char, 4096> buf{};
  for (std::size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;) r.out.append(buf.data(), n);
  const int status = ::pclose(p);
  r.exit_status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

enum class vnumactl_stderr { with_output, discarded };

// vnumactl ARGS (made by the test, socket option included): its exit status
// and stdout, with its stderr unless `discarded` (output that is parsed).
inline program_output run_vnumactl(const std::string& args, vnumactl_stderr err = vnumactl_stderr::with_output) {
  return run_shell(vnumactl_binary.string() + " " + args +
                   (err == vnumactl_stderr::discarded ? " 2>/dev/null" : " 2>&1"));
}

}  // namespace vnumad::testing
