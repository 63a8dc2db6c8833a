#define BOOST_TEST_MODULE cli_expand
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "cli_support.hpp"
#include "config/cpuset.hpp"
#include "config/domain_xml.hpp"

// `vnumactl expand` wiring: options reach the partitioner, the output is a
// domain the parser reads back, errors and warnings land on stderr with the
// promised exit codes. The partitioner's own tests (tests/vnuma) check the
// arithmetic; here a few values per fixture show the right rule ran.

namespace bdata = boost::unit_test::data;
using namespace vnumad;
using namespace vnumad::cli::testing;

namespace {

config::domain parse_output(const run_result& r, const std::string& what) {
  BOOST_TEST_REQUIRE(r.code == 0, what << ": exit " << r.code << "\n" << r.err);
  BOOST_TEST(!contains(r.out, "<vnuma"), what << ": expanded output still has <vnuma>");
  auto d = config::parse_domain_string(r.out, what);
  BOOST_TEST_REQUIRE(d.has_value(), what << ": output does not parse: " << (d ? "" : d.error().message));
  BOOST_TEST(!d->vnuma.has_value());
  return std::move(*d);
}

config::domain expand(const std::string& fixture, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"expand", "--topology", seed_host()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(domain_file(fixture).string());
  return parse_output(run(args), fixture);
}

std::string pin_of(const config::domain& d, unsigned vcpu) {
  BOOST_TEST_REQUIRE(d.cputune.has_value());
  for (const auto& p : d.cputune->vcpupins)
    if (p.vcpu == vcpu) return config::format_id_set(p.cpuset);
  BOOST_FAIL("no <vcpupin vcpu='" << vcpu << "'>");
  return {};
}

std::string emulator_pin(const config::domain& d) {
  BOOST_TEST_REQUIRE(d.cputune.has_value());
  BOOST_TEST_REQUIRE(d.cputune->emulatorpin.has_value());
  return config::format_id_set(*d.cputune->emulatorpin);
}

std::vector<unsigned> memnode_hosts(const config::domain& d) {
  BOOST_TEST_REQUIRE(d.numatune.has_value());
  std::vector<unsigned> hosts;
  for (const auto& m : d.numatune->memnodes) {
    BOOST_TEST((m.mode == config::numa_policy::strict), "memnode " << m.cellid << " is not strict");
    BOOST_TEST_REQUIRE(m.nodeset.size() == 1u);
    hosts.push_back(*m.nodeset.begin());
  }
  return hosts;
}

}  // namespace

