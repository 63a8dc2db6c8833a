#define BOOST_TEST_MODULE cli_schema
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "cli_support.hpp"
#include "config/domain_xml.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/json.hpp>

#include <algorithm>

// Spec section 1: "The expanded XML no longer contains <vnuma> and must
// validate against libvirt's own domain schema (virt-xml-validate FILE
// domain)". Every expansion vnumactl prints for the fixtures is written to a
// file and handed to libvirt's validator.

namespace bdata = boost::unit_test::data;
using namespace vnumad;
using namespace vnumad::cli::testing;

namespace {

// Expands with `args` (the domain file last), writes the XML, validates it;
// returns vnumactl's result.
run_result expand_and_validate(const std::vector<std::string>& args, const std::string& what,
                         bool warnings_allowed = false) {
  auto r = run(args);
  BOOST_TEST_REQUIRE(r.code == 0, what << ": vnumactl expand exit " << r.code << "\n" << r.err);
  if (!warnings_allowed) BOOST_TEST(r.err.empty(), what << ": " << r.err);
  BOOST_TEST(!contains(r.out, "<vnuma"), what);
  temp_dir tmp;
  const auto file = tmp.write("expanded.xml", r.out);
  auto v = virt_xml_validate(file);
  BOOST_TEST(v.status == 0, what << ": virt-xml-validate exit " << v.status << ":\n" << v.output);
  BOOST_TEST(contains(v.output, "validates"), what << ": " << v.output);
  return r;
}

std::vector<std::string> seed_fixtures() { return {"seed-vnuma-host.xml", "seed-vnuma-siblings.xml", "seed-vnuma-node1.xml"}; }

struct rfc_case {
  std::string name, domain;
  std::size_t cells = 0;
};
std::ostream& operator<<(std::ostream& os, const rfc_case& c) { return os << c.name; }

const fs::path rfc_dir = shared_dir() / "conformance/vnuma-rfc";

std::vector<rfc_case> rfc_cases() {
  auto doc = boost::json::parse(read_file(rfc_dir / "cases.json"));
  std::vector<rfc_case> out;
  for (const auto& c : doc.at("cases").as_array())
    out.push_back({std::string(c.at("name").as_string()), std::string(c.at("domain").as_string()),
                   c.at("cells").as_array().size()});
  return out;
}

std::vector<std::string> host_fixtures() {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(shared_dir() / "fixtures/hosts"))
    if (e.path().extension() == ".xml") out.push_back(e.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

const std::vector<std::string> distributions = {"contiguous", "siblings", "round-robin", "interleave"};

}  // namespace

BOOST_AUTO_TEST_CASE(validator_is_installed_and_rejects_garbage) {
  // Guards the tests below against a validator that accepts anything.
  temp_dir tmp;
  auto bad = virt_xml_validate(tmp.write("bad.xml", "<domain type='kvm'><vnuma mode='host'/></domain>\n"));
  BOOST_TEST(bad.status != 0, bad.output);
  BOOST_TEST(!contains(bad.output, "validates"), bad.output);
  BOOST_TEST(bad.status != 127, "virt-xml-validate is not installed (Debian package libvirt-clients)");
}

BOOST_DATA_TEST_CASE(seed_expansions_validate, bdata::make(seed_fixtures()), fixture) {
  expand_and_validate({"expand", "--topology", seed_host(), domain_file(fixture).string()}, fixture);
}

BOOST_AUTO_TEST_CASE(rfc_matrix_is_complete) { BOOST_TEST(rfc_cases().size() == 9u); }

BOOST_DATA_TEST_CASE(rfc_expansions_validate, bdata::make(rfc_cases()), c) {
  const std::string host = host_file("rfc-4n-2c-nosmt.xml").string();
  const std::string domain = (rfc_dir / c.domain).string();
  auto r = expand_and_validate({"expand", "--allow-overcommit", "--topology", host, domain}, c.name, true);
  // The wiring, not the arithmetic (tests/qemu/conformance_test checks that):
  // the case's cell count comes out.
  auto d = config::parse_domain_string(r.out, c.name);
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  BOOST_TEST(d->cpu.cells.size() == c.cells);
}

BOOST_AUTO_TEST_CASE(demo_domain_on_the_live_host_validates) {
  // Overcommit allowed: this checks the schema, not how much memory the
  // machine has free while other tests run.
  expand_and_validate(
      {"expand", "--allow-overcommit", (fs::path(VNUMAD_SOURCE_DIR) / "etc/domains.d/demo.xml").string()},
      "demo.xml on the live host", true);
}

// A mode='host' guest with 2 vCPUs and 1 GiB per node with CPUs, so the vCPU
// count always divides, in every distribution, on every host fixture.
BOOST_DATA_TEST_CASE(host_mode_on_every_host_fixture_validates,
                     bdata::make(host_fixtures()) * bdata::make(distributions), host_name, distribution) {
  auto host = vnuma::load_topology_xml(host_file(host_name));
  BOOST_TEST_REQUIRE(host.has_value(), (host ? "" : host.error().message));
  const std::size_t k = host->nodes_with_cpus().size();
  BOOST_TEST_REQUIRE(k >= 1u);
  const std::string xml = "<domain type='kvm'>\n"
                          "  <name>every-host</name>\n"
                          "  <memory unit='GiB'>" + std::to_string(k) + "</memory>\n"
                          "  <vcpu placement='static'>" + std::to_string(2 * k) + "</vcpu>\n"
                          "  <vnuma mode='host' distribution='" + distribution + "'/>\n"
                          "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
                          "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n  </devices>\n"
                          "</domain>\n";
  temp_dir tmp;
  const auto guest = tmp.write("every-host.xml", xml);
  // Siblings on the RFC host (2 CPUs per node, one reserved) needs overcommit;
  // the other distributions fit everywhere without it.
  std::vector<std::string> args{"expand", "--topology", host_file(host_name).string()};
  const bool siblings = distribution == "siblings";
  if (siblings) args.push_back("--allow-overcommit");
  args.push_back(guest.string());
  auto r = expand_and_validate(args, host_name + " " + distribution, siblings);
  auto d = config::parse_domain_string(r.out, host_name);
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  BOOST_TEST(d->cpu.cells.size() == k);
}
