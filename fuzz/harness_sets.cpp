// cpuset/nodeset, memory size and name harness: the small parsers every
// attribute of a domain file and of vnumad.conf goes through.
//
// Input: the whole input is tried with each parser; then, split at the first
// newline, the first line is a size value and the rest a unit (the two
// attributes of <memory unit=...>).
#include "harness_check.hpp"
#include "harnesses.hpp"

#include "config/cpuset.hpp"
#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "vnuma/host_topology.hpp"

#include <string>

namespace vnumad::fuzz {

namespace {

void check_id_set(std::string_view text) {
  auto ids = config::parse_id_set(text, "<fuzz cpuset>");
  if (!ids) return;
  fuzz_check(!ids->empty(), "a parsed id set is not empty");
  fuzz_check(*ids->rbegin() <= config::max_set_id, "parsed ids stay within max_set_id");
  // The formatter's output is what the expansion writes into XML: it must
  // read back as the same set.
  const std::string formatted = config::format_id_set(*ids);
  auto again = config::parse_id_set(formatted, "<fuzz cpuset>");
  fuzz_check(again && *again == *ids, "format_id_set output parses back to the same set");
  const std::string joined = config::format_id_ranges(*ids, ",");
  auto ranges = config::parse_id_set(joined, "<fuzz cpuset>");
  fuzz_check(ranges && *ranges == *ids, "format_id_ranges output parses back to the same set");
}

void check_size(std::string_view value, std::string_view unit) {
  auto bytes = config::parse_memory_size(value, unit, "<fuzz memory>");
  if (bytes) (void)config::format_size(*bytes);
}

}  // namespace

int fuzz_sets(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  check_id_set(text);

  auto glued = config::parse_size_with_unit(text, "<fuzz size>");
  if (glued) {
    const std::string human = config::format_size(*glued);
    fuzz_check(!human.empty(), "format_size gives text");
  }
  const std::size_t newline = text.find('\n');
  if (newline == std::string_view::npos) {
    check_size(text, "");
  } else {
    check_size(text.substr(0, newline), text.substr(newline + 1));
  }

  auto reserved = vnuma::parse_reserved_cpus(text);
  if (reserved && reserved->which == vnuma::reserved_cpus_setting::kind::explicit_set)
    fuzz_check(!reserved->cpus.empty(), "an explicit reserved_cpus set is not empty");

  if (config::validate_guest_name(text)) {
    fuzz_check(!text.empty() && text.size() <= config::max_guest_name_length, "a valid name has 1..64 characters");
    fuzz_check(text.find('/') == std::string_view::npos && text.front() != '.', "a valid name is one path component");
  }
  return 0;
}

}  // namespace vnumad::fuzz
