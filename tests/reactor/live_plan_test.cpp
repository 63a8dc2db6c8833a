#define BOOST_TEST_MODULE reactor_live_plan
#include <boost/test/unit_test.hpp>

#include "config/units.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/device_removal.hpp"
#include "reactor/live_plan.hpp"
#include "vnuma/partition_fixtures.hpp"

#include <boost/json.hpp>

using namespace vnumad;
using namespace vnumad::reactor;
using config::GiB;
using config::MiB;

namespace {

// A running 4-vCPU guest with cells 0 (vCPUs 0-1, host node 0) and 1 (2-3, host node 2).
config::domain running(unsigned online = 4) {
  config::domain d;
  d.name = "web";
  d.vcpu.max = 4;
  d.vcpu.current = online;
  for (unsigned v = 0; v < 4; ++v) d.vcpus.push_back(config::vcpu_entry{.id = v, .enabled = v < online});
  d.max_memory_slots = 2;
  d.max_memory_bytes = 4 * GiB;
  return d;
}

vnuma::placement placed() {
  vnuma::placement p;
  p.guest = "web";
  p.cells.push_back(vnuma::cell_placement{0, 0, {0, 1}, GiB, 0});
  p.cells.push_back(vnuma::cell_placement{1, 2, {2, 3}, GiB, 0});
  for (unsigned v = 0; v < 4; ++v) p.vcpus.push_back(vnuma::vcpu_placement{v, v / 2, {v}});
  p.memory_per_node[0] = GiB;
  p.memory_per_node[2] = GiB;
  return p;
}

config::memory_device_def dimm(const std::string& id, unsigned cell, unsigned node, std::uint64_t bytes) {
  config::memory_device_def m;
  m.alias = id;
  m.target_node = cell;
  m.source_nodemask = config::id_set{node};
  m.target_size_bytes = bytes;
  return m;
}

}  // namespace

BOOST_AUTO_TEST_CASE(vcpu_device_ids_round_trip_and_refuse_others) {
  struct row {
    std::string id;
    std::optional<unsigned> vcpu;
  };
  for (const auto& r : std::vector<row>{{"vcpu0", 0u}, {"vcpu17", 17u}, {"vcpu", std::nullopt},
                                        {"vcpu3x", std::nullopt}, {"dimm0", std::nullopt}, {"", std::nullopt}}) {
    BOOST_TEST((vcpu_of_device_id(r.id) == r.vcpu), r.id);
    if (r.vcpu) BOOST_TEST(vcpu_device_id(*r.vcpu) == r.id);
  }
}

BOOST_AUTO_TEST_CASE(set_vcpus_plans_and_refuses_counts_out_of_range) {
  auto p = placed();
  struct row {
    unsigned online, target;
    bool ok;
    std::size_t add, remove;
  };
  for (const auto& r : std::vector<row>{{4, 2, true, 0, 2}, {2, 4, true, 2, 0}, {4, 4, true, 0, 0},
                                        {4, 0, false, 0, 0}, {4, 5, false, 0, 0}}) {
    auto plan = plan_set_vcpus("web", running(r.online), &p, r.target);
    BOOST_TEST_REQUIRE(plan.has_value() == r.ok, r.online << " -> " << r.target);
    if (!plan) {
      BOOST_TEST(plan.error().code == errc::invalid_value);
      BOOST_TEST(plan.error().message.find("vCPUs 1..4") != std::string::npos);
      continue;
    }
    BOOST_TEST(plan->add.size() == r.add);
    BOOST_TEST(plan->remove.size() == r.remove);
  }
}

