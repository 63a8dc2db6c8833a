#define BOOST_TEST_MODULE vnuma_ledger
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/ledger.hpp"

#include <boost/json.hpp>

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;
using config::MiB;

namespace {

placement guest(std::string name, unsigned node, std::uint64_t bytes, id_set dedicated = {}) {
  placement p;
  p.guest = std::move(name);
  p.cells.push_back(cell_placement{0, node, {0, 1}, bytes, 0});
  p.vcpus.push_back(vcpu_placement{0, 0, dedicated});
  p.memory_per_node[node] = bytes;
  p.dedicated_cpus = std::move(dedicated);
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(memory_accounting_and_refusal) {
  const auto host = make_host({0, 2}, 4, 2, 16);
  ledger l(host);
  BOOST_TEST(l.free_memory(2) == 16 * GiB);
  BOOST_TEST_REQUIRE(l.add(guest("db", 2, 13 * GiB)).has_value());
  BOOST_TEST(l.free_memory(2) == 3 * GiB);
  BOOST_TEST(l.free_memory(2, "db") == 16 * GiB);  // its own holdings count as free
  BOOST_TEST(l.held_memory(2) == 13 * GiB);
  placement web = guest("web", 2, 8 * GiB);
  web.cells[0].cell = 1;
  auto r = l.add(web);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::insufficient_memory));
  BOOST_TEST(r.error().message == "node 2 has 3 GiB free, guest 'web' needs 8 GiB for cell 1");
  BOOST_TEST(l.find("web") == nullptr);
  BOOST_TEST_REQUIRE(l.add(web, true).has_value());  // overcommit lifts the limit
  BOOST_TEST(l.free_memory(2) == 0u);
  BOOST_TEST(l.remove("web"));
  BOOST_TEST(!l.remove("web"));
  BOOST_TEST(l.free_memory(2) == 3 * GiB);
}

BOOST_AUTO_TEST_CASE(refuses_duplicates_and_unknown_nodes) {
  const auto host = make_host({0, 1}, 2, 1, 4);
  ledger l(host);
  BOOST_TEST_REQUIRE(l.add(guest("a", 0, GiB)).has_value());
  auto dup = l.add(guest("a", 1, GiB));
  BOOST_TEST_REQUIRE(!dup.has_value());
  BOOST_TEST((dup.error().code == errc::already_exists));
  auto missing = l.add(guest("b", 7, GiB));
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST((missing.error().code == errc::node_unavailable));
  BOOST_TEST(missing.error().message.find("NUMA node 7 is unavailable") == 0u);
}

BOOST_AUTO_TEST_CASE(dedicated_threads_are_exclusive_even_with_overcommit) {
  const auto host = make_host({0}, 4, 2, 64);  // PUs 0-7, cores {0,1} {2,3} ...
  ledger l(host);
  BOOST_TEST_REQUIRE(l.add(guest("a", 0, GiB, {2, 3})).has_value());
  BOOST_TEST(l.dedicated_holder(2).value_or("") == "a");
  BOOST_TEST(!l.dedicated_holder(4).has_value());
  for (bool overcommit : {false, true}) {
    auto r = l.add(guest("b", 0, GiB, {3, 4}), overcommit);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().code == errc::insufficient_cpus));
    BOOST_TEST(r.error().message == "host thread 3 is held dedicated by guest 'a'; guest 'b' cannot hold it too");
  }
  BOOST_TEST(l.shared_cpus(0) == (id_set{0, 1, 4, 5, 6, 7}));
  BOOST_TEST(l.shared_cpus(0, "a") == (id_set{0, 1, 2, 3, 4, 5, 6, 7}));
  BOOST_TEST(l.dedicated_cpus() == (id_set{2, 3}));
  BOOST_TEST(l.dedicated_cpus("a").empty());
  auto nonexistent = l.add(guest("c", 0, GiB, {99}));
  BOOST_TEST(!nonexistent.has_value());
  BOOST_TEST_REQUIRE(l.add(guest("b", 0, GiB, {4, 5})).has_value());
  // Re-pinning a guest onto another's thread is refused; onto free ones is not.
  auto steal = l.set_vcpu_pins("b", {vcpu_placement{0, 0, {2}}}, {2});
  BOOST_TEST_REQUIRE(!steal.has_value());
  BOOST_TEST(l.dedicated_holder(4).value_or("") == "b");
  BOOST_TEST_REQUIRE(l.set_vcpu_pins("b", {vcpu_placement{0, 0, {6}}}, {6, 7}).has_value());
  BOOST_TEST(!l.dedicated_holder(4).has_value());
  BOOST_TEST(l.dedicated_holder(7).value_or("") == "b");
  BOOST_TEST(l.remove("a"));
  BOOST_TEST(!l.dedicated_holder(2).has_value());
  BOOST_TEST(l.dedicated_holders().size() == 2u);
}

