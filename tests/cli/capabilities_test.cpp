#define BOOST_TEST_MODULE cli_capabilities
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "cli_support.hpp"
#include "config/cpuset.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/json.hpp>

// `vnumactl capabilities`: text and JSON for a fixture host and this machine.
// The expected facts come from the topology loader (what the partitioner
// sees), so the CLI is checked to show the same host, not a copy of it.

namespace bdata = boost::unit_test::data;
namespace json = boost::json;
using namespace vnumad;
using namespace vnumad::cli::testing;

namespace {

vnuma::host_topology live_host() {
  auto host = vnuma::load_live_topology();
  BOOST_TEST_REQUIRE(host.has_value(), (host ? "" : host.error().message));
  return std::move(*host);
}

std::string reserved_auto(const vnuma::host_topology& host) {
  auto reserved = vnuma::resolve_reserved_cpus(host, {});
  BOOST_TEST_REQUIRE(reserved.has_value());
  return reserved->empty() ? "none" : config::format_id_set(*reserved);
}

std::string spaced(const config::id_set& ids) {
  std::string text;
  for (unsigned id : ids) text += (text.empty() ? "" : " ") + std::to_string(id);
  return text;
}

json::object capabilities_json(std::vector<std::string> args) {
  args.insert(args.begin(), {"capabilities", "--json"});
  auto r = run(args);
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  BOOST_TEST(r.err.empty(), r.err);
  return json::parse(r.out).as_object();
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_host_text) {
  auto r = run({"capabilities", "--topology", seed_host()});
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  BOOST_TEST(contains(r.out, "available: 4 nodes (0-3)\n"), r.out);
  BOOST_TEST(contains(r.out, "node 0 cpus: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 60 61 62"), r.out);
  BOOST_TEST(contains(r.out, "node 3 cores: 45,105 46,106"), r.out);
  BOOST_TEST(contains(r.out, "node 1 size: 131072 MB\n"), r.out);
  BOOST_TEST(contains(r.out, "node 2 hugepages 2048 kB: 4096 total, 4096 free\n"), r.out);
  BOOST_TEST(contains(r.out, "  0:  10  21  21  21\n"), r.out);
  BOOST_TEST(contains(r.out, "threads per core: 2\n"), r.out);
  BOOST_TEST(contains(r.out, "node 1 reserved cpus: 15,75\n"), r.out);
  BOOST_TEST(contains(r.out, "\nreserved cpus: 0,15,30,45,60,75,90,105\n"), r.out);
}

struct reserved_case {
  std::string option, line;
};
std::ostream& operator<<(std::ostream& os, const reserved_case& c) { return os << c.option; }

BOOST_DATA_TEST_CASE(reserved_cpus_line_follows_the_option,
                     bdata::make(std::vector<reserved_case>{{"auto", "reserved cpus: 0,15,30,45,60,75,90,105"},
                                                            {"none", "reserved cpus: none"},
                                                            {"0,60,119", "reserved cpus: 0,60,119"}}),
                     c) {
  auto r = run({"capabilities", "--topology", seed_host(), "--reserved-cpus", c.option});
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  BOOST_TEST(contains(r.out, "\n" + c.line + "\n"), r.out);
  auto j = capabilities_json({"--topology", seed_host(), "--reserved-cpus", c.option});
  const std::string expected = c.line.substr(std::string("reserved cpus: ").size());
  BOOST_TEST(std::string(j.at("reserved_cpus").as_string()) == (expected == "none" ? "" : expected));
}

BOOST_AUTO_TEST_CASE(reserved_cpus_that_do_not_exist_are_invalid) {
  auto r = run({"capabilities", "--topology", seed_host(), "--reserved-cpus", "120"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "120"), r.err);
  BOOST_TEST(contains(r.err, "0-119"), r.err);
}

BOOST_AUTO_TEST_CASE(seed_host_json) {
  auto j = capabilities_json({"--topology", seed_host()});
  BOOST_TEST(j.at("threads_per_core").to_number<int>() == 2);
  BOOST_TEST(j.at("node_ids").as_array().size() == 4u);
  BOOST_TEST(std::string(j.at("reserved_cpus").as_string()) == "0,15,30,45,60,75,90,105");
  const auto& nodes = j.at("nodes").as_array();
  BOOST_TEST_REQUIRE(nodes.size() == 4u);
  BOOST_TEST(std::string(nodes[0].at("cpus").as_string()) == "0-14,60-74");
  BOOST_TEST(std::string(nodes[3].at("cpus").as_string()) == "45-59,105-119");
  BOOST_TEST(nodes[1].at("cores").as_array().size() == 15u);
  BOOST_TEST(std::string(nodes[2].at("reserved_cpus").as_string()) == "30,90");
  BOOST_TEST(nodes[0].at("memory_bytes").to_number<std::uint64_t>() == std::uint64_t{128} << 30);
  BOOST_TEST(j.at("distances").as_array()[1].as_array()[0].to_number<int>() == 21);
  BOOST_TEST(j.at("distances_reported").as_bool());
}

BOOST_AUTO_TEST_CASE(live_host_text_matches_the_loader) {
  const auto host = live_host();
  auto r = run({"capabilities"});
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  const auto ids = host.node_ids();
  BOOST_TEST(contains(r.out, "available: " + std::to_string(ids.size()) + " nodes (" + config::format_id_set(ids) + ")\n"),
             r.out);
  for (const auto& node : host.nodes)
    BOOST_TEST(contains(r.out, "node " + std::to_string(node.id) + " cpus: " + spaced(node.cpus) + "\n"), r.out);
  BOOST_TEST(contains(r.out, "threads per core: " + std::to_string(host.threads_per_core) + "\n"), r.out);
  BOOST_TEST(contains(r.out, "\nreserved cpus: " + reserved_auto(host) + "\n"), r.out);
}

BOOST_AUTO_TEST_CASE(live_host_json_matches_the_loader) {
  const auto host = live_host();
  auto j = capabilities_json({});
  const auto& nodes = j.at("nodes").as_array();
  BOOST_TEST_REQUIRE(nodes.size() == host.nodes.size());
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    BOOST_TEST(nodes[i].at("id").to_number<unsigned>() == host.nodes[i].id);
    BOOST_TEST(std::string(nodes[i].at("cpus").as_string()) == config::format_id_set(host.nodes[i].cpus));
    BOOST_TEST(nodes[i].at("memory_bytes").to_number<std::uint64_t>() == host.nodes[i].memory_bytes);
    // Free memory moves while tests run; it is at most the node's memory.
    BOOST_TEST(nodes[i].at("free_bytes").to_number<std::uint64_t>() <= host.nodes[i].memory_bytes);
  }
  const std::string reserved = reserved_auto(host);
  BOOST_TEST(std::string(j.at("reserved_cpus").as_string()) == (reserved == "none" ? "" : reserved));
  BOOST_TEST(j.at("distances").as_array().size() == host.nodes.size());
}

BOOST_AUTO_TEST_CASE(help_and_bad_option) {
  auto help = run({"capabilities", "--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(contains(help.out, "\n  vnumactl capabilities --json"), help.out);
  auto bad = run({"capabilities", "--no-such-option"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "Usage: vnumactl capabilities"), bad.err);
  auto missing = run({"capabilities", "--topology", "/nonexistent/host.xml"});
  BOOST_TEST(missing.code == 2);
  BOOST_TEST(contains(missing.err, "/nonexistent/host.xml"), missing.err);
}
