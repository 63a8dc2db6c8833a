#define BOOST_TEST_MODULE config_domain_validate
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;
using namespace vnumad::config;
using vnumad::errc;

namespace {

const fs::path shared = VNUMAD_REFERENCE_DIR;

// A small valid guest; each rule case splices one element into it.
std::string guest(const std::string& extra, const std::string& vcpu = "<vcpu>4</vcpu>",
                  const std::string& devices = "") {
  return "<domain type='qemu'><name>g</name><memory unit='GiB'>4</memory>" + vcpu + extra +
         "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>" + devices + "</devices></domain>";
}

const std::string two_cells =
    "<cpu><numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' unit='GiB'/>"
    "</numa></cpu>";

struct rule_case {
  std::string label;
  std::string xml;
  errc code;
  std::string fragment;
};
std::ostream& operator<<(std::ostream& os, const rule_case& c) { return os << c.label; }

const std::vector<rule_case> rules{
    {"vnuma+topology", guest("<vnuma mode='host'/><cpu><topology sockets='2' cores='2' threads='1'/></cpu>"),
     errc::conflicting_element, "<cpu><topology>"},
    {"vnuma+numa", guest("<vnuma mode='host'/>" + two_cells), errc::conflicting_element, "<cpu><numa>"},
    {"vnuma+vcpupin", guest("<vnuma mode='host'/><cputune><vcpupin vcpu='0' cpuset='1'/></cputune>"),
     errc::conflicting_element, "<cputune><vcpupin>"},
    {"vnuma+emulatorpin", guest("<vnuma mode='host'/><cputune><emulatorpin cpuset='1'/></cputune>"),
     errc::conflicting_element, "<cputune><emulatorpin>"},
    {"vnuma+numatune", guest("<vnuma mode='host'/><numatune><memory mode='strict' nodeset='0'/></numatune>"),
     errc::conflicting_element, "<numatune>"},
    {"vnuma+vcpus",
     guest("<vnuma mode='host'/><vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='yes'/>"
           "<vcpu id='2' enabled='yes'/><vcpu id='3' enabled='yes'/></vcpus>"),
     errc::conflicting_element, "<vcpus>"},
    {"two vnuma", guest("<vnuma mode='host'/><vnuma mode='node'/>"), errc::duplicate_element, "<vnuma> appears more than once"},
    {"partition with host", guest("<vnuma mode='host'><partition cells='2'/></vnuma>"), errc::conflicting_element,
     "only valid with mode='node'"},
    {"partition cells 0", guest("<vnuma mode='node'><partition cells='0'/></vnuma>"), errc::invalid_value,
     "at least 1 cell"},
    {"cells > vcpus", guest("<vnuma mode='node'><partition cells='8'/></vnuma>"), errc::invalid_value,
     "more than the 4 vCPUs"},
    {"unknown distribution", guest("<vnuma mode='host' distribution='random'/>"), errc::invalid_value,
     "contiguous, siblings, round-robin, interleave"},
    {"vnuma without mode", guest("<vnuma/>"), errc::missing_element, "no mode attribute"},
    {"zero vcpus", guest("", "<vcpu>0</vcpu>"), errc::invalid_value, "1..4096"},
    {"too many vcpus", guest("", "<vcpu>100000</vcpu>"), errc::invalid_value, "1..4096"},
    {"current > max", guest("", "<vcpu current='5'>4</vcpu>"), errc::invalid_value, "larger than the 4 vCPUs"},
    {"current 0", guest("", "<vcpu current='0'>4</vcpu>"), errc::invalid_value, "at least 1 vCPU"},
    {"duplicate cell id",
     guest("<cpu><numa><cell id='0' cpus='0-1' memory='2' unit='GiB'/><cell id='0' cpus='2-3' memory='2' "
           "unit='GiB'/></numa></cpu>"),
     errc::duplicate_element, "<cell id='0'> appears twice"},
    {"cell ids from 1",
     guest("<cpu><numa><cell id='1' cpus='0-1' memory='2' unit='GiB'/><cell id='2' cpus='2-3' memory='2' "
           "unit='GiB'/></numa></cpu>"),
     errc::invalid_value, "not contiguous from 0"},
    {"cell cpu out of range", guest("<cpu><numa><cell id='0' cpus='0-4' memory='4' unit='GiB'/></numa></cpu>"),
     errc::invalid_value, "vCPU 4 does not exist"},
    {"cells overlap",
     guest("<cpu><numa><cell id='0' cpus='0-2' memory='2' unit='GiB'/><cell id='1' cpus='2-3' memory='2' "
           "unit='GiB'/></numa></cpu>"),
     errc::invalid_value, "already in another cell"},
    {"topology product", guest("<cpu><topology sockets='2' cores='4' threads='1'/></cpu>"), errc::invalid_value,
     "gives 8 vCPUs but <vcpu> has 4"},
    {"memnode bad cell", guest(two_cells + "<numatune><memnode cellid='2' mode='strict' nodeset='0'/></numatune>"),
     errc::invalid_value, "there is no guest cell 2"},
    {"memnode without cells", guest("<numatune><memnode cellid='0' mode='strict' nodeset='0'/></numatune>"),
     errc::invalid_value, "invalid without any guest NUMA cells"},
    {"memnode with auto",
     guest(two_cells + "<numatune><memory mode='strict' placement='auto'/><memnode cellid='0' mode='strict' "
                       "nodeset='0'/></numatune>"),
     errc::unsupported, "not compatible with automatic NUMA placement"},
    {"maxMemory without cells", guest("<maxMemory slots='4' unit='GiB'>16</maxMemory>"), errc::unsupported,
     "At least one numa node has to be configured"},
    {"dimm on missing node",
     guest(two_cells + "<maxMemory slots='4' unit='GiB'>16</maxMemory>", "<vcpu>4</vcpu>",
           "<memory model='dimm'><target><size unit='MiB'>256</size><node>2</node></target></memory>"),
     errc::invalid_value, "guest node '2'"},
    {"expander on missing node",
     guest(two_cells, "<vcpu>4</vcpu>",
           "<controller type='pci' index='0' model='pcie-root'/><controller type='pci' index='1' "
           "model='pcie-expander-bus'><target busNr='254'><node>3</node></target></controller>"),
     errc::invalid_value, "NUMA node (3) not present"},
    {"vcpus count", guest("<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/></vcpus>"), errc::invalid_value,
     "lists 1 vCPUs but <vcpu> has 4"},
    {"vcpus enabled vs current",
     guest("<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='no' hotpluggable='yes'/>"
           "<vcpu id='2' enabled='yes' hotpluggable='yes'/><vcpu id='3' enabled='yes' hotpluggable='yes'/></vcpus>"),
     errc::invalid_value, "enables 3 vCPUs but <vcpu current> is 4"},
    {"vcpus id range",
     guest("<vcpus><vcpu id='0' enabled='yes' hotpluggable='no'/><vcpu id='1' enabled='yes'/><vcpu id='2' "
           "enabled='yes'/><vcpu id='9' enabled='yes'/></vcpus>"),
     errc::invalid_value, "id 9 is out of range"},
    {"vcpus disabled non-hotpluggable",
     guest("<vcpus><vcpu id='0' enabled='no' hotpluggable='no'/><vcpu id='1' enabled='yes' hotpluggable='yes'/>"
           "<vcpu id='2' enabled='yes' hotpluggable='yes'/><vcpu id='3' enabled='yes' hotpluggable='yes'/></vcpus>",
           "<vcpu current='3'>4</vcpu>"),
     errc::invalid_value, "not hotpluggable must be enabled"},
    {"vcpupin beyond vcpus", guest("<cputune><vcpupin vcpu='4' cpuset='0'/></cputune>"), errc::invalid_value,
     "vCPU 4 does not exist"},
};

}  // namespace

