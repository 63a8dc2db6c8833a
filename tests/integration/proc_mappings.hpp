// The memory of a process as the tests read it themselves from /proc, apart
// from vnumad's reader (vnuma/numa_maps.hpp), to check what vnumad reports.
#pragma once

#include "support/files_and_processes.hpp"

#include <cctype>
#include <cstdint>
#include <map>
#include <sstream>
#include <string>
#include <sys/types.h>

namespace vnumad::testing {

// What the test reads itself: for each mapping, its size (maps) and its
// bytes per node (numa_maps N<node>= x kernelpagesize_kB).
struct mapping {
  std::uint64_t size = 0;
  std::string perms;
  std::map<unsigned, std::uint64_t> bytes;
};

inline std::map<std::uint64_t, mapping> read_mappings(pid_t pid) {
  std::map<std::uint64_t, mapping> out;
  std::istringstream maps(read_text("/proc/" + std::to_string(pid) + "/maps"));
  for (std::string line; std::getline(maps, line);) {
    std::istringstream f(line);
    std::string range, perms;
    f >> range >> perms;
    auto dash = range.find('-');
    std::uint64_t start = std::stoull(range.substr(0, dash), nullptr, 16);
    out[start] = mapping{std::stoull(range.substr(dash + 1), nullptr, 16) - start, perms, {}};
  }
  std::istringstream numa(read_text("/proc/" + std::to_string(pid) + "/numa_maps"));
  for (std::string line; std::getline(numa, line);) {
    std::istringstream f(line);
    std::string word;
    f >> word;
    std::uint64_t start = std::stoull(word, nullptr, 16);
    std::map<unsigned, std::uint64_t> pages;
    std::uint64_t page_kb = 4;
    while (f >> word) {
      if (word.size() > 1 && word[0] == 'N' && std::isdigit(static_cast<unsigned char>(word[1])))
        pages[std::stoul(word.substr(1))] = std::stoull(word.substr(word.find('=') + 1));
      else if (word.rfind("kernelpagesize_kB=", 0) == 0)
        page_kb = std::stoull(word.substr(18));
    }
    for (const auto& [node, count] : pages) out[start].bytes[node] += count * page_kb * 1024;
  }
  return out;
}

inline std::uint64_t total_of(const std::map<unsigned, std::uint64_t>& bytes) {
  std::uint64_t t = 0;
  for (const auto& [node, b] : bytes) t += b;
  return t;
}

}  // namespace vnumad::testing
