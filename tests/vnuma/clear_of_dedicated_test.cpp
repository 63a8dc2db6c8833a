#define BOOST_TEST_MODULE vnuma_clear_of_dedicated
#include <boost/test/unit_test.hpp>

#include "config/domain_xml.hpp"
#include "partition_fixtures.hpp"
#include "vnuma/clear_of_dedicated.hpp"
#include "vnuma/place.hpp"

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;

namespace {

// Two nodes of 4 two-thread cores: node 0 has CPUs 0-7, node 1 has 8-15.
host_topology two_nodes() { return make_host({0, 1}, 4, 2, 16); }

// A shared guest: one cell on `node`, vCPUs pinned to `pins`.
placement shared_guest(const std::string& name, unsigned node, std::vector<id_set> pins, id_set emulator = {}) {
  placement p;
  p.guest = name;
  id_set vcpus;
  for (unsigned v = 0; v < pins.size(); ++v) {
    vcpus.insert(v);
    p.vcpus.push_back(vcpu_placement{v, 0, pins[v]});
  }
  p.cells.push_back(cell_placement{0, node, vcpus, GiB, 0});
  p.memory_per_node[node] = GiB;
  p.emulator_cpus = std::move(emulator);
  return p;
}

placement dedicated_guest(const std::string& name, unsigned node, id_set threads) {
  placement p = shared_guest(name, node, {threads});
  p.dedicated_cpus = threads;
  return p;
}

pins_wanted asked_as_held(const placement& p) {
  pins_wanted w;
  for (const auto& v : p.vcpus) w.vcpus[v.vcpu] = v.host_cpus;
  w.emulator = p.emulator_cpus;
  return w;
}

}  // namespace

BOOST_AUTO_TEST_CASE(nothing_changes_while_no_other_guest_holds_threads) {
  auto host = two_nodes();
  ledger held(host);
  placement web = shared_guest("web", 0, {{0, 1, 2, 3}, {0, 1, 2, 3}}, {4});
  BOOST_TEST_REQUIRE(held.add(web).has_value());
  auto granted = pins_clear_of_dedicated(web, asked_as_held(web), held, host);
  BOOST_TEST(granted.vcpus[0].host_cpus == (id_set{0, 1, 2, 3}));
  BOOST_TEST(granted.vcpus[1].host_cpus == (id_set{0, 1, 2, 3}));
  BOOST_TEST(granted.emulator == (id_set{4}));
  BOOST_TEST(granted.notes.empty());
}

BOOST_AUTO_TEST_CASE(threads_taken_dedicated_leave_the_shared_pins_and_come_back) {
  auto host = two_nodes();
  ledger held(host);
  placement web = shared_guest("web", 0, {{0, 1, 2, 3}, {2, 3}, {}}, {2});
  BOOST_TEST_REQUIRE(held.add(web).has_value());
  const pins_wanted asked = asked_as_held(web);
  BOOST_TEST_REQUIRE(held.add(dedicated_guest("db", 0, {2, 3})).has_value());

  auto granted = pins_clear_of_dedicated(web, asked, held, host);
  BOOST_TEST(granted.vcpus[0].host_cpus == (id_set{0, 1}));
  // vCPU 1 asked only for db's threads: it falls back to node 0's shared CPUs.
  BOOST_TEST(granted.vcpus[1].host_cpus == (id_set{0, 1, 4, 5, 6, 7}));
  // An unpinned vCPU and emulator now avoid db's threads too.
  id_set all_but_db = host.all_cpus();
  all_but_db.erase(2);
  all_but_db.erase(3);
  BOOST_TEST(granted.vcpus[2].host_cpus == all_but_db);
  BOOST_TEST(granted.emulator == all_but_db);
  BOOST_TEST_REQUIRE(granted.notes.size() == 1u);
  BOOST_TEST(granted.notes[0] ==
             "vCPU 1: its threads 2-3 are held dedicated by other guests; moved to 0-1,4-7");

  // db leaves: the same computation gives web what it asked for.
  BOOST_TEST(held.remove("db"));
  auto back = pins_clear_of_dedicated(web, asked, held, host);
  BOOST_TEST(back.vcpus[0].host_cpus == (id_set{0, 1, 2, 3}));
  BOOST_TEST(back.vcpus[1].host_cpus == (id_set{2, 3}));
  BOOST_TEST(back.vcpus[2].host_cpus.empty());
  BOOST_TEST(back.emulator == (id_set{2}));
}

