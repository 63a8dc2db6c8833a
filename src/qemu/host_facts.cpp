#include "qemu/host_facts.hpp"

#include "qemu/hugetlbfs.hpp"

namespace vnumad::qemu {

host_facts host_facts_for(const vnuma::host_topology& host) {
  host_facts facts;
  facts.host_nodes = host.node_ids();
  std::set<std::uint64_t> page_sizes{host.default_hugepage_bytes};
  for (const auto& node : host.nodes)
    for (const auto& [size, count] : node.hugepages_total) page_sizes.insert(size);
  facts.hugetlbfs_mounts = hugetlbfs_mounts_with_defaults(page_sizes, host.default_hugepage_bytes);
  facts.default_hugepage_bytes = host.default_hugepage_bytes;
  return facts;
}

}  // namespace vnumad::qemu
