// /proc/PID/numa_maps (with /proc/PID/maps for each mapping's end and
// permissions), read into plain structs. Pure: the caller reads the files.
//
// One numa_maps line per mapping (VMA):
//   7f7d37a00000 bind:1 anon=32768 dirty=32768 N1=30000 N2=2768 kernelpagesize_kB=4
//   7f9b7fc00000 bind:0 file=/dev/hugepages/qemu_back_mem.ram-node1.PvTkBn\040(deleted) huge dirty=32 N0=32 kernelpagesize_kB=2048
// The N<node>= counts are in units of kernelpagesize_kB (one per huge page for
// hugetlb mappings, which carry `huge`). The policy is the mapping's own
// (mbind: QEMU's host-nodes=) or, when it has none, the process's
// (set_mempolicy), which is why a mapping's policy alone does not say whether
// it is guest RAM.
#pragma once

#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::vnuma {

struct numa_vma {
  std::uint64_t start = 0;
  std::uint64_t end = 0;            // from maps; equal to start when maps lacks the mapping
  std::string perms;                // "rw-p", "rw-s", "---p"; empty when maps lacks it
  std::string policy;               // as the kernel writes it: "bind:1", "default", "interleave:0-3"
  std::string policy_mode;          // the part before ':' and '=': "bind", "prefer", "default", ...
  config::id_set policy_nodes;      // the part after ':'; empty for default/local
  std::string file;                 // octal escapes undone, " (deleted)" kept
  bool heap = false;
  bool stack = false;
  bool huge = false;                // hugetlbfs / hugetlb memfd
  std::uint64_t page_bytes = 4096;  // kernelpagesize_kB * 1024
  std::map<unsigned, std::uint64_t> pages;  // node -> pages of page_bytes

  std::uint64_t size_bytes() const { return end - start; }
  bool shared() const { return perms.size() == 4 && perms[3] == 's'; }
  std::uint64_t resident_bytes() const;
};

// Parses numa_maps and joins maps on the start address. A line that does not
// parse is an error naming its line number and text; maps may be empty (then
// sizes are unknown: end == start).
result<std::vector<numa_vma>> parse_numa_maps(std::string_view numa_maps, std::string_view maps);

// "\040" -> " ": the kernel escapes space, tab, newline, '=' and '\' in paths.
std::string unescape_proc_path(std::string_view text);

}  // namespace vnumad::vnuma
