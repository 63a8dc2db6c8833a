#define BOOST_TEST_MODULE cli_argv
#include <boost/test/unit_test.hpp>

#include "cli_support.hpp"

#include <boost/json.hpp>

// `vnumactl argv`: one argument per line on stdout, exactly what vnumad would
// exec; the vCPUs to hotplug over QMP on stderr. The builder's own tests
// (tests/qemu) check each option against libvirt; here the CLI wiring: a
// <vnuma> domain is expanded first, a hand-written one is used as it is.

namespace json = boost::json;
using namespace vnumad::cli::testing;

namespace {

std::vector<std::string> argv_of(const std::string& fixture, std::vector<std::string> extra = {}) {
  std::vector<std::string> args{"argv", "--topology", seed_host()};
  args.insert(args.end(), extra.begin(), extra.end());
  args.push_back(domain_file(fixture).string());
  auto r = run(args);
  BOOST_TEST_REQUIRE(r.code == 0, fixture << ": exit " << r.code << "\n" << r.err);
  return lines_of(r.out);
}

// Values of every occurrence of `option` (the argument after it).
std::vector<std::string> values_of(const std::vector<std::string>& argv, const std::string& option) {
  std::vector<std::string> values;
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == option) values.push_back(argv[i + 1]);
  return values;
}

// -smp without dies=1/clusters=1, which QEMU takes as the default anyway.
std::string smp_of(const std::vector<std::string>& argv) {
  auto smp = values_of(argv, "-smp");
  BOOST_TEST_REQUIRE(smp.size() == 1u);
  std::string text = smp[0];
  for (const std::string drop : {",dies=1", ",clusters=1"})
    if (auto at = text.find(drop); at != std::string::npos) text.erase(at, drop.size());
  return text;
}

// The NUMA shape of an argv: -numa values and the memory backends.
std::vector<std::string> numa_options(const std::vector<std::string>& argv) {
  std::vector<std::string> out;
  for (const auto& v : values_of(argv, "-numa")) out.push_back("-numa " + v);
  for (const auto& v : values_of(argv, "-object"))
    if (contains(v, "memory-backend")) out.push_back("-object " + v);
  out.push_back("-smp " + smp_of(argv));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_host_guest_has_four_bound_cells) {
  auto argv = argv_of("seed-vnuma-host.xml");
  BOOST_TEST_REQUIRE(!argv.empty());
  BOOST_TEST(argv[0] == "/usr/bin/qemu-system-x86_64");
  for (const auto& arg : argv) BOOST_TEST(!arg.empty(), "an empty argument line");
  BOOST_TEST(values_of(argv, "-name") == (std::vector<std::string>{"guest=OL8-vnuma,debug-threads=on"}),
             boost::test_tools::per_element());
  BOOST_TEST(smp_of(argv) == "1,maxcpus=16,sockets=4,cores=2,threads=2");
  BOOST_TEST(values_of(argv, "-m") == (std::vector<std::string>{"size=33554432k"}), boost::test_tools::per_element());
  BOOST_TEST(values_of(argv, "-overcommit") == (std::vector<std::string>{"mem-lock=on"}), boost::test_tools::per_element());

  const std::vector<std::string> cpus = {"0-3", "4-7", "8-11", "12-15"};
  auto numa = values_of(argv, "-numa");
  std::vector<std::string> nodes;
  for (const auto& v : numa)
    if (v.rfind("node,", 0) == 0) nodes.push_back(v);
  BOOST_TEST_REQUIRE(nodes.size() == 4u);
  for (unsigned k = 0; k < 4; ++k) {
    const std::string id = std::to_string(k);
    BOOST_TEST(nodes[k] == "node,nodeid=" + id + ",cpus=" + cpus[k] + ",memdev=ram-node" + id);
  }
  BOOST_TEST(numa.size() == 4u + 16u);  // and the full 4 x 4 distance matrix

  std::size_t backends = 0;
  for (const auto& v : values_of(argv, "-object")) {
    auto o = json::parse(v).as_object();
    if (o.at("qom-type").as_string() != "memory-backend-ram") continue;
    const std::string id(o.at("id").as_string());
    const auto k = std::stoul(id.substr(std::string("ram-node").size()));
    BOOST_TEST(o.at("size").to_number<std::uint64_t>() == (std::uint64_t{8} << 30), id);
    BOOST_TEST(o.at("host-nodes").as_array().size() == 1u, id);
    BOOST_TEST(o.at("host-nodes").as_array()[0].to_number<std::uint64_t>() == k, id);
    BOOST_TEST(std::string(o.at("policy").as_string()) == "bind", id);
    ++backends;
  }
  BOOST_TEST(backends == 4u);
  BOOST_TEST(values_of(argv, "-numa")[4] == "dist,src=0,dst=0,val=10");
  BOOST_TEST(values_of(argv, "-numa")[5] == "dist,src=0,dst=1,val=21");
}

