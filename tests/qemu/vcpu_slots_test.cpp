#define BOOST_TEST_MODULE vcpu_slots
#include "qemu/vcpu_slots.hpp"

#include <boost/test/unit_test.hpp>

using namespace vnumad;
using namespace vnumad::qemu;

namespace {

config::domain domain_with(unsigned vcpus, std::optional<config::cpu_topology> topology) {
  config::domain d;
  d.vcpu.max = vcpus;
  d.cpu.topology = topology;
  return d;
}

qmp::cpu_props props(std::int64_t socket, std::int64_t core, std::int64_t thread, std::optional<std::int64_t> die = {},
                     std::optional<std::int64_t> cluster = {}) {
  qmp::cpu_props p;
  p.socket_id = socket;
  p.core_id = core;
  p.thread_id = thread;
  p.die_id = die;
  p.cluster_id = cluster;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_domain_without_topology_has_one_socket_per_vcpu) {
  // What argv passes (-smp 2,sockets=2,cores=1,threads=1) and what QEMU then
  // reports for vCPU 1 (socket-id 1, core-id 0) must map back to vCPU 1: the
  // defect of issue 13 was a pinning inverse that assumed cores=N instead.
  auto t = vcpu_topology_of(domain_with(2, std::nullopt));
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST(t->sockets == 2u);
  BOOST_TEST(t->cores == 1u);
  BOOST_TEST(!t->explicit_);
  BOOST_TEST((slot_of(*t, 1) == vcpu_slot{.socket = 1}));
  BOOST_TEST(vcpu_of(*t, props(1, 0, 0)).value_or(99) == 1u);
  BOOST_TEST(!vcpu_of(*t, props(0, 1, 0)).has_value());  // no core 1 on this machine
}

BOOST_AUTO_TEST_CASE(every_id_round_trips_through_its_slot_in_any_topology) {
  const config::cpu_topology shapes[] = {{1, 1, 1, 8, 1}, {2, 1, 1, 2, 2}, {2, 2, 1, 2, 2}, {1, 2, 2, 2, 2}, {3, 1, 1, 1, 1}};
  for (const auto& shape : shapes) {
    const unsigned n = shape.sockets * shape.dies * shape.clusters * shape.cores * shape.threads;
    auto t = vcpu_topology_of(domain_with(n, shape));
    BOOST_TEST_REQUIRE(t.has_value());
    for (unsigned v = 0; v < n; ++v) {
      vcpu_slot s = slot_of(*t, v);
      BOOST_TEST(vcpu_of(*t, props(s.socket, s.core, s.thread, s.die, s.cluster)).value_or(999) == v, "vCPU " << v);
    }
  }
}

BOOST_AUTO_TEST_CASE(threads_count_fastest_then_cores_clusters_dies_sockets) {
  // QEMU's x86_topo_ids_from_idx order.
  auto t = vcpu_topology_of(domain_with(16, config::cpu_topology{2, 1, 2, 2, 2}));
  BOOST_TEST_REQUIRE(t.has_value());
  BOOST_TEST((slot_of(*t, 1) == vcpu_slot{.thread = 1}));
  BOOST_TEST((slot_of(*t, 2) == vcpu_slot{.core = 1}));
  BOOST_TEST((slot_of(*t, 4) == vcpu_slot{.cluster = 1}));
  BOOST_TEST((slot_of(*t, 8) == vcpu_slot{.socket = 1}));
  BOOST_TEST((slot_of(*t, 15) == vcpu_slot{.socket = 1, .cluster = 1, .core = 1, .thread = 1}));
}

BOOST_AUTO_TEST_CASE(a_topology_that_is_not_the_vcpu_count_is_refused) {
  auto t = vcpu_topology_of(domain_with(6, config::cpu_topology{1, 1, 1, 2, 2}));
  BOOST_TEST_REQUIRE(!t.has_value());
  BOOST_TEST(t.error().message.find("= 4 but <vcpu> is 6") != std::string::npos, t.error().message);
}

BOOST_AUTO_TEST_CASE(the_free_slot_is_the_unplugged_one_of_that_vcpu) {
  auto t = vcpu_topology_of(domain_with(4, config::cpu_topology{1, 1, 1, 2, 2}));
  BOOST_TEST_REQUIRE(t.has_value());
  std::vector<qmp::hotpluggable_cpu> slots(4);
  for (unsigned v = 0; v < 4; ++v) {
    vcpu_slot s = slot_of(*t, v);
    slots[v].type = "max-x86_64-cpu";
    slots[v].props = props(s.socket, s.core, s.thread);
  }
  slots[0].qom_path = "/machine/unattached/device[0]";  // plugged
  BOOST_TEST(free_slot_for(slots, *t, 0) == nullptr);
  BOOST_TEST(free_slot_for(slots, *t, 3) == &slots[3]);
  BOOST_TEST(free_slot_for(slots, *t, 9) == nullptr);
}
