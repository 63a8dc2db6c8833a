// The host facts the argv builder needs, taken from a host topology: which
// NUMA nodes exist and where hugetlbfs is mounted for each page size.
#pragma once

#include "qemu/argv.hpp"
#include "vnuma/host_topology.hpp"

namespace vnumad::qemu {

// host_nodes, hugetlbfs_mounts (live mounts, conventional paths for sizes
// without one) and default_hugepage_bytes; the caller adds the QMP socket,
// state dir, binary and runas.
host_facts host_facts_for(const vnuma::host_topology& host);

}  // namespace vnumad::qemu
