// libvirt's cpuset/nodeset syntax: "0-3,8,^2" (ranges, single ids, ^exclusions).
#pragma once

#include "util/error.hpp"

#include <set>
#include <string>
#include <string_view>

namespace vnumad::config {

// A set of CPU or node ids. Ordered, so formatting and iteration are stable.
using id_set = std::set<unsigned>;

// The largest id accepted; larger ids are rejected as hostile input rather than
// allocated.
inline constexpr unsigned max_set_id = 16383;

// Parses libvirt syntax. `what` names the attribute in error messages, e.g.
// "<vcpupin cpuset>". Rejects empty sets, reversed ranges ("3-1"), a lone "^",
// ids above max_set_id, and sets that end up empty after exclusions.
result<id_set> parse_id_set(std::string_view text, std::string_view what = "cpuset");

// Formats with ranges collapsed: {0,1,2,3,8} -> "0-3,8". Empty set -> "".
std::string format_id_set(const id_set& ids);

// QEMU's "-numa node,cpus=" wants one key per contiguous range; this returns the
// ranges as "a-b" or "a" strings.
std::string format_id_ranges(const id_set& ids, std::string_view separator);

}  // namespace vnumad::config
