#define BOOST_TEST_MODULE metrics_snapshot
// The families made from a snapshot, checked series by series after a round
// trip through the writer and the strict reader of the format.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "metrics/snapshot.hpp"
#include "support/prometheus_text.hpp"
#include "vnuma/partition_fixtures.hpp"

#include <filesystem>
#include <fstream>

namespace bdata = boost::unit_test::data;
using namespace vnumad;
using namespace vnumad::metrics;
using config::GiB;
using config::MiB;
using labels = std::map<std::string, std::string>;

namespace {

// Host nodes 0 and 2, each 2 cores x 2 threads (CPUs 0-3 and 4-7), 16 GiB
// with 512 huge pages of 2 MiB; 1 GiB reserved on each.
vnuma::host_topology host() { return vnuma::testing::make_host({0, 2}, 2, 2, 16, 512); }

// "web": cell 0 on node 0 (2 GiB normal pages), cell 1 on node 2 (512 MiB of
// huge pages, 256 pages), holding CPUs 4-5 dedicated.
vnuma::placement web() {
  vnuma::placement p;
  p.guest = "web";
  p.cells = {{0, 0, {0, 1}, 2 * GiB, 0}, {1, 2, {2, 3}, 512 * MiB, 2 * MiB}};
  p.vcpus = {{0, 0, {0, 1, 2, 3}}, {1, 0, {0, 1, 2, 3}}, {2, 1, {4}}, {3, 1, {5}}};
  p.dedicated_cpus = {4, 5};
  p.memory_per_node = {{0, 2 * GiB}, {2, 512 * MiB}};
  p.hugepages_per_node = {{{2, 2 * MiB}, 256}};
  return p;
}

// numastat's reading of web: cell 0 has 1.5 GiB on node 0 and 256 MiB
// strayed to node 2; cell 1 is all on node 2; QEMU's own 100 MiB on node 0.
vnuma::memory_report report() {
  vnuma::memory_report r;
  vnuma::cell_memory c0;
  c0.cells = {0};
  c0.backends = {"ram-node0"};
  c0.bound_nodes = {0};
  c0.size_bytes = 2 * GiB;
  c0.resident.bytes = {{0, 1536 * MiB}, {2, 256 * MiB}};
  vnuma::cell_memory c1;
  c1.cells = {1};
  c1.backends = {"ram-node1"};
  c1.bound_nodes = {2};
  c1.size_bytes = 512 * MiB;
  c1.resident.bytes = {{2, 512 * MiB}};
  c1.resident.huge_bytes = {{2, 512 * MiB}};
  r.cells = {c0, c1};
  r.other.bytes = {{0, 100 * MiB}};
  r.unmatched = {{"memdimm0", "no mapping of its shape"}};
  return r;
}

const testing::prom_parse& scrape() {
  static const testing::prom_parse parsed = [] {
    static const vnuma::host_topology h = host();
    vnuma::ledger l(h, {{0, GiB}, {2, GiB}});
    auto added = l.add(web());
    BOOST_TEST_REQUIRE(added.has_value(), added.error().message);
    // sysfs now: node 2 has 300 of its 512 pages free (huge pages are faulted lazily).
    vnuma::hugepage_counts pools0{{{2 * MiB, 512}}, {{2 * MiB, 512}}};
    vnuma::hugepage_counts pools2{{{2 * MiB, 512}, {GiB, 0}}, {{2 * MiB, 300}, {GiB, 0}}};
    snapshot s;
    s.version = "0.1.0";
    s.nodes = {node_snapshot_of(h.nodes[0], l, {0, 1}, pools0), node_snapshot_of(h.nodes[1], l, {}, pools2)};
    s.states = {"shut off", "starting", "running", "paused", "in shutdown", "crashed"};
    guest_snapshot running{"web", "running", 8, 4, web(), report(), 2};
    guest_snapshot off{"db", "shut off", 2, 0, std::nullopt, std::nullopt, 0};
    s.guests = {running, off};
    s.guests_queued = 1;
    s.requests = {{{"list", "ok"}, 7}, {{"start", "not_found"}, 1}};
    s.collection_seconds = 0.25;
    auto text = format_exposition(to_families(s));
    BOOST_TEST_REQUIRE(text.has_value(), text.error().message);
    BOOST_TEST_MESSAGE(*text);
    return testing::parse_prometheus_text(*text);
  }();
  return parsed;
}

struct expected {
  std::string metric;
  labels l;
  double value;
};
std::ostream& operator<<(std::ostream& os, const expected& e) {
  os << e.metric << "{";
  for (const auto& [k, v] : e.l) os << k << "=" << v << ",";
  return os << "} " << e.value;
}

const double gib = double(GiB), mib = double(MiB);

}  // namespace