BOOST_DATA_TEST_CASE(each_rule_rejects, bdata::make(rules), c) {
  auto r = parse_domain_string(c.xml, "rule.xml");
  BOOST_TEST_REQUIRE(!r.has_value(), c.label << " was accepted");
  BOOST_TEST((r.error().code == c.code), c.label << ": " << vnumad::to_string(r.error().code) << ": "
                                                   << r.error().message);
  BOOST_TEST(r.error().message.rfind("rule.xml: ", 0) == 0, r.error().message);
  BOOST_TEST(r.error().message.find(c.fragment) != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(the_base_guest_is_valid) {
  // The rules above fail because of what they add, not because of the base.
  BOOST_TEST(parse_domain_string(guest(""), "rule.xml").has_value());
  BOOST_TEST(parse_domain_string(guest(two_cells), "rule.xml").has_value());
  BOOST_TEST(parse_domain_string(guest("<vnuma mode='node' distribution='siblings'><memory unit='GiB'>4</memory>"
                                       "<partition nodeset='0-3,^2' cells='2'/></vnuma>"),
                                 "rule.xml")
                 .has_value());
  // Memory hotplug with <vnuma>: the cells come from the expansion.
  auto hotplug = parse_domain_string(guest("<vnuma mode='host'/><maxMemory slots='4' unit='GiB'>8</maxMemory>",
                                           "<vcpu>4</vcpu>",
                                           "<memory model='dimm'><target><size unit='MiB'>256</size>"
                                           "<node>1</node></target></memory>"),
                                     "rule.xml");
  BOOST_TEST(hotplug.has_value(), (hotplug ? "" : hotplug.error().message));
}

BOOST_AUTO_TEST_CASE(validate_an_edited_struct) {
  auto parsed = parse_domain_string(guest(two_cells), "mem.xml");
  BOOST_TEST_REQUIRE(parsed.has_value());
  domain d = *parsed;
  BOOST_TEST(validate_domain(d).has_value());
  d.vnuma = vnuma_def{};
  auto r = validate_domain(d);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::conflicting_element));
  // Built in memory: the message names the guest instead of a file.
  d.source_file.clear();
  r = validate_domain(d);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.rfind("<domain g>: ", 0) == 0, r.error().message);
}

