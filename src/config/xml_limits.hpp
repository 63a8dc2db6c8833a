// Bounds on a domain file, checked before any XML parser runs. The parser
// (Boost.PropertyTree's rapidxml) and everything that walks its tree recurse
// once per nesting level, so a deep file overflows the stack; and a huge file
// costs seconds of CPU and a gigabyte of memory while the daemon serves no one.
// libvirt's domains are under ten levels deep and a few dozen KiB.
#pragma once

#include "util/error.hpp"

#include <cstddef>
#include <string_view>

namespace vnumad::config {

inline constexpr std::size_t max_domain_file_bytes = 1024 * 1024;
inline constexpr std::size_t max_domain_depth = 64;

// xml_malformed naming `source`, the size and the limit when size > max.
result<void> check_domain_size(std::size_t size, std::string_view source);

// The deepest element nesting of `text`, found without recursion by following
// rapidxml's own grammar (its character classes, comment, CDATA, PI and
// DOCTYPE rules). Where rapidxml would stop with an error this scan stops too,
// so the depth it reports is at least what rapidxml reaches. `text` must be
// NUL-free (the caller refuses NUL bytes).
std::size_t xml_nesting_depth(std::string_view text, std::size_t stop_above);

// xml_malformed naming `source` and the limit when the nesting is deeper than
// max_domain_depth.
result<void> check_domain_depth(std::string_view text, std::string_view source);

}  // namespace vnumad::config
