// Small helpers shared by the integration tests (tests/integration) and the
// live benchmarks (bench/): whole-file text I/O and a liveness check. No
// Boost.Test here, so the benchmarks can use it too.
#pragma once

#include <signal.h>
#include <sys/types.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace vnumad::testing {

inline std::string read_text(const std::filesystem::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

inline void write_text(const std::filesystem::path& p, const std::string& text) {
  std::ofstream out(p, std::ios::trunc);
  out << text;
}

// True for a zombie too: reap your own children before asking.
inline bool pid_alive(pid_t pid) { return pid > 0 && ::kill(pid, 0) == 0; }

}  // namespace vnumad::testing
