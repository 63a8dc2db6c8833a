// vnumad.conf reserved_memory: memory per host node that the ledger never
// gives to guests. The ledger's capacity of a node is its memory in normal
// pages minus this reserve minus what guests hold (vnuma/ledger.hpp), so the
// reserve is where everything that is not guest RAM has to fit: the host
// kernel (page tables, slab, the page allocator's watermarks), vnumad itself,
// and each QEMU's own memory (code, heap, I/O buffers, under TCG its
// translation cache), which vnumad binds to the guest's nodes.
//
//   reserved_memory = 1GiB                 every node keeps 1 GiB
//   reserved_memory = 512MiB 0=2GiB 4=0    512 MiB, but 2 GiB on node 0, none on 4
//
// Items are separated by blanks: a bare size sets every node, NODES=SIZE
// overrides the nodes of a node set (0-1,3 style). Sizes take a unit as
// vnumactl attach-memory --size does (B, KiB, MiB, GiB, ...; bare = KiB);
// "0" or "none" reserves nothing.
#pragma once

#include "config/cpuset.hpp"
#include "config/units.hpp"
#include "util/error.hpp"

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace vnumad::config {

// Why 1 GiB per node: the kernel's own share of a node is a few hundred MiB
// (min_free_kbytes and the low/high watermarks alone reach 256 MiB on big
// nodes; page tables of 4 KiB-backed guest RAM are about 0.2 % of it), vnumad
// is a few MiB, and a QEMU under KVM adds roughly 50-200 MiB besides its
// guest's RAM. 1 GiB holds that for a handful of guests per node and costs
// under 1 % of a typical 128 GiB+ node. Hosts that pack many small guests per
// node, or run TCG (each QEMU locks a translation cache of up to 1 GiB),
// raise it; a host whose node 0 carries the host's own services raises that
// node alone (0=4GiB).
inline constexpr std::uint64_t default_reserved_memory = GiB;

struct reserved_memory_setting {
  std::uint64_t every_node = default_reserved_memory;
  std::map<unsigned, std::uint64_t> per_node;  // NODES=SIZE overrides

  std::uint64_t on(unsigned node) const {
    auto it = per_node.find(node);
    return it == per_node.end() ? every_node : it->second;
  }
  bool operator==(const reserved_memory_setting&) const = default;
};

// `what` names the setting in messages ("reserved_memory = 1 XiB").
result<reserved_memory_setting> parse_reserved_memory(std::string_view text,
                                                      std::string_view what = "reserved_memory");
// The canonical text of a setting ("1 GiB 0=2 GiB" style, parseable again).
std::string format_reserved_memory(const reserved_memory_setting& setting);

}  // namespace vnumad::config