BOOST_AUTO_TEST_CASE(hugepages_per_node_and_size) {
  const auto host = make_host({0, 1}, 2, 1, 16, 1024);  // 1024 free 2 MiB pages per node
  ledger l(host);
  placement p = guest("h", 1, 1 * GiB);
  p.cells[0].hugepage_bytes = 2 * MiB;
  p.hugepages_per_node[{1, 2 * MiB}] = 512;
  BOOST_TEST_REQUIRE(l.add(p).has_value());
  BOOST_TEST(l.free_hugepages(1, 2 * MiB) == 512u);
  BOOST_TEST(l.free_hugepages(0, 2 * MiB) == 1024u);
  BOOST_TEST(l.free_hugepages(1, GiB) == 0u);
  BOOST_TEST(l.free_memory(1) == 16 * GiB);  // huge pages do not eat normal memory
  placement q = p;
  q.guest = "q";
  q.hugepages_per_node[{1, 2 * MiB}] = 600;
  q.memory_per_node[1] = 1200 * MiB;
  auto r = l.add(q);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::insufficient_hugepages));
  BOOST_TEST(r.error().message == "node 1 has 512 free 2 MiB huge pages, guest 'q' needs 600 for cell 0");
}

// Issue 10's restart: a 5 GiB guest runs on a 16 GiB node, so live free
// memory (free_bytes) and free huge pages already lack its pages. A ledger
// rebuilt from that host (as a restarted daemon does) and given the running
// guest back must still offer total - held, not (live free) - held.
host_topology host_with_running_guest_in_its_snapshot() {
  auto host = make_host({0, 1}, 2, 1, 16, 1024);
  host.nodes[0].free_bytes = 16 * GiB - 5 * GiB - 300 * MiB;  // the guest's RAM and its QEMU
  host.nodes[0].hugepages_free[2 * MiB] = 1024 - 256;          // the guest's huge pages
  return host;
}

placement running_guest() {
  placement p = guest("capA", 0, 5 * GiB + 512 * MiB);
  p.cells.push_back(cell_placement{1, 0, {2, 3}, 512 * MiB, 2 * MiB});
  p.hugepages_per_node[{0, 2 * MiB}] = 256;
  return p;
}

BOOST_AUTO_TEST_CASE(capacity_is_total_minus_held_not_live_free_minus_held) {
  const auto host = host_with_running_guest_in_its_snapshot();
  ledger fresh(host);
  ledger restarted(host);
  BOOST_TEST_REQUIRE(fresh.add(running_guest()).has_value());
  BOOST_TEST_REQUIRE(restarted.add(running_guest(), true).has_value());  // re-attach
  for (const ledger* l : {&fresh, &restarted}) {
    BOOST_TEST(l->free_memory(0) == 11 * GiB);                  // 16 GiB - 5 GiB of normal memory
    BOOST_TEST(l->free_hugepages(0, 2 * MiB) == 1024u - 256u);  // the pool - what capA holds
    BOOST_TEST(l->free_memory(1) == 16 * GiB);
    BOOST_TEST(l->capacity_memory(0) == 16 * GiB);
    BOOST_TEST(l->capacity_hugepages(0, 2 * MiB) == 1024u);
  }
  // The guest the issue saw refused ("node 0 has 933516 KiB free") fits.
  ledger l(host);
  BOOST_TEST_REQUIRE(l.add(running_guest(), true).has_value());
  auto capB = l.add(guest("capB", 0, 8 * GiB));
  BOOST_TEST(capB.has_value(), (capB ? "" : capB.error().message));
  placement pages = guest("capC", 0, 1536 * MiB);
  pages.cells[0].hugepage_bytes = 2 * MiB;
  pages.hugepages_per_node[{0, 2 * MiB}] = 768;  // all the pool capA leaves
  auto capC = l.add(pages);
  BOOST_TEST(capC.has_value(), (capC ? "" : capC.error().message));
  BOOST_TEST(l.free_hugepages(0, 2 * MiB) == 0u);
}