BOOST_AUTO_TEST_CASE(host_mode_gives_the_seed_expansion) {
  auto d = expand("seed-vnuma-host.xml");
  BOOST_TEST_REQUIRE(d.cpu.topology.has_value());
  BOOST_TEST(d.cpu.topology->sockets == 4u);
  BOOST_TEST(d.cpu.topology->cores == 2u);
  BOOST_TEST(d.cpu.topology->threads == 2u);
  BOOST_TEST_REQUIRE(d.cpu.cells.size() == 4u);
  BOOST_TEST(config::format_id_set(*d.cpu.cells[1].cpus) == "4-7");
  BOOST_TEST(d.cpu.cells[1].memory_bytes == 8ull << 30);
  BOOST_TEST(d.cpu.cells[0].distances.at(1) == 21u);
  BOOST_TEST(pin_of(d, 0) == "0-14,60-74");
  BOOST_TEST(pin_of(d, 15) == "45-59,105-119");
  BOOST_TEST(memnode_hosts(d) == (std::vector<unsigned>{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(d.vcpus.size() == 16u);
  BOOST_TEST_REQUIRE(d.memory_backing.has_value());
  BOOST_TEST(d.memory_backing->locked);
  BOOST_TEST(d.devices.memballoon_model.value_or("") == "none");
}

BOOST_AUTO_TEST_CASE(node_mode_confines_the_guest_to_node_1) {
  auto d = expand("seed-vnuma-node1.xml");
  BOOST_TEST(memnode_hosts(d) == (std::vector<unsigned>{1}), boost::test_tools::per_element());
  BOOST_TEST(pin_of(d, 0) == "15-29,75-89");
  BOOST_TEST(pin_of(d, 15) == "15-29,75-89");
  BOOST_TEST(emulator_pin(d) == "15,75");  // node 1's reserved CPUs (auto)
}

// --reserved-cpus reaches dedicated pinning: the default (auto) keeps the
// first core of each node out, none lets vCPU 0 take thread 0, an explicit
// set keeps exactly those threads out and becomes the emulator's.
struct reserved_case {
  std::vector<std::string> option;
  std::string vcpu0, vcpu1, vcpu4, emulator;
};
std::ostream& operator<<(std::ostream& os, const reserved_case& c) {
  return os << (c.option.empty() ? std::string("(default)") : c.option.back());
}
const std::vector<reserved_case> reserved_cases = {
    {{}, "1", "61", "16", "0,15,30,45,60,75,90,105"},
    {{"--reserved-cpus", "auto"}, "1", "61", "16", "0,15,30,45,60,75,90,105"},
    {{"--reserved-cpus", "none"}, "0", "60", "15", ""},  // emulator: node CPUs not held (checked below)
    {{"--reserved-cpus", "0,60"}, "1", "61", "15", "0,60"},
};

BOOST_DATA_TEST_CASE(reserved_cpus_option_changes_siblings_pinning, bdata::make(reserved_cases), c) {
  auto d = expand("seed-vnuma-siblings.xml", c.option);
  BOOST_TEST(pin_of(d, 0) == c.vcpu0);
  BOOST_TEST(pin_of(d, 1) == c.vcpu1);
  BOOST_TEST(pin_of(d, 4) == c.vcpu4);
  if (!c.emulator.empty()) {
    BOOST_TEST(emulator_pin(d) == c.emulator);
  } else {
    // No reserved CPUs: the emulator gets the guest's node CPUs minus the
    // threads its own vCPUs hold, so it never competes with one.
    auto emu = config::parse_id_set(emulator_pin(d));
    BOOST_TEST_REQUIRE(emu.has_value());
    for (unsigned v = 0; v < 16; ++v) BOOST_TEST(!emu->contains(std::stoul(pin_of(d, v))), "vCPU " << v);
    BOOST_TEST(emu->contains(14u));
  }
  // One host thread per vCPU, never two vCPUs on one thread.
  std::set<std::string> threads;
  for (unsigned v = 0; v < 16; ++v) BOOST_TEST(threads.insert(pin_of(d, v)).second, "vCPU " << v);
}

BOOST_AUTO_TEST_CASE(allow_overcommit_turns_a_refusal_into_warnings) {
  const std::string file = (hostile_dir() / "host-too-much-memory.xml").string();
  auto refused = run({"expand", "--topology", seed_host(), file});
  BOOST_TEST(refused.code == 2);
  BOOST_TEST(refused.out.empty());
  BOOST_TEST(contains(refused.err, "node 0 has 127 GiB free, guest 'huge-mem' needs 1024 GiB for cell 0"), refused.err);

  auto allowed = run({"expand", "--allow-overcommit", "--topology", seed_host(), file});
  auto d = parse_output(allowed, "host-too-much-memory.xml with --allow-overcommit");
  auto warnings = lines_of(allowed.err);
  BOOST_TEST(warnings.size() == 4u, allowed.err);  // one per cell, each node lacks memory
  for (const auto& w : warnings) {
    BOOST_TEST(contains(w, "vnumactl: warning: node "), w);
    BOOST_TEST(contains(w, "(overcommitted)"), w);
  }
  BOOST_TEST(d.cpu.cells.size() == 4u);
}

BOOST_AUTO_TEST_CASE(overcommitted_siblings_warn_and_reuse_threads) {
  const std::string file = (hostile_dir() / "host-siblings-too-many-vcpus.xml").string();
  BOOST_TEST(run({"expand", "--topology", seed_host(), file}).code == 2);
  auto allowed = run({"expand", "--allow-overcommit", "--topology", seed_host(), file});
  parse_output(allowed, "host-siblings-too-many-vcpus.xml with --allow-overcommit");
  BOOST_TEST(contains(allowed.err, "vnumactl: warning: node 1 has 28 free threads"), allowed.err);
  BOOST_TEST(contains(allowed.err, "reused"), allowed.err);
}

BOOST_AUTO_TEST_CASE(a_domain_without_vnuma_is_printed_with_a_note) {
  auto r = run({"expand", "--topology", seed_host(), domain_file("seed-manual-pxb.xml").string()});
  auto d = parse_output(r, "seed-manual-pxb.xml");
  BOOST_TEST(contains(r.err, "has no <vnuma> element"), r.err);
  BOOST_TEST(d.cpu.cells.size() == 4u);
}

BOOST_AUTO_TEST_CASE(a_missing_domain_file_is_invalid_input_naming_it) {
  temp_dir tmp;
  const std::string missing = (tmp.path() / "no-such-guest.xml").string();
  auto r = run({"expand", "--topology", seed_host(), missing});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(contains(r.err, missing), r.err);
}

BOOST_AUTO_TEST_CASE(a_missing_topology_file_is_an_error_naming_it) {
  temp_dir tmp;
  const std::string missing = (tmp.path() / "no-such-host.xml").string();
  auto r = run({"expand", "--topology", missing, domain_file("seed-vnuma-host.xml").string()});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(contains(r.err, "topology file " + missing), r.err);
}

BOOST_AUTO_TEST_CASE(a_bad_reserved_cpus_value_is_invalid_input) {
  auto r = run({"expand", "--reserved-cpus", "bogus", "--topology", seed_host(),
                domain_file("seed-vnuma-siblings.xml").string()});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "'bogus'"), r.err);
}

BOOST_AUTO_TEST_CASE(no_domain_argument_is_a_usage_error) {
  auto r = run({"expand", "--topology", seed_host()});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.err, "Usage: vnumactl expand"), r.err);
}

BOOST_AUTO_TEST_CASE(help_shows_usage_and_examples) {
  auto r = run({"expand", "--help"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.err.empty());
  BOOST_TEST(contains(r.out, "Usage: vnumactl expand"), r.out);
  BOOST_TEST(contains(r.out, "--allow-overcommit"), r.out);
  BOOST_TEST(contains(r.out, "--reserved-cpus"), r.out);
  BOOST_TEST(contains(r.out, "Examples:"), r.out);
  BOOST_TEST(contains(r.out, "\n  vnumactl expand --topology "), r.out);
}
