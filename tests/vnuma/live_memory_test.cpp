#define BOOST_TEST_MODULE vnuma_live_memory
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/live_memory.hpp"

#include <filesystem>
#include <fstream>
#include <unistd.h>

// Live memory is a second opinion on the ledger: a warning naming the node,
// the ledger's free and the live free when the live figure is lower, never a
// change to the ledger.

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;
using config::KiB;
using config::MiB;

namespace {

// From a real node (this machine's node 0), trimmed.
constexpr const char* meminfo =
    "Node 0 MemTotal:        6907640 kB\n"
    "Node 0 MemFree:         3630292 kB\n"
    "Node 0 MemUsed:         3277348 kB\n"
    "Node 0 Active(anon):       1572 kB\n"
    "Node 0 Inactive(anon):   450284 kB\n"
    "Node 0 Active(file):     370308 kB\n"
    "Node 0 Inactive(file):   780236 kB\n"
    "Node 0 Unevictable:     1396996 kB\n"
    "Node 0 Shmem:             74892 kB\n"
    "Node 0 KReclaimable:     112616 kB\n"
    "Node 0 SReclaimable:     112616 kB\n"
    "Node 0 SUnreclaim:        25312 kB\n"
    "Node 0 HugePages_Total:     0\n"
    "Node 0 HugePages_Free:      0\n";

placement guest_on(unsigned node, std::uint64_t bytes) {
  placement p;
  p.guest = "capB";
  p.cells.push_back(cell_placement{0, node, {0, 1}, bytes, 0});
  p.memory_per_node[node] = bytes;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(available_is_free_plus_file_pages_plus_reclaimable_slab) {
  auto available = parse_node_meminfo_available(meminfo);
  BOOST_TEST_REQUIRE(available.has_value());
  BOOST_TEST(*available == (3630292u + 370308u + 780236u + 112616u) * KiB);
  // Before 4.20 there is no KReclaimable: SReclaimable stands in.
  auto old = parse_node_meminfo_available("Node 3 MemFree: 1024 kB\nNode 3 SReclaimable: 1024 kB\n");
  BOOST_TEST(old.value() == 2 * MiB);
  BOOST_TEST(!parse_node_meminfo_available("Node 0 MemTotal: 1024 kB\n").has_value());
  BOOST_TEST(!parse_node_meminfo_available("").has_value());
}

BOOST_AUTO_TEST_CASE(a_warning_when_live_is_below_the_ledger_and_none_otherwise) {
  const auto host = make_host({0, 1}, 2, 1, 16);
  ledger l(host, {{0, GiB}, {1, GiB}});
  const placement p = guest_on(0, 8 * GiB);
  std::map<unsigned, live_node_memory> live{{0, {.available_bytes = 9 * GiB}}, {1, {.available_bytes = 1 * GiB}}};
  auto warnings = live_memory_warnings(p, l, live);
  BOOST_TEST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0] ==
             "node 0: the ledger counts 15 GiB free, but only 9 GiB is available there now (MemFree + reclaimable); "
             "guest 'capB' needs 8 GiB (memory outside vnumad's accounting exceeds reserved_memory 1 GiB)");
  // The ledger is untouched by it, and node 1 (not used by p) is not mentioned.
  BOOST_TEST(l.free_memory(0) == 15 * GiB);
  live[0].available_bytes = 15 * GiB;
  BOOST_TEST(live_memory_warnings(p, l, live).empty());
  // After p is held the comparison still excludes p's own holding.
  BOOST_TEST_REQUIRE(l.add(p).has_value());
  live[0].available_bytes = 14 * GiB;
  BOOST_TEST(live_memory_warnings(p, l, live).size() == 1u);
  // No live figure for the node: nothing to say.
  BOOST_TEST(live_memory_warnings(p, l, {}).empty());
}

BOOST_AUTO_TEST_CASE(huge_pages_warn_when_the_pool_has_fewer_free_pages) {
  const auto host = make_host({0}, 2, 1, 16, 1024);
  ledger l(host);
  placement p = guest_on(0, GiB);
  p.cells[0].hugepage_bytes = 2 * MiB;
  p.hugepages_per_node[{0, 2 * MiB}] = 512;
  std::map<unsigned, live_node_memory> live{{0, {.available_bytes = 16 * GiB, .hugepages_free = {{2 * MiB, 100}}}}};
  auto warnings = live_memory_warnings(p, l, live);
  BOOST_TEST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0] == "node 0: the ledger counts 1024 free 2 MiB huge pages, but only 100 are free there now; "
                            "guest 'capB' needs 512 (something outside vnumad uses the pool)");
}

BOOST_AUTO_TEST_CASE(reads_sysfs_layout) {
  const auto root = std::filesystem::temp_directory_path() / ("vnumad-live-memory-" + std::to_string(::getpid()));
  std::filesystem::create_directories(root / "node1" / "hugepages" / "hugepages-2048kB");
  std::ofstream(root / "node1" / "meminfo") << meminfo;
  std::ofstream(root / "node1" / "hugepages" / "hugepages-2048kB" / "free_hugepages") << "37\n";
  placement p = guest_on(1, GiB);
  p.hugepages_per_node[{1, 2 * MiB}] = 4;
  p.memory_per_node[2] = GiB;  // node2 has no files: left out
  auto live = read_live_node_memory(p, root);
  std::filesystem::remove_all(root);
  BOOST_TEST_REQUIRE(live.size() == 1u);
  BOOST_TEST(live.at(1).available_bytes == *parse_node_meminfo_available(meminfo));
  BOOST_TEST(live.at(1).hugepages_free.at(2 * MiB) == 37u);
}

BOOST_AUTO_TEST_CASE(a_host_from_a_file_is_not_compared_with_this_machine) {
  auto host = make_host({0}, 2, 1, 4096);  // 4 TiB: far more than this machine has
  ledger l(host);
  BOOST_TEST(!host.live);
  BOOST_TEST(check_live_memory(guest_on(0, GiB), host, l).empty());
}