BOOST_AUTO_TEST_CASE(capacity_minus_the_host_reserve) {
  const auto host = host_with_running_guest_in_its_snapshot();
  ledger l(host, {{0, 1 * GiB}, {1, 2 * GiB}});
  BOOST_TEST(l.reserved_memory(0) == 1 * GiB);
  BOOST_TEST(l.capacity_memory(0) == 15 * GiB);
  BOOST_TEST(l.capacity_memory(1) == 14 * GiB);
  BOOST_TEST(l.free_memory(1) == 14 * GiB);
  BOOST_TEST_REQUIRE(l.add(running_guest(), true).has_value());
  BOOST_TEST(l.free_memory(0) == 10 * GiB);                   // 16 - 1 reserved - 5 held
  BOOST_TEST(l.free_hugepages(0, 2 * MiB) == 1024u - 256u);  // no reserve on huge pages
  BOOST_TEST_REQUIRE(l.add(guest("capB", 0, 8 * GiB)).has_value());
  auto r = l.add(guest("capD", 0, 3 * GiB));
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message == "node 0 has 2 GiB free, guest 'capD' needs 3 GiB for cell 0");
  // A reserve larger than the node leaves it nothing, not a wrapped-around number.
  ledger tiny(host, {{0, 64 * GiB}});
  BOOST_TEST(tiny.free_memory(0) == 0u);
}

BOOST_AUTO_TEST_CASE(huge_page_pools_are_not_normal_memory) {
  // A live node's MemTotal counts its pools: 16 GiB with 4 GiB of 2 MiB pages
  // is 12 GiB of normal memory plus 2048 pages, not 16 GiB plus 2048 pages.
  auto host = make_host({0}, 2, 1, 16, 2048);
  host.nodes[0].hugepage_pool_bytes = 2048 * 2 * MiB;
  ledger l(host, {{0, 1 * GiB}});
  BOOST_TEST(l.capacity_memory(0) == 11 * GiB);
  BOOST_TEST(l.free_hugepages(0, 2 * MiB) == 2048u);
}

BOOST_AUTO_TEST_CASE(reserved_memory_resolves_per_node) {
  const auto host = make_host({0, 2, 3}, 2, 1, 16);
  auto setting = config::parse_reserved_memory("512MiB 0=2GiB 3=0");
  BOOST_TEST_REQUIRE(setting.has_value());
  auto reserve = resolve_reserved_memory(host, *setting);
  BOOST_TEST_REQUIRE(reserve.has_value());
  BOOST_TEST(reserve->size() == 3u);
  BOOST_TEST(reserve->at(0) == 2 * GiB);
  BOOST_TEST(reserve->at(2) == 512 * MiB);
  BOOST_TEST(reserve->at(3) == 0u);
  auto unknown = resolve_reserved_memory(host, *config::parse_reserved_memory("1GiB 1=2GiB"));
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().message == "reserved_memory names nodes 1 that this host does not have: its nodes are 0,2-3");
  auto defaults = resolve_reserved_memory(host, config::reserved_memory_setting{});
  BOOST_TEST_REQUIRE(defaults.has_value());
  for (const auto& [node, bytes] : *defaults) BOOST_TEST(bytes == 1 * GiB, "node " << node);
}

