#define BOOST_TEST_MODULE capabilities_report
#include <boost/test/unit_test.hpp>

#include "config/cpuset.hpp"
#include "vnuma/capabilities_report.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/json.hpp>

#include <filesystem>
#include <sstream>

using namespace vnumad;
using namespace vnumad::vnuma;
using config::format_id_set;
namespace json = boost::json;

namespace {

const std::vector<std::string> fixtures = {"seed-e7-8895v2-4s.xml", "rfc-4n-2c-nosmt.xml", "epyc-2s-nps4.xml",
                                           "small-2s.xml",          "uma-1s.xml",          "big-16n.xml",
                                           "sparse-cxl.xml"};

host_topology fixture(const std::string& name) {
  auto host = load_topology_xml(std::filesystem::path(VNUMAD_REFERENCE_DIR) / "fixtures" / "hosts" / name);
  BOOST_TEST_REQUIRE(host.has_value(), name << ": " << (host ? "" : host.error().message));
  return *host;
}

id_set auto_reserved(const host_topology& host) {
  auto reserved = resolve_reserved_cpus(host, {reserved_cpus_setting::kind::automatic, {}});
  BOOST_TEST_REQUIRE(reserved.has_value());
  return *reserved;
}

std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

// Position of a line, or -1: tests check both presence and order.
long find_line(const std::vector<std::string>& lines, const std::string& line) {
  for (std::size_t i = 0; i < lines.size(); ++i)
    if (lines[i] == line) return static_cast<long>(i);
  return -1;
}

// Two nodes with PCI devices and one device hwloc could not place.
host_topology with_devices() {
  host_topology host;
  host.description = "two sockets with devices";
  for (unsigned id : {0u, 1u}) {
    host_node n;
    n.id = id;
    n.cpus = {2 * id, 2 * id + 1};
    n.cores = {{2 * id}, {2 * id + 1}};
    n.package = id;
    n.memory_bytes = n.free_bytes = 1024ull * 1024 * 1024;
    host.nodes.push_back(n);
  }
  host.nodes[0].pci_devices = {{"0000:00:1f.2", "SATA controller (Intel C600/X79 series)", {"sda", "sdb"}, 0},
                               {"0000:00:1d.0", "USB controller [8086:1d26]", {}, 0}};
  host.nodes[1].pci_devices = {{"0000:81:00.0", "Ethernet controller (Intel 82599ES)", {"eth2"}, 1}};
  host.unattached_pci = {{"0000:ff:00.0", "Non-Volatile memory controller [144d:a808]", {"nvme0n1"}, std::nullopt}};
  host.distances = {{10, 21}, {21, 10}};
  return host;
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_text_looks_like_numactl) {
  const host_topology host = fixture("seed-e7-8895v2-4s.xml");
  const auto lines = lines_of(render_capabilities_text(host, auto_reserved(host)));
  std::vector<std::string> expected = {
      "host: 4-socket Xeon E7-8895 v2 (seed host)",
      "available: 4 nodes (0-3)",
      "node distances:",
      "node   0   1   2   3",
      "  0:  10  21  21  21",
      "  1:  21  10  21  21",
      "  2:  21  21  10  21",
      "  3:  21  21  21  10",
      "threads per core: 2",
      "default huge page size: 2048 kB",
      "reserved cpus: 0,15,30,45,60,75,90,105",
  };
  for (unsigned n = 0; n < 4; ++n) {
    const std::string p = "node " + std::to_string(n) + " ";
    std::string cpus, cores;
    for (unsigned c = 15 * n; c < 15 * n + 15; ++c) cpus += (cpus.empty() ? "" : " ") + std::to_string(c);
    for (unsigned c = 15 * n; c < 15 * n + 15; ++c) cpus += " " + std::to_string(c + 60);
    for (unsigned c = 15 * n; c < 15 * n + 15; ++c) cores += " " + std::to_string(c) + "," + std::to_string(c + 60);
    expected.push_back(p + "cpus: " + cpus);
    expected.push_back(p + "size: 131072 MB");
    expected.push_back(p + "free: 131072 MB");
    expected.push_back(p + "hugepages 2048 kB: 4096 total, 4096 free");
    expected.push_back(p + "package: " + std::to_string(n));
    expected.push_back(p + "cores:" + cores);
    expected.push_back(p + "reserved cpus: " + std::to_string(15 * n) + "," + std::to_string(15 * n + 60));
    expected.push_back(p + "pci devices: none");
  }
  for (const auto& line : expected) BOOST_TEST(find_line(lines, line) >= 0, "missing line: " << line);
  // numactl's order: cpus, size, free per node, then the distance table.
  BOOST_TEST(find_line(lines, "node 0 cpus: 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 60 61 62 63 64 65 66 67 68 69 70 71 72 73 "
                              "74") == 2);
  BOOST_TEST(find_line(lines, "node 0 size: 131072 MB") < find_line(lines, "node 1 size: 131072 MB"));
  BOOST_TEST(find_line(lines, "node 3 free: 131072 MB") < find_line(lines, "node distances:"));
  BOOST_TEST(find_line(lines, "node distances:") + 1 == find_line(lines, "node   0   1   2   3"));
}

BOOST_AUTO_TEST_CASE(text_for_hosts_without_table_or_cpus) {
  const host_topology uma = fixture("uma-1s.xml");
  const auto u = lines_of(render_capabilities_text(uma, {}));
  BOOST_TEST(find_line(u, "node distances: (none reported, 10 local / 20 remote assumed)") >= 0);
  BOOST_TEST(find_line(u, "  0:  10") >= 0);
  BOOST_TEST(find_line(u, "node 0 reserved cpus: none") >= 0);
  BOOST_TEST(find_line(u, "reserved cpus: none") >= 0);
  BOOST_TEST(find_line(u, "available: 1 nodes (0)") >= 0);

  const host_topology cxl = fixture("sparse-cxl.xml");
  const auto c = lines_of(render_capabilities_text(cxl, auto_reserved(cxl)));
  BOOST_TEST(find_line(c, "available: 3 nodes (0,2,4)") >= 0);
  BOOST_TEST(find_line(c, "node 4 cpus:") >= 0);
  BOOST_TEST(find_line(c, "node 4 size: 65536 MB") >= 0);
  BOOST_TEST(find_line(c, "node 4 cores: none (memory only)") >= 0);
  BOOST_TEST(find_line(c, "node 2 cores: 4,12 5,13 6,14 7,15") >= 0);
  BOOST_TEST(find_line(c, "node   0   2   4") >= 0);
  BOOST_TEST(find_line(c, "  4:  40  40  10") >= 0);
}

BOOST_AUTO_TEST_CASE(pci_devices_are_listed_under_their_node) {
  const auto lines = lines_of(render_capabilities_text(with_devices(), {}));
  const long node0 = find_line(lines, "node 0 pci devices:");
  const long node1 = find_line(lines, "node 1 pci devices:");
  const long loose = find_line(lines, "pci devices without a node:");
  const long sata = find_line(lines, "  0000:00:1f.2 SATA controller (Intel C600/X79 series) sda sdb");
  const long usb = find_line(lines, "  0000:00:1d.0 USB controller [8086:1d26]");
  const long nic = find_line(lines, "  0000:81:00.0 Ethernet controller (Intel 82599ES) eth2");
  const long nvme = find_line(lines, "  0000:ff:00.0 Non-Volatile memory controller [144d:a808] nvme0n1");
  BOOST_TEST(node0 >= 0);
  BOOST_TEST((node0 < sata && sata < node1 && node0 < usb && usb < node1));
  BOOST_TEST((node1 < nic && nic < loose && loose < nvme));
}

BOOST_AUTO_TEST_CASE(live_host_text_shows_every_device) {
  auto host = load_live_topology();
  BOOST_TEST_REQUIRE(host.has_value(), (host ? "" : host.error().message));
  const std::string text = render_capabilities_text(*host, auto_reserved(*host));
  const auto lines = lines_of(text);
  BOOST_TEST(find_line(lines, "available: " + std::to_string(host->nodes.size()) + " nodes (" +
                                  format_id_set(host->node_ids()) + ")") >= 0);
  for (const auto& node : host->nodes)
    for (const auto& dev : node.pci_devices) {
      std::string line = "  " + dev.bus_id + " " + dev.description;
      for (const auto& name : dev.os_names) line += " " + name;
      BOOST_TEST(find_line(lines, line) > find_line(lines, "node " + std::to_string(node.id) + " pci devices:"));
    }
}

// Reads the facts back out of the serialized JSON and compares them with the
// topology they came from.
void check_round_trip(const host_topology& host, const id_set& reserved) {
  const json::value v = json::parse(json::serialize(capabilities_json(host, reserved)));
  const json::object& top = v.as_object();
  BOOST_TEST(json::value_to<std::string>(top.at("description")) == host.description);
  BOOST_TEST(top.at("threads_per_core").to_number<unsigned>() == host.threads_per_core);
  BOOST_TEST(top.at("default_hugepage_bytes").to_number<std::uint64_t>() == host.default_hugepage_bytes);
  BOOST_TEST(json::value_to<std::string>(top.at("reserved_cpus")) == format_id_set(reserved));
  BOOST_TEST(top.at("distances_reported").as_bool() == !host.distances.empty());
  const auto node_ids = json::value_to<std::vector<unsigned>>(top.at("node_ids"));
  BOOST_TEST(format_id_set(id_set(node_ids.begin(), node_ids.end())) == format_id_set(host.node_ids()));

  const json::array& nodes = top.at("nodes").as_array();
  BOOST_TEST_REQUIRE(nodes.size() == host.nodes.size());
  const json::array& dist = top.at("distances").as_array();
  BOOST_TEST_REQUIRE(dist.size() == host.nodes.size());
  id_set reserved_seen;
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const host_node& want = host.nodes[i];
    const json::object& got = nodes[i].as_object();
    BOOST_TEST_CONTEXT("node " << want.id) {
      BOOST_TEST(got.at("id").to_number<unsigned>() == want.id);
      BOOST_TEST(json::value_to<std::string>(got.at("cpus")) == format_id_set(want.cpus));
      const auto cpu_ids = json::value_to<std::vector<unsigned>>(got.at("cpu_ids"));
      BOOST_TEST(format_id_set(id_set(cpu_ids.begin(), cpu_ids.end())) == format_id_set(want.cpus));
      BOOST_TEST(cpu_ids.size() == want.cpus.size());
      const auto cores = json::value_to<std::vector<std::vector<unsigned>>>(got.at("cores"));
      BOOST_TEST_REQUIRE(cores.size() == want.cores.size());
      for (std::size_t c = 0; c < cores.size(); ++c)
        BOOST_TEST(format_id_set(id_set(cores[c].begin(), cores[c].end())) == format_id_set(want.cores[c]));
      BOOST_TEST(got.at("package").is_null() == !want.package.has_value());
      if (want.package) BOOST_TEST(got.at("package").to_number<unsigned>() == *want.package);
      BOOST_TEST(got.at("memory_bytes").to_number<std::uint64_t>() == want.memory_bytes);
      BOOST_TEST(got.at("free_bytes").to_number<std::uint64_t>() == want.free_bytes);
      const json::array& hp = got.at("hugepages").as_array();
      BOOST_TEST_REQUIRE(hp.size() == want.hugepages_total.size());
      for (const auto& entry : hp) {
        const auto size = entry.at("size_bytes").to_number<std::uint64_t>();
        BOOST_TEST_REQUIRE(want.hugepages_total.contains(size));
        BOOST_TEST(entry.at("total").to_number<std::uint64_t>() == want.hugepages_total.at(size));
        BOOST_TEST(entry.at("free").to_number<std::uint64_t>() == want.hugepages_free.at(size));
      }
      const json::array& pci = got.at("pci_devices").as_array();
      BOOST_TEST_REQUIRE(pci.size() == want.pci_devices.size());
      for (std::size_t d = 0; d < pci.size(); ++d) {
        BOOST_TEST(json::value_to<std::string>(pci[d].at("bus_id")) == want.pci_devices[d].bus_id);
        BOOST_TEST(json::value_to<std::string>(pci[d].at("description")) == want.pci_devices[d].description);
        BOOST_TEST((json::value_to<std::vector<std::string>>(pci[d].at("os_names")) == want.pci_devices[d].os_names));
        BOOST_TEST(pci[d].at("node").to_number<unsigned>() == want.id);
      }
      const auto mine = json::value_to<std::vector<unsigned>>(got.at("reserved_cpu_ids"));
      for (unsigned cpu : mine) BOOST_TEST(want.cpus.contains(cpu));
      reserved_seen.insert(mine.begin(), mine.end());
      BOOST_TEST(json::value_to<std::string>(got.at("reserved_cpus")) ==
                 format_id_set(id_set(mine.begin(), mine.end())));
      const auto row = json::value_to<std::vector<unsigned>>(dist[i]);
      BOOST_TEST_REQUIRE(row.size() == host.nodes.size());
      for (std::size_t j = 0; j < row.size(); ++j) BOOST_TEST(row[j] == host.distance(want.id, host.nodes[j].id));
    }
  }
  BOOST_TEST(format_id_set(reserved_seen) == format_id_set(reserved));
  const json::array& loose = top.at("unattached_pci_devices").as_array();
  BOOST_TEST_REQUIRE(loose.size() == host.unattached_pci.size());
  for (std::size_t d = 0; d < loose.size(); ++d) {
    BOOST_TEST(json::value_to<std::string>(loose[d].at("bus_id")) == host.unattached_pci[d].bus_id);
    BOOST_TEST(loose[d].at("node").is_null());
  }
}

