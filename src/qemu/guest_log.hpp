// Parses what the test guest's /init (tests/guest/init.sh) prints on its
// serial console: the guest's own view of its NUMA topology. Pure, so the
// live tests (and anything comparing a guest with its expansion) share one
// parser. Format: tests/guest/README.md.
#pragma once

#include "config/cpuset.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::qemu {

struct guest_node {
  unsigned id = 0;
  config::id_set cpus;  // empty for a memory-only node
  std::uint64_t memtotal_kb = 0;
  std::vector<unsigned> distances;  // to node 0, 1, ... in the guest's node order
};

struct guest_cpu {
  unsigned id = 0;
  unsigned node = 0;
  unsigned package = 0;
  unsigned die = 0;
  unsigned core = 0;
  config::id_set siblings;
};

// One "VNUMA tick=" line: the state after the init onlined hot-added CPUs and memory.
struct guest_tick {
  unsigned seq = 0;
  config::id_set online;
  std::map<unsigned, config::id_set> node_cpus;
  std::map<unsigned, std::uint64_t> node_memtotal_kb;
};

struct guest_view {
  bool ready = false;       // "VNUMA READY" seen
  bool powered_off = false;  // "VNUMA POWEROFF" seen (ACPI power button)
  std::string kernel;
  config::id_set node_ids, possible, present, online;
  std::map<unsigned, guest_node> nodes;
  std::map<unsigned, guest_cpu> cpus;
  std::vector<guest_tick> ticks;
};

// Reads every complete "VNUMA ..." line of a serial log; other lines (kernel
// messages) are ignored, and so is a last line without its line end (the
// guest may be in the middle of writing it). A "kernel=" line starts a new
// boot: the view then describes the latest boot only. A malformed VNUMA line
// is an error naming it.
result<guest_view> parse_guest_view(std::string_view serial_log);

}  // namespace vnumad::qemu
