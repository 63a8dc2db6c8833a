// libvirt domain XML <-> the domain model (domain.hpp), with Boost.PropertyTree.
//
// Parsing fills the structs and keeps the whole <domain> tree in domain::xml.
// Writing starts from that tree and replaces only what the model owns (memory,
// currentMemory, maxMemory, vcpu, vcpus, cputune, numatune, memoryBacking, cpu,
// vnuma, devices/memballoon, devices/memory), so unknown elements survive and
// an edited struct (the vNUMA expansion) is what gets written.
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"

#include <filesystem>
#include <string>
#include <string_view>

namespace vnumad::config {

struct parse_options {
  // Run validate_domain() (domain_validate.hpp) after parsing. Off only for
  // tools that want to show or fix a semantically broken file.
  bool validate = true;
};

// Every error message starts with the file (or source_name), then ":LINE" when
// the XML parser knows the line, then the element/attribute, the bad value and
// what would be valid.
result<domain> parse_domain_file(const std::filesystem::path& path, parse_options options = {});
result<domain> parse_domain_string(std::string_view xml, std::string_view source_name = "<string>",
                                   parse_options options = {});

// The document, with an XML declaration, 2-space indented. A domain built in
// memory (empty `xml`) is written complete from the structs.
std::string write_domain_xml(const domain& d);

// Guest names become file, socket and cgroup names: letters, digits, '.', '_',
// '-', not starting with '.', 1..64 characters.
inline constexpr std::size_t max_guest_name_length = 64;
result<void> validate_guest_name(std::string_view name);

}  // namespace vnumad::config