BOOST_AUTO_TEST_CASE(json_round_trips_every_fixture) {
  for (const auto& name : fixtures) {
    BOOST_TEST_CONTEXT(name) {
      const host_topology host = fixture(name);
      check_round_trip(host, auto_reserved(host));
      check_round_trip(host, {});
    }
  }
}

BOOST_AUTO_TEST_CASE(json_round_trips_devices_and_live_host) {
  check_round_trip(with_devices(), {1, 3});
  auto live = load_live_topology();
  BOOST_TEST_REQUIRE(live.has_value(), (live ? "" : live.error().message));
  check_round_trip(*live, auto_reserved(*live));
}

BOOST_AUTO_TEST_CASE(seed_json_has_the_spec_facts) {
  const host_topology host = fixture("seed-e7-8895v2-4s.xml");
  const json::value v = capabilities_json(host, auto_reserved(host));
  const json::object& node0 = v.at("nodes").at(0).as_object();
  BOOST_TEST(json::value_to<std::string>(node0.at("cpus")) == "0-14,60-74");
  BOOST_TEST(json::value_to<std::string>(node0.at("reserved_cpus")) == "0,60");
  BOOST_TEST(node0.at("hugepages").at(0).at("size_bytes").to_number<std::uint64_t>() == 2u * 1024 * 1024);
  BOOST_TEST(node0.at("hugepages").at(0).at("total").to_number<std::uint64_t>() == 4096u);
  BOOST_TEST(v.at("distances").at(0).at(1).to_number<unsigned>() == 21u);
  BOOST_TEST(v.at("distances").at(2).at(2).to_number<unsigned>() == 10u);
}