BOOST_AUTO_TEST_CASE(a_guest_keeps_its_own_dedicated_threads) {
  auto host = two_nodes();
  ledger held(host);
  placement db = dedicated_guest("db", 0, {2, 3});
  BOOST_TEST_REQUIRE(held.add(db).has_value());
  BOOST_TEST_REQUIRE(held.add(dedicated_guest("other", 0, {4, 5})).has_value());
  auto granted = pins_clear_of_dedicated(db, asked_as_held(db), held, host);
  BOOST_TEST(granted.vcpus[0].host_cpus == (id_set{2, 3}));
}

BOOST_AUTO_TEST_CASE(a_whole_node_held_dedicated_leaves_the_vcpu_where_it_asked_with_a_note) {
  auto host = make_host({0}, 1, 2, 4);  // one core: CPUs 0-1
  ledger held(host);
  placement web = shared_guest("web", 0, {{0, 1}});
  BOOST_TEST_REQUIRE(held.add(web).has_value());
  BOOST_TEST_REQUIRE(held.add(dedicated_guest("db", 0, {0, 1})).has_value());
  auto granted = pins_clear_of_dedicated(web, asked_as_held(web), held, host);
  BOOST_TEST(granted.vcpus[0].host_cpus == (id_set{0, 1}));
  BOOST_TEST_REQUIRE(granted.notes.size() == 1u);
  BOOST_TEST(granted.notes[0].find("left there") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(hand_written_pins_on_dedicated_threads_are_refused_or_trimmed) {
  auto host = two_nodes();
  ledger held(host);
  BOOST_TEST_REQUIRE(held.add(dedicated_guest("db", 1, {8, 9})).has_value());
  auto refused = check_pins_not_all_dedicated(shared_guest("manual", 1, {{10}, {8, 9}}), held);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST((refused.error().code == errc::insufficient_cpus));
  BOOST_TEST(refused.error().message ==
             "guest 'manual': <vcpupin vcpu='1'> is pinned to host threads 8-9, held dedicated by guest 'db'; "
             "pin it elsewhere or stop that guest");
  auto emulator = check_pins_not_all_dedicated(shared_guest("manual", 1, {{10}}, {9}), held);
  BOOST_TEST_REQUIRE(!emulator.has_value());
  BOOST_TEST(emulator.error().message.find("<emulatorpin>") != std::string::npos);
  BOOST_TEST(check_pins_not_all_dedicated(shared_guest("manual", 1, {{9, 10}}), held).has_value());
}

BOOST_AUTO_TEST_CASE(place_trims_a_hand_written_domain_around_dedicated_threads) {
  auto host = two_nodes();
  ledger held(host);
  BOOST_TEST_REQUIRE(held.add(dedicated_guest("db", 0, {2, 3})).has_value());
  const std::string xml =
      "<domain type='qemu'><name>manual</name><memory unit='GiB'>1</memory><vcpu placement='static'>2</vcpu>"
      "<cputune><vcpupin vcpu='0' cpuset='1-3'/><vcpupin vcpu='1' cpuset='2-3'/></cputune>"
      "<os><type arch='x86_64' machine='q35'>hvm</type></os></domain>";
  auto d = config::parse_domain_string(xml, "manual.xml");
  BOOST_TEST_REQUIRE(d.has_value(), d.error().message);
  auto refused = place(*d, host, held, expand_options{});
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("<vcpupin vcpu='1'>") != std::string::npos, refused.error().message);

  d->cputune->vcpupins[1].cpuset = {3, 4};
  auto placed = place(*d, host, held, expand_options{});
  BOOST_TEST_REQUIRE(placed.has_value(), placed.error().message);
  BOOST_TEST(placed->place.vcpus[0].host_cpus == (id_set{1}));
  BOOST_TEST(placed->place.vcpus[1].host_cpus == (id_set{4}));
}