struct libvirt_negative {
  std::string name;
  errc code;
  std::string fragment;  // from libvirt's own .err text
};
std::ostream& operator<<(std::ostream& os, const libvirt_negative& c) { return os << c.name; }

BOOST_DATA_TEST_CASE(libvirt_negative_cases,
                     bdata::make(std::vector<libvirt_negative>{
                         {"cpu-numa3", errc::invalid_value, "not contiguous from 0"},
                         {"numatune-memnode-nocpu", errc::invalid_value,
                          "element 'memnode' is invalid without any guest NUMA cells"},
                         {"numatune-memnodes-problematic", errc::unsupported,
                          "per-node binding is not compatible with automatic NUMA placement"},
                         {"memory-hotplug-nonuma", errc::unsupported,
                          "At least one numa node has to be configured when enabling memory hotplug"},
                         {"memory-hotplug-invalid-targetnode", errc::invalid_value,
                          "can't add memory backend for guest node '1' as the guest has only '1' NUMA nodes "
                          "configured"},
                         {"pci-expander-bus-bad-node", errc::invalid_value,
                          "pci-expander-bus with index 1 is configured for a NUMA node (1) not present in the "
                          "domain's <cpu><numa> array (0)"},
                     }),
                     c) {
  fs::path file = shared / "conformance/libvirt" / (c.name + ".xml");
  // Well-formed libvirt XML: the parser accepts it, validation rejects it.
  auto loose = parse_domain_file(file, {.validate = false});
  BOOST_TEST_REQUIRE(loose.has_value(), loose.error().message);
  auto r = validate_domain(*loose);
  BOOST_TEST_REQUIRE(!r.has_value(), c.name << " accepted");
  BOOST_TEST((r.error().code == c.code), vnumad::to_string(r.error().code));
  BOOST_TEST(r.error().message.find(c.fragment) != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find(c.name + ".xml") != std::string::npos, r.error().message);
  BOOST_TEST(!parse_domain_file(file).has_value());
}

BOOST_AUTO_TEST_CASE(host_dependent_negatives_pass_here) {
  // These need the host's node list: the partitioner/argv layer rejects them.
  for (const char* name : {"numatune-memnode-unavailable-strict", "numatune-static-nodeset-exceed-hostnode"}) {
    auto r = parse_domain_file(shared / "conformance/libvirt" / (std::string(name) + ".xml"));
    BOOST_TEST(r.has_value(), name << ": " << r.error().message);
  }
}