BOOST_AUTO_TEST_CASE(memory_hotplug_accounting) {
  const auto host = make_host({0, 1}, 2, 1, 8, 256);
  ledger l(host);
  BOOST_TEST_REQUIRE(l.add(guest("g", 0, 4 * GiB)).has_value());
  BOOST_TEST_REQUIRE(l.add_memory("g", 1, 2 * GiB).has_value());
  BOOST_TEST(l.free_memory(1) == 6 * GiB);
  auto too_much = l.add_memory("g", 1, 7 * GiB);
  BOOST_TEST_REQUIRE(!too_much.has_value());
  BOOST_TEST((too_much.error().code == errc::insufficient_memory));
  BOOST_TEST(too_much.error().message.find("node 1 has 6 GiB free") == 0u);
  BOOST_TEST_REQUIRE(l.add_memory("g", 1, 256 * MiB, 2 * MiB).has_value());
  BOOST_TEST(l.free_hugepages(1, 2 * MiB) == 128u);
  BOOST_TEST(l.free_memory(1) == 6 * GiB);
  BOOST_TEST(!l.add_memory("g", 1, 300 * MiB, 2 * MiB).has_value());  // 150 pages > 128
  BOOST_TEST(!l.add_memory("g", 1, 3 * MiB, 2 * MiB).has_value());    // not whole pages
  BOOST_TEST(!l.add_memory("nobody", 1, MiB).has_value());
  BOOST_TEST_REQUIRE(l.remove_memory("g", 1, 256 * MiB, 2 * MiB).has_value());
  BOOST_TEST(l.free_hugepages(1, 2 * MiB) == 256u);
  BOOST_TEST(!l.remove_memory("g", 1, 3 * GiB).has_value());  // holds only 2 GiB there
  BOOST_TEST_REQUIRE(l.remove_memory("g", 1, 2 * GiB).has_value());
  BOOST_TEST(l.free_memory(1) == 8 * GiB);
  BOOST_TEST(l.find("g")->memory_per_node.count(1) == 0u);
}

BOOST_AUTO_TEST_CASE(placement_json_round_trip) {
  placement p;
  p.guest = "web";
  p.cells = {cell_placement{0, 1, {0, 1, 2, 3}, 8 * GiB, 0}, cell_placement{1, 3, {4, 5, 6, 7}, 8 * GiB, 2 * MiB}};
  for (unsigned v = 0; v < 8; ++v) p.vcpus.push_back(vcpu_placement{v, v / 4, v < 4 ? id_set{15, 75} : id_set{}});
  p.emulator_cpus = {15, 75};
  p.dedicated_cpus = {16, 76};
  p.memory_per_node = {{1, 8 * GiB}, {3, 8 * GiB}};
  p.hugepages_per_node[{3, 2 * MiB}] = 4096;
  p.warnings = {"node 3 is tight"};
  const boost::json::value j = to_json(p);
  auto back = placement_from_json(boost::json::parse(boost::json::serialize(j)));
  BOOST_TEST_REQUIRE(back.has_value(), (back ? std::string() : back.error().message));
  BOOST_TEST(back->guest == "web");
  BOOST_TEST_REQUIRE(back->cells.size() == 2u);
  BOOST_TEST(back->cells[1].host_node == 3u);
  BOOST_TEST(back->cells[1].vcpus == (id_set{4, 5, 6, 7}));
  BOOST_TEST(back->cells[1].hugepage_bytes == 2 * MiB);
  BOOST_TEST_REQUIRE(back->vcpus.size() == 8u);
  BOOST_TEST(back->vcpus[2].host_cpus == (id_set{15, 75}));
  BOOST_TEST(back->vcpus[6].host_cpus.empty());
  BOOST_TEST(back->emulator_cpus == p.emulator_cpus);
  BOOST_TEST(back->dedicated_cpus == p.dedicated_cpus);
  BOOST_TEST((back->memory_per_node == p.memory_per_node));
  BOOST_TEST((back->hugepages_per_node == p.hugepages_per_node));
  BOOST_TEST(back->warnings == p.warnings);
  BOOST_TEST(back->normal_memory_on(3) == 0u);
  BOOST_TEST(j.at("cells").at(0).at("vcpus").as_string() == "0-3");

  for (std::string_view bad : {R"([])", R"({"guest":""})", R"({"guest":"x","cells":[{"cell":-1}]})",
                               R"({"guest":"x","cells":[],"vcpus":[],"emulator_cpus":"9-1","dedicated_cpus":""})"}) {
    auto r = placement_from_json(boost::json::parse(bad));
    BOOST_TEST(!r.has_value(), bad);
    if (!r) BOOST_TEST(r.error().message.find("placement JSON") == 0u);
  }
}
