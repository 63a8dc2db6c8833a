// libvirt memory units (docs/formatdomain: "Memory Allocation").
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace vnumad::config {

// Converts a libvirt scaled integer to bytes. `unit` is case-insensitive:
// b/bytes, k/KiB (the default when empty), KB, M/MiB, MB, G/GiB, GB, T/TiB, TB,
// P/PiB, PB, E/EiB, EB. `what` names the element in error messages.
// Rejects negative, non-numeric and overflowing values and unknown units.
result<std::uint64_t> parse_memory_size(std::string_view value, std::string_view unit,
                                        std::string_view what = "memory");

// Parses a size with the unit glued on, as operators type it: "256MiB", "1G",
// "512" (KiB). Used by vnumactl attach-memory --size.
result<std::uint64_t> parse_size_with_unit(std::string_view text, std::string_view what = "size");

// "33554432 KiB" style formatting is done by the writer; this gives a human
// form for messages: 8 GiB, 256 MiB, 1536 KiB, 7 B.
std::string format_size(std::uint64_t bytes);

inline constexpr std::uint64_t KiB = 1024;
inline constexpr std::uint64_t MiB = 1024 * KiB;
inline constexpr std::uint64_t GiB = 1024 * MiB;

}  // namespace vnumad::config
