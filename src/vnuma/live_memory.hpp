// Live memory against the ledger. The ledger's capacity is accounting
// (ledger.hpp): what a node has minus the host's reserve minus what guests
// hold. What the kernel has free right now is a second opinion, never the
// capacity: when it is lower than what the ledger calls free, memory outside
// vnumad's accounting (host processes, page cache that will not go, a
// reserve set too small) is in use, and a guest placed there may be short of
// memory or push others into reclaim. vnumad says so, once per node, when it
// places a guest.
#pragma once

#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/placement.hpp"

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::vnuma {

struct live_node_memory {
  std::uint64_t available_bytes = 0;                      // estimate, see below
  std::map<std::uint64_t, std::uint64_t> hugepages_free;  // page size -> free_hugepages
};

// A node's meminfo (/sys/devices/system/node/nodeN/meminfo) has no
// MemAvailable, so this is the kernel's MemAvailable formula without its
// watermark terms: MemFree + Active(file) + Inactive(file) + KReclaimable
// (SReclaimable on kernels before 4.20). The watermarks are a few hundred MiB
// at most and are what reserved_memory is for. nullopt when MemFree is missing.
std::optional<std::uint64_t> parse_node_meminfo_available(std::string_view meminfo);

// The warnings for placing `p` (held or not yet held in `held`): one line per
// node where the live figure is below what the ledger counts free for other
// guests than p, naming the node, the ledger's free and the live free. Nodes
// without a live figure are skipped.
std::vector<std::string> live_memory_warnings(const placement& p, const ledger& held,
                                              const std::map<unsigned, live_node_memory>& live);

// Reads the nodes p uses from sysfs (`node_root`/nodeN/meminfo and
// hugepages/); a node whose files cannot be read is left out.
std::map<unsigned, live_node_memory> read_live_node_memory(
    const placement& p, const std::filesystem::path& node_root = "/sys/devices/system/node");

// live_memory_warnings with what sysfs says now, on a live host; nothing for
// a host loaded from a file (its live memory is another machine's).
std::vector<std::string> check_live_memory(const placement& p, const host_topology& host, const ledger& held);

}  // namespace vnumad::vnuma