BOOST_AUTO_TEST_CASE(the_exposition_is_valid_and_families_come_node_guest_daemon) {
  const auto& p = scrape();
  BOOST_TEST_REQUIRE(p.ok(), p.error);
  BOOST_TEST(p.order.front() == "vnumad_node_memory_total_bytes");
  BOOST_TEST(p.order.back() == "vnumad_metrics_collection_seconds");
  BOOST_TEST(p.families.at("vnumad_guest_restarts_total").type == "counter");
  BOOST_TEST(p.families.at("vnumad_control_requests_total").type == "counter");
  BOOST_TEST(p.families.at("vnumad_node_memory_free_bytes").type == "gauge");
  // A guest that is not running has no placement or memory series.
  BOOST_TEST(p.select("vnumad_guest_cell_memory_bytes", {{"guest", "db"}}).empty());
  BOOST_TEST(p.select("vnumad_guest_memory_resident_bytes", {{"guest", "db"}}).empty());
  // One state series per state word, one of them 1.
  BOOST_TEST(p.select("vnumad_guest_state", {{"guest", "web"}}).size() == 6u);
}

BOOST_DATA_TEST_CASE(
    each_series_has_its_value,
    bdata::make(std::vector<expected>{
        // Nodes: ledger figures (the fixture's 16 GiB are normal pages, its pools on top).
        {"vnumad_node_memory_total_bytes", {{"node", "2"}}, 16 * gib},
        {"vnumad_node_memory_reserved_bytes", {{"node", "0"}}, gib},
        {"vnumad_node_memory_capacity_bytes", {{"node", "0"}}, 16 * gib - gib},
        {"vnumad_node_memory_held_bytes", {{"node", "0"}}, 2 * gib},
        {"vnumad_node_memory_held_bytes", {{"node", "2"}}, 512 * mib},
        {"vnumad_node_memory_free_bytes", {{"node", "0"}}, 13 * gib},
        {"vnumad_node_memory_free_bytes", {{"node", "2"}}, 15 * gib},
        {"vnumad_node_hugepages_pool", {{"node", "2"}, {"page_size_bytes", "2097152"}}, 512},
        {"vnumad_node_hugepages_free", {{"node", "2"}, {"page_size_bytes", "2097152"}}, 300},
        {"vnumad_node_hugepages_held", {{"node", "2"}, {"page_size_bytes", "2097152"}}, 256},
        {"vnumad_node_hugepages_held", {{"node", "0"}, {"page_size_bytes", "2097152"}}, 0},
        {"vnumad_node_hugepages_pool", {{"node", "2"}, {"page_size_bytes", "1073741824"}}, 0},
        {"vnumad_node_cpus", {{"node", "2"}}, 4},
        {"vnumad_node_cpus_reserved", {{"node", "0"}}, 2},
        {"vnumad_node_cpus_reserved", {{"node", "2"}}, 0},
        {"vnumad_node_cpus_dedicated", {{"node", "0"}}, 0},
        {"vnumad_node_cpus_dedicated", {{"node", "2"}}, 2},
        // Guests.
        {"vnumad_guest_state", {{"guest", "web"}, {"state", "running"}}, 1},
        {"vnumad_guest_state", {{"guest", "web"}, {"state", "shut off"}}, 0},
        {"vnumad_guest_state", {{"guest", "db"}, {"state", "shut off"}}, 1},
        {"vnumad_guest_vcpus", {{"guest", "web"}}, 8},
        {"vnumad_guest_vcpus_online", {{"guest", "web"}}, 4},
        {"vnumad_guest_vcpus_online", {{"guest", "db"}}, 0},
        {"vnumad_guest_cell_memory_bytes", {{"guest", "web"}, {"cell", "1"}, {"node", "2"}}, 512 * mib},
        {"vnumad_guest_cell_vcpus", {{"guest", "web"}, {"cell", "0"}, {"node", "0"}}, 2},
        {"vnumad_guest_memory_held_bytes", {{"guest", "web"}, {"node", "0"}}, 2 * gib},
        {"vnumad_guest_memory_resident_bytes", {{"guest", "web"}, {"cell", "0"}, {"node", "0"}}, 1536 * mib},
        {"vnumad_guest_memory_resident_bytes", {{"guest", "web"}, {"cell", "0"}, {"node", "2"}}, 256 * mib},
        {"vnumad_guest_memory_off_node_bytes", {{"guest", "web"}, {"cell", "0"}}, 256 * mib},
        {"vnumad_guest_memory_off_node_bytes", {{"guest", "web"}, {"cell", "1"}}, 0},
        {"vnumad_guest_memory_backend_bytes", {{"guest", "web"}, {"cell", "1"}, {"bound_nodes", "2"}}, 512 * mib},
        {"vnumad_guest_qemu_memory_resident_bytes", {{"guest", "web"}, {"node", "0"}}, 100 * mib},
        // (1536 + 512) of 2304 MiB resident are on their bound nodes.
        {"vnumad_guest_memory_on_bound_nodes_ratio", {{"guest", "web"}}, 2048.0 / 2304.0},
        {"vnumad_guest_memory_unmatched_backends", {{"guest", "web"}}, 1},
        {"vnumad_guest_restarts_total", {{"guest", "web"}}, 2},
        {"vnumad_guest_restarts_total", {{"guest", "db"}}, 0},
        // The daemon.
        {"vnumad_guests", {{"state", "running"}}, 1},
        {"vnumad_guests", {{"state", "shut off"}}, 1},
        {"vnumad_guests", {{"state", "crashed"}}, 0},
        {"vnumad_guests_queued", {}, 1},
        {"vnumad_control_requests_total", {{"verb", "list"}, {"code", "ok"}}, 7},
        {"vnumad_control_requests_total", {{"verb", "start"}, {"code", "not_found"}}, 1},
        {"vnumad_build_info", {{"version", "0.1.0"}}, 1},
        {"vnumad_metrics_collection_seconds", {}, 0.25}}),
    e) {
  const auto& p = scrape();
  BOOST_TEST_REQUIRE(p.ok(), p.error);
  auto v = p.value(e.metric, e.l);
  BOOST_TEST_REQUIRE(v.has_value(), "no series " << e);
  BOOST_TEST(*v == e.value, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_CASE(huge_pages_are_read_from_a_sysfs_tree) {
  namespace fs = std::filesystem;
  const fs::path root = fs::temp_directory_path() / ("vnumad-hp-" + std::to_string(::getpid()));
  const fs::path dir = root / "node1" / "hugepages" / "hugepages-2048kB";
  fs::create_directories(dir);
  fs::create_directories(root / "node1" / "hugepages" / "hugepages-1048576kB");
  std::ofstream(dir / "nr_hugepages") << "64\n";
  std::ofstream(dir / "free_hugepages") << "40\n";
  std::ofstream(root / "node1" / "hugepages" / "hugepages-1048576kB" / "nr_hugepages") << "2\n";
  std::ofstream(root / "node1" / "hugepages" / "hugepages-1048576kB" / "free_hugepages") << "2\n";
  auto counts = vnuma::read_node_hugepages(1, root);
  BOOST_TEST(counts.total.at(2 * MiB) == 64u);
  BOOST_TEST(counts.free.at(2 * MiB) == 40u);
  BOOST_TEST(counts.total.at(GiB) == 2u);
  BOOST_TEST(vnuma::read_node_hugepages(7, root).total.empty());
  fs::remove_all(root);
}
