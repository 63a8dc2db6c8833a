#define BOOST_TEST_MODULE host_topology
#include <boost/test/unit_test.hpp>

#include "config/cpuset.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/topology_loader.hpp"

#include <filesystem>

namespace vnumad {
// Boost.Test finds this by argument-dependent lookup to print error kinds.
inline std::ostream& boost_test_print_type(std::ostream& os, errc code) { return os << to_string(code); }
}  // namespace vnumad

using namespace vnumad;
using namespace vnumad::vnuma;
using config::format_id_set;
using kind = reserved_cpus_setting::kind;

namespace {

host_topology fixture(const std::string& name) {
  auto host = load_topology_xml(std::filesystem::path(VNUMAD_REFERENCE_DIR) / "fixtures" / "hosts" / name);
  BOOST_TEST_REQUIRE(host.has_value(), name << ": " << (host ? "" : host.error().message));
  return *host;
}

// Sparse ids, a one-core node and a memory-only node, no distance matrix.
host_topology hand_made() {
  host_topology host;
  host_node a;
  a.id = 1;
  a.cpus = {0, 1, 2, 3};
  a.cores = {{0, 2}, {1, 3}};
  host_node b;
  b.id = 3;
  b.cpus = {4};
  b.cores = {{4}};
  host_node c;
  c.id = 7;
  host.nodes = {a, b, c};
  return host;
}

}  // namespace

BOOST_AUTO_TEST_CASE(lookups_by_id) {
  const host_topology host = hand_made();
  BOOST_TEST(host.find_node(3)->id == 3u);
  BOOST_TEST(host.find_node(0) == nullptr);
  BOOST_TEST(host.find_node(2) == nullptr);
  BOOST_TEST(host.node_of_cpu(2).value_or(~0u) == 1u);
  BOOST_TEST(host.node_of_cpu(4).value_or(~0u) == 3u);
  BOOST_TEST(!host.node_of_cpu(5).has_value());
  BOOST_TEST(format_id_set(host.all_cpus()) == "0-4");
  BOOST_TEST(format_id_set(host.node_ids()) == "1,3,7");
  BOOST_TEST(format_id_set(host.nodes_with_cpus()) == "1,3");
}

BOOST_AUTO_TEST_CASE(distances_without_matrix_are_10_and_20) {
  const host_topology host = hand_made();
  BOOST_TEST(host.distance(1, 1) == 10u);
  BOOST_TEST(host.distance(7, 7) == 10u);
  BOOST_TEST(host.distance(1, 3) == 20u);
  BOOST_TEST(host.distance(7, 1) == 20u);
}

BOOST_AUTO_TEST_CASE(distances_use_positions_not_ids) {
  host_topology host = hand_made();
  host.distances = {{10, 15, 40}, {15, 10, 41}, {40, 41, 10}};
  BOOST_TEST(host.distance(1, 3) == 15u);
  BOOST_TEST(host.distance(3, 7) == 41u);
  BOOST_TEST(host.distance(7, 1) == 40u);
  BOOST_TEST(host.distance(7, 7) == 10u);
}

BOOST_AUTO_TEST_CASE(parse_reserved_cpus_table) {
  struct row {
    std::string text;
    kind which;
    std::string cpus;
  };
  const std::vector<row> good = {
      {"auto", kind::automatic, ""},   {" AUTO\n", kind::automatic, ""}, {"none", kind::none, ""},
      {"None", kind::none, ""},        {"0,60", kind::explicit_set, "0,60"},
      {"0-3,^2", kind::explicit_set, "0-1,3"}, {" 5 ", kind::explicit_set, "5"},
  };
  for (const auto& r : good) {
    BOOST_TEST_CONTEXT("'" << r.text << "'") {
      auto parsed = parse_reserved_cpus(r.text);
      BOOST_TEST_REQUIRE(parsed.has_value(), (parsed ? "" : parsed.error().message));
      BOOST_TEST((parsed->which == r.which));
      BOOST_TEST(format_id_set(parsed->cpus) == r.cpus);
    }
  }
  for (std::string bad : {"", "  ", "automatic", "3-1", "0,,x", "^1", "all"}) {
    BOOST_TEST_CONTEXT("'" << bad << "'") {
      auto parsed = parse_reserved_cpus(bad);
      BOOST_TEST_REQUIRE(!parsed.has_value());
      BOOST_TEST(parsed.error().code == errc::invalid_cpuset);
      BOOST_TEST(parsed.error().message.find("reserved_cpus") != std::string::npos, parsed.error().message);
      BOOST_TEST(parsed.error().message.find("auto") != std::string::npos, parsed.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(auto_reserves_first_core_of_each_node_on_the_seed) {
  const host_topology host = fixture("seed-e7-8895v2-4s.xml");
  auto reserved = resolve_reserved_cpus(host, {kind::automatic, {}});
  BOOST_TEST_REQUIRE(reserved.has_value());
  BOOST_TEST(format_id_set(*reserved) == format_id_set({0, 60, 15, 75, 30, 90, 45, 105}));
}

BOOST_AUTO_TEST_CASE(auto_on_other_hosts) {
  struct row {
    std::string file;
    std::string reserved;
  };
  const std::vector<row> rows = {
      {"rfc-4n-2c-nosmt.xml", "0,2,4,6"},       // no SMT: one thread per node
      {"small-2s.xml", "0-1,8-9"},              // adjacent siblings
      {"sparse-cxl.xml", "0,4,8,12"},           // memory-only node 4 reserves nothing
      {"uma-1s.xml", "0,8"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.file) {
      auto reserved = resolve_reserved_cpus(fixture(r.file), {kind::automatic, {}});
      BOOST_TEST_REQUIRE(reserved.has_value());
      BOOST_TEST(format_id_set(*reserved) == r.reserved);
    }
  }
  // A node with one core keeps it for guests.
  auto reserved = resolve_reserved_cpus(hand_made(), {kind::automatic, {}});
  BOOST_TEST_REQUIRE(reserved.has_value());
  BOOST_TEST(format_id_set(*reserved) == "0,2");
}

BOOST_AUTO_TEST_CASE(none_and_explicit_sets) {
  const host_topology host = fixture("seed-e7-8895v2-4s.xml");
  auto none = resolve_reserved_cpus(host, {kind::none, {}});
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(none->empty());

  auto exp = resolve_reserved_cpus(host, {kind::explicit_set, {0, 119}});
  BOOST_TEST_REQUIRE(exp.has_value());
  BOOST_TEST(format_id_set(*exp) == "0,119");

  auto bad = resolve_reserved_cpus(host, {kind::explicit_set, {0, 120, 121, 500}});
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().code == errc::invalid_cpuset);
  BOOST_TEST(bad.error().message.find("120-121,500") != std::string::npos, bad.error().message);
  BOOST_TEST(bad.error().message.find("0-119") != std::string::npos, bad.error().message);

  // Parsed text goes through the same check.
  auto parsed = parse_reserved_cpus("1,61");
  BOOST_TEST_REQUIRE(parsed.has_value());
  auto resolved = resolve_reserved_cpus(host, *parsed);
  BOOST_TEST_REQUIRE(resolved.has_value());
  BOOST_TEST(format_id_set(*resolved) == "1,61");
}
