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
#include <vector>

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

// With strict (vnumad.conf `strict = true`): an error (errc::unsupported)
// listing d.warnings, the parts of the file vnumad would not act on, when
// there are any. Without: nothing.
result<void> check_strict(const domain& d, bool strict);

// What to say when the file is loaded, one line each: "FILE: WARNING" for
// each of d.warnings, and a note when the domain passes options to QEMU
// through <qemu:commandline>, which vnumad does not check (libvirt taints
// such a domain).
std::vector<std::string> load_notes(const domain& d);

// The document, with an XML declaration, 2-space indented. A domain built in
// memory (empty `xml`) is written complete from the structs.
std::string write_domain_xml(const domain& d);

// Guest names become file, socket and cgroup names: letters, digits, '.', '_',
// '-', not starting with '.', 1..64 characters.
inline constexpr std::size_t max_guest_name_length = 64;
result<void> validate_guest_name(std::string_view name);

}  // namespace vnumad::config
