// Builds a host_topology with hwloc: from the running host, or from an hwloc
// XML export (`lstopo host.xml`) so that any host can be planned for from
// anywhere (spec section 2). I/O discovery is on, so PCI devices appear under
// the node they are attached to.
#pragma once

#include "util/error.hpp"
#include "vnuma/host_topology.hpp"

#include <cstdint>
#include <filesystem>
#include <map>

namespace vnumad::vnuma {

// The host this process runs on. Free memory comes from libnuma, huge page
// counts from /sys/devices/system/node/nodeN/hugepages; both are reports of
// the moment, the ledger's capacity is memory_bytes and the pools' sizes.
result<host_topology> load_live_topology();

// An hwloc v2 XML export. Total memory is what the file gives; free memory
// and free huge pages equal the totals (the file records capacity, not use); description = DMIProductName or the
// file name. A missing or malformed file is an error naming it.
result<host_topology> load_topology_xml(const std::filesystem::path& file);

// One node's huge page pools as sysfs has them now
// (`node_root`/nodeN/hugepages/hugepages-SIZEkB/{nr,free}_hugepages): page
// size in bytes -> pages. Empty for a node without the directory.
struct hugepage_counts {
  std::map<std::uint64_t, std::uint64_t> total;
  std::map<std::uint64_t, std::uint64_t> free;
};
hugepage_counts read_node_hugepages(unsigned node, const std::filesystem::path& node_root = "/sys/devices/system/node");

}  // namespace vnumad::vnuma
