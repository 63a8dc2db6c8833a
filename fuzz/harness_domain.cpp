// Domain XML harness: everything the daemon does with a file dropped into
// domains.d before it touches QEMU.
#include "harness_check.hpp"
#include "harnesses.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "config/xml_limits.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/place.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/property_tree/detail/rapidxml.hpp>

#include <optional>
#include <string>
#include <vector>

#ifndef VNUMAD_FUZZ_DIR
#error "VNUMAD_FUZZ_DIR (the fuzz/ source folder) must be defined"
#endif

namespace vnumad::fuzz {

namespace {

struct fuzz_host {
  vnuma::host_topology topology;
  vnuma::id_set reserved;  // reserved_cpus = auto, as vnumad.conf defaults
};

// Loaded once: the seed's 4-socket SMT host, and a sparse host with a
// memory-only node (ids 0, 2, 4), which the partitioner must handle too.
const std::vector<fuzz_host>& hosts() {
  static const std::vector<fuzz_host> loaded = [] {
    std::vector<fuzz_host> out;
    for (const char* file : {"seed-e7-8895v2-4s.xml", "sparse-cxl.xml"}) {
      auto topology = vnuma::load_topology_xml(std::string(VNUMAD_FUZZ_DIR) + "/hosts/" + file);
      fuzz_check(topology.has_value(), "fuzz/hosts topology loads");
      auto reserved = vnuma::resolve_reserved_cpus(*topology, vnuma::reserved_cpus_setting{});
      fuzz_check(reserved.has_value(), "reserved_cpus=auto resolves on fuzz/hosts");
      out.push_back(fuzz_host{std::move(*topology), std::move(*reserved)});
    }
    return out;
  }();
  return loaded;
}

// Written XML is what the daemon stores and vnumactl prints: it must parse again.
void check_reparses(const config::domain& d, std::string_view what) {
  const std::string written = config::write_domain_xml(d);
  auto again = config::parse_domain_string(written, "<written>", config::parse_options{.validate = false});
  if (!again) std::fprintf(stderr, "%s\n---\n%s\n", again.error().message.c_str(), written.c_str());
  fuzz_check(again.has_value(), what);
}

// rapidxml's own nesting depth (walked without recursion), or nullopt when it
// refuses the text.
std::optional<std::size_t> rapidxml_depth(std::string_view text) {
  namespace rx = boost::property_tree::detail::rapidxml;
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  rx::xml_document<char> doc;
  try {
    doc.parse<rx::parse_validate_closing_tags | rx::parse_non_destructive>(buf.data());
  } catch (const rx::parse_error&) {
    return std::nullopt;
  }
  std::size_t deepest = 0;
  std::vector<std::pair<rx::xml_node<char>*, std::size_t>> todo;
  for (auto* n = doc.first_node(); n; n = n->next_sibling()) todo.emplace_back(n, 1);
  while (!todo.empty()) {
    auto [n, d] = todo.back();
    todo.pop_back();
    if (n->type() != rx::node_element) continue;
    deepest = std::max(deepest, d);
    for (auto* c = n->first_node(); c; c = c->next_sibling()) todo.emplace_back(c, d + 1);
  }
  return deepest;
}

// The limits of config/xml_limits.hpp hold for every input: what is over
// them is refused with the limit's error, and the depth scan that guards
// rapidxml never reads less nesting than rapidxml does.
void check_limits(std::string_view xml) {
  auto parsed = config::parse_domain_string(xml, "<fuzz>", config::parse_options{.validate = false});
  if (xml.size() > config::max_domain_file_bytes) {
    fuzz_check(!parsed && parsed.error().message.find("size limit") != std::string::npos, "over-size input refused");
    return;
  }
  if (xml.find('\0') != std::string_view::npos) return;
  const std::size_t scanned = config::xml_nesting_depth(xml, static_cast<std::size_t>(-1));
  if (scanned > config::max_domain_depth) {
    fuzz_check(!parsed && parsed.error().message.find("levels") != std::string::npos, "over-deep input refused");
    return;
  }
  // Shallow enough for rapidxml to recurse safely: compare with it.
  auto real = rapidxml_depth(xml);
  if (real) fuzz_check(*real <= scanned, "depth scan reads at least rapidxml's depth");
}

}  // namespace

int fuzz_domain_xml(const std::uint8_t* data, std::size_t size) {
  const auto& known_hosts = hosts();
  const std::string_view xml = as_text(data, size);
  check_limits(xml);

  // Parsed without validation, as the tools that show broken files do; then
  // validated apart (what parse_options::validate does).
  auto parsed = config::parse_domain_string(xml, "<fuzz>", config::parse_options{.validate = false});
  if (!parsed) return 0;
  (void)config::write_domain_xml(*parsed);
  if (!config::validate_domain(*parsed)) return 0;
  check_reparses(*parsed, "a valid domain, written, parses again");

  for (const auto& host : known_hosts) {
    vnuma::ledger empty(host.topology);
    vnuma::expand_options options{.allow_overcommit = false, .reserved_cpus = host.reserved};
    auto placed = vnuma::place(*parsed, host.topology, empty, options);
    if (!placed) {
      // Overcommit turns the capacity errors into warnings: the other paths.
      options.allow_overcommit = true;
      placed = vnuma::place(*parsed, host.topology, empty, options);
      if (!placed) continue;
    }
    // The ledger must take (or refuse with an error) what place() produced.
    vnuma::ledger held(host.topology);
    (void)held.add(placed->place, options.allow_overcommit);
    check_reparses(placed->domain, "an expanded domain, written, parses again");
  }
  return 0;
}

}  // namespace vnumad::fuzz