BOOST_AUTO_TEST_CASE(attach_memory_picks_a_free_id_on_the_cells_node_or_says_why_not) {
  auto p = placed();
  auto d = running();
  auto plan = plan_attach_memory("web", d, &p, 1, 256 * MiB);
  BOOST_TEST_REQUIRE(plan.has_value());
  BOOST_TEST(*plan->dimm.alias == "dimm0");
  BOOST_TEST(plan->host_node == 2u);
  d.devices.memory_devices.push_back(plan->dimm);
  BOOST_TEST(*plan_attach_memory("web", d, &p, 0, 256 * MiB)->dimm.alias == "dimm1");

  struct row {
    unsigned cell;
    std::uint64_t bytes;
    errc code;
    std::string says;
  };
  d.devices.memory_devices.push_back(dimm("dimm1", 0, 0, 256 * MiB));
  for (const auto& r : std::vector<row>{{9, MiB, errc::not_found, "no cell 9"},
                                        {0, MiB, errc::no_free_slot, "slots are in use"}}) {
    auto refused = plan_attach_memory("web", d, &p, r.cell, r.bytes);
    BOOST_TEST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.error().code == r.code);
    BOOST_TEST(refused.error().message.find(r.says) != std::string::npos, refused.error().message);
  }
  auto no_max = running();
  no_max.max_memory_slots.reset();
  BOOST_TEST(plan_attach_memory("web", no_max, &p, 0, MiB).error().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(vcpupin_refuses_missing_and_dedicated_cpus) {
  auto p = placed();
  const config::id_set host{0, 1, 2, 3, 4, 5, 6, 7};
  const std::map<unsigned, std::string> others{{6, "db"}};
  struct row {
    unsigned vcpu;
    config::id_set cpus;
    std::optional<errc> code;
  };
  for (const auto& r : std::vector<row>{{1, {4, 5}, std::nullopt},
                                        {7, {4}, errc::not_found},
                                        {1, {42}, errc::invalid_cpuset},
                                        {1, {6}, errc::insufficient_cpus}}) {
    auto plan = plan_vcpupin("web", running(), p, host, others, r.vcpu, r.cpus);
    BOOST_TEST_REQUIRE(plan.has_value() == !r.code, "vCPU " << r.vcpu);
    if (r.code) {
      BOOST_TEST(plan.error().code == *r.code);
      continue;
    }
    BOOST_TEST(plan->vcpus[1].host_cpus == r.cpus);
    BOOST_TEST(!plan->dedicated_moved);
  }
  BOOST_TEST(plan_vcpupin("web", running(), p, host, others, 1, {6}).error().message.find("guest 'db'") !=
             std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_vcpu_removal_goes_offline_once) {
  auto d = running();
  auto removed = apply_device_removal(d, "vcpu3");
  BOOST_TEST_REQUIRE(removed.has_value());
  BOOST_TEST(removed->vcpu.value() == 3u);
  BOOST_TEST(config::format_id_set(online_vcpus(d)) == "0-2");
  BOOST_TEST(d.vcpu.current.value() == 3u);
  BOOST_TEST(!apply_device_removal(d, "vcpu3").has_value());  // the same event again changes nothing
  BOOST_TEST(!apply_device_removal(d, "net0").has_value());
}

// A dimm QEMU deletes after detach-memory stopped waiting: the fake
// DEVICE_DELETED through the removal path's bookkeeping gives its memory
// back to the ledger and takes it out of the running domain.
BOOST_AUTO_TEST_CASE(a_late_dimm_removal_releases_the_ledger) {
  const auto host = vnuma::testing::make_host({0, 2}, 4, 1, 16);
  vnuma::ledger ledger(host);
  BOOST_TEST_REQUIRE(ledger.add(placed()).has_value());
  BOOST_TEST_REQUIRE(ledger.add_memory("web", 2, 512 * MiB).has_value());
  const std::uint64_t held_before = ledger.held_memory(2);
  auto d = running();
  d.devices.memory_devices.push_back(dimm("dimm0", 1, 2, 512 * MiB));

  const boost::json::object event_data{{"device", "dimm0"}, {"path", "/machine/peripheral/dimm0"}};
  auto outcome = remove_device("web", d, ledger, qmp::deleted_device_id(event_data));
  BOOST_TEST_REQUIRE(outcome.has_value());
  BOOST_TEST(!outcome->ledger_failure.has_value());
  BOOST_TEST(outcome->removal.node == 2u);
  BOOST_TEST(ledger.held_memory(2) == held_before - 512 * MiB);
  BOOST_TEST(d.devices.memory_devices.empty());
  // Twice is harmless: nothing is released a second time.
  BOOST_TEST(!remove_device("web", d, ledger, "dimm0").has_value());
  BOOST_TEST(ledger.held_memory(2) == held_before - 512 * MiB);
}