BOOST_AUTO_TEST_CASE(hotplugged_vcpus_are_listed_on_stderr) {
  auto r = run({"argv", "--topology", seed_host(), domain_file("seed-vnuma-host.xml").string()});
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  const std::string prefix = "vnumactl: then QMP device_add while paused, in this order:";
  BOOST_TEST_REQUIRE(r.err.rfind(prefix, 0) == 0u, r.err);
  // -smp starts 1 (vCPU 0, not hotpluggable); the other 15 each once.
  std::istringstream words(r.err.substr(prefix.size()));
  std::set<std::string> listed;
  std::size_t count = 0;
  for (std::string w; words >> w; ++count) listed.insert(w);
  BOOST_TEST(count == 15u, r.err);
  BOOST_TEST(listed.size() == 15u, r.err);
  BOOST_TEST(!listed.contains("vcpu0"), r.err);
  for (unsigned v = 1; v < 16; ++v) BOOST_TEST(listed.contains("vcpu" + std::to_string(v)), v);
}

BOOST_AUTO_TEST_CASE(qmp_option_is_the_monitor_socket) {
  auto argv = argv_of("seed-vnuma-host.xml", {"--qmp", "/tmp/somewhere/web.qmp"});
  auto chardevs = values_of(argv, "-chardev");
  bool found = false;
  for (const auto& c : chardevs) found = found || contains(c, "path=/tmp/somewhere/web.qmp,server=on,wait=off");
  BOOST_TEST(found);
  auto fallback = argv_of("seed-vnuma-host.xml");
  found = false;
  for (const auto& c : values_of(fallback, "-chardev")) found = found || contains(c, "path=/run/vnumad/OL8-vnuma/qemu/qmp.sock");
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(explicit_domain_is_used_as_is_with_pxb_on_node_1) {
  auto argv = argv_of("seed-manual-pxb.xml");
  bool pxb = false;
  for (const auto& v : values_of(argv, "-device")) {
    auto o = json::parse(v).as_object();
    if (o.at("driver").as_string() != "pxb-pcie") continue;
    pxb = true;
    BOOST_TEST(o.at("numa_node").to_number<std::int64_t>() == 1);
  }
  BOOST_TEST(pxb, "no pxb-pcie device");
  // The hand-written seed guest and the <vnuma mode='host'/> one describe
  // the same machine: their NUMA options are identical.
  auto expanded = argv_of("seed-vnuma-host.xml");
  BOOST_TEST(numa_options(argv) == numa_options(expanded), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(siblings_guest_has_the_same_shape) {
  BOOST_TEST(smp_of(argv_of("seed-vnuma-siblings.xml")) == "1,maxcpus=16,sockets=4,cores=2,threads=2");
  auto node1 = argv_of("seed-vnuma-node1.xml");
  // One cell on node 1: sockets=1, 16 vCPUs as 8 cores x 2 threads.
  BOOST_TEST(smp_of(node1) == "1,maxcpus=16,sockets=1,cores=8,threads=2");
  bool bound = false;
  for (const auto& v : values_of(node1, "-object"))
    bound = bound || contains(v, "\"host-nodes\":[1],\"policy\":\"bind\"");
  BOOST_TEST(bound);
}

BOOST_AUTO_TEST_CASE(help_and_missing_file) {
  auto help = run({"argv", "--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(contains(help.out, "Usage: vnumactl argv"), help.out);
  BOOST_TEST(contains(help.out, "\n  vnumactl argv "), help.out);
  temp_dir tmp;
  const std::string missing = (tmp.path() / "nope.xml").string();
  auto r = run({"argv", "--topology", seed_host(), missing});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(contains(r.err, missing), r.err);
}
