// Where the host's hugetlbfs mounts are, per page size: QEMU backs huge-page
// cells with files on them.
#pragma once

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>

namespace vnumad::qemu {

// Parses /proc/mounts text: every hugetlbfs mount, keyed by its pagesize=
// option (the default huge page size when the option is absent). The first
// mount of a size wins.
std::map<std::uint64_t, std::string> parse_hugetlbfs_mounts(std::string_view proc_mounts,
                                                            std::uint64_t default_page_bytes);

// The live host's mounts, plus conventional paths (/dev/hugepages for the
// default size, /dev/hugepages2M, /dev/hugepages1G style for others) for sizes
// in `page_sizes` that have no mount, so a plan for another host still names
// a path.
std::map<std::uint64_t, std::string> hugetlbfs_mounts_with_defaults(const std::set<std::uint64_t>& page_sizes,
                                                                    std::uint64_t default_page_bytes);

}  // namespace vnumad::qemu
