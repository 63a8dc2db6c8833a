#define BOOST_TEST_MODULE guest_cgroup
#include <boost/test/unit_test.hpp>

#include "cgroup/affinity.hpp"
#include "cgroup/guest_cgroup.hpp"
#include "test_support.hpp"

using namespace vnumad;
using namespace vnumad::cgroup;
using namespace vnumad::cgroup::test;

namespace {
config::id_set online_cpus() { return get_affinity(::getpid()).value(); }
}  // namespace

BOOST_AUTO_TEST_CASE(names_that_escape_the_layout_are_refused) {
  for (const char* bad : {"", ".", "..", "a/b"}) {
    auto g = guest_cgroup::open(cgroup_fs(), bad);
    BOOST_TEST_REQUIRE(!g);
    BOOST_TEST(g.error().code == errc::invalid_name);
  }
  auto g = guest_cgroup::open(cgroup_fs(backend::v1, "/sys/fs/cgroup/cpuset"), "web");
  BOOST_TEST_REQUIRE(g.has_value());
  BOOST_TEST(g->vcpu_group(3) == "vnumad/web/vcpu3");
  BOOST_TEST(g->emulator_group() == "vnumad/web/emulator");
}

// The QEMU stand-in: main thread + 3 workers; workers 1 and 2 play vCPUs 0
// and 1, the rest is the emulator.
BOOST_AUTO_TEST_CASE(v1_pins_vcpus_and_emulator_for_real) {
  BOOST_TEST_REQUIRE(usable_v1(), "needs root and a writable cgroup v1 cpuset hierarchy at " << v1_mount);
  scoped_root root(backend::v1, v1_mount);
  child_process qemu(3);
  auto tids = qemu.threads();
  config::id_set cpus = online_cpus();
  unsigned first = *cpus.begin();
  unsigned last = *cpus.rbegin();
  config::id_set mems = root.fs().read_mems("").value();

  auto guest = guest_cgroup::open(root.fs(), "web").value();
  BOOST_TEST_REQUIRE(guest.pin_vcpu(tids[1], 0, {first}, mems).has_value());
  BOOST_TEST_REQUIRE(guest.pin_vcpu(tids[2], 1, {last}, mems).has_value());
  BOOST_TEST_REQUIRE(guest.pin_emulator(qemu.pid(), cpus, mems).has_value());

  const cgroup_fs& cg = guest.fs();
  BOOST_TEST(cg.threads(guest.vcpu_group(0)).value() == std::vector<pid_t>{tids[1]});
  BOOST_TEST(cg.threads(guest.vcpu_group(1)).value() == std::vector<pid_t>{tids[2]});
  auto emulator = cg.threads(guest.emulator_group()).value();
  std::sort(emulator.begin(), emulator.end());
  BOOST_TEST(emulator == (std::vector<pid_t>{tids[0], tids[3]}));
  BOOST_TEST(read_cpus_allowed_list(qemu.pid(), tids[1]).value() == config::id_set{first});
  BOOST_TEST(read_cpus_allowed_list(qemu.pid(), tids[2]).value() == config::id_set{last});
  BOOST_TEST(read_cpus_allowed_list(qemu.pid(), tids[0]).value() == cpus);
  BOOST_TEST(cg.children(guest.guest_group()).value() == (std::vector<std::string>{"emulator", "vcpu0", "vcpu1"}));
  BOOST_TEST_REQUIRE(guest.verify().has_value());

  // Drift: somebody widened a vCPU group. (The thread's affinity stays: the
  // kernel keeps the mask sched_setaffinity asked for within the new set.)
  // A host with one CPU cannot drift.
  if (cpus != config::id_set{first}) {
    BOOST_TEST_REQUIRE(cg.write_cpus(guest.vcpu_group(0), cpus).has_value());
    auto drift = guest.verify();
    BOOST_TEST_REQUIRE(!drift);
    const std::string& msg = drift.error().message;
    BOOST_TEST(msg.find("guest 'web'") != std::string::npos, msg);
    BOOST_TEST(msg.find((root.path() / "vnumad/web/vcpu0/cpuset.cpus").string() + " is '" +
                        config::format_id_set(cpus) + "'") != std::string::npos, msg);
    // Re-pinning is how the supervisor repairs it.
    BOOST_TEST_REQUIRE(guest.pin_vcpu(tids[1], 0, {first}, mems).has_value());
    BOOST_TEST(guest.verify().has_value());
  }

  // A second handle, as after a daemon restart, knows no vCPUs but must not
  // sweep the vCPU threads into the emulator group.
  auto reattached = guest_cgroup::open(root.fs(), "web").value();
  BOOST_TEST_REQUIRE(reattached.pin_emulator(qemu.pid(), {first}, mems).has_value());
  BOOST_TEST(cg.threads(guest.vcpu_group(1)).value() == std::vector<pid_t>{tids[2]});
  BOOST_TEST(read_cpus_allowed_list(qemu.pid(), tids[3]).value() == config::id_set{first});

  // Removal with all threads still alive.
  BOOST_TEST_REQUIRE(guest.remove().has_value());
  BOOST_TEST(!cg.exists(guest.guest_group()));
  BOOST_TEST(cg.exists("vnumad"));
  auto moved_up = cg.threads("vnumad").value();
  for (pid_t tid : tids) BOOST_TEST(contains(moved_up, tid));
  BOOST_TEST(::kill(qemu.pid(), 0) == 0);
}

BOOST_AUTO_TEST_CASE(v1_pin_errors_name_the_file) {
  BOOST_TEST_REQUIRE(usable_v1(), "needs root and a writable cgroup v1 cpuset hierarchy at " << v1_mount);
  scoped_root root(backend::v1, v1_mount);
  parked_thread thread;
  auto guest = guest_cgroup::open(root.fs(), "db").value();
  unsigned absent = *online_cpus().rbegin() + 64;
  auto r = guest.pin_vcpu(thread.tid(), 2, {absent}, root.fs().read_mems("").value());
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find((root.path() / "vnumad/db/vcpu2/cpuset.cpus").string()) != std::string::npos,
             r.error().message);
  BOOST_TEST(guest.remove().has_value());
  BOOST_TEST(!root.fs().exists("vnumad/db"));
}

BOOST_AUTO_TEST_CASE(backend_none_pins_by_affinity_and_warns_once) {
  std::vector<std::string> warnings;
  auto guest = guest_cgroup::open(cgroup_fs(), "web", [&](std::string_view w) { warnings.emplace_back(w); }).value();
  parked_thread vcpu0;
  parked_thread vcpu1;
  unsigned last = *online_cpus().rbegin();
  BOOST_TEST_REQUIRE(guest.pin_vcpu(vcpu0.tid(), 0, {last}, {0}).has_value());
  BOOST_TEST_REQUIRE(guest.pin_vcpu(vcpu1.tid(), 1, {last}, {0}).has_value());
  BOOST_TEST(read_cpus_allowed_list(::getpid(), vcpu0.tid()).value() == config::id_set{last});
  BOOST_TEST(read_cpus_allowed_list(::getpid(), vcpu1.tid()).value() == config::id_set{last});
  BOOST_TEST_REQUIRE(warnings.size() == 1u);
  BOOST_TEST(warnings[0].find("guest 'web'") != std::string::npos);
  BOOST_TEST(warnings[0].find("sched_setaffinity") != std::string::npos);
  BOOST_TEST(guest.verify().has_value());
  BOOST_TEST(guest.remove().has_value());
}

// cgroup2 here has no cpuset controller: the guest's threaded groups are
// created for real, and the first cpuset write names the missing file.
BOOST_AUTO_TEST_CASE(v2_layout_is_threaded_and_missing_cpuset_is_named) {
  BOOST_TEST_REQUIRE(usable_v2(), "needs root and cgroup2 mounted at " << v2_mount);
  scoped_root root(backend::v2, v2_mount);
  child_process qemu(1);
  auto guest = guest_cgroup::open(root.fs(), "web").value();
  auto r = guest.pin_vcpu(qemu.threads().back(), 0, {0}, {0});
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().code == errc::not_found);
  BOOST_TEST(r.error().message.find((root.path() / "vnumad/web/vcpu0/cpuset.mems").string()) != std::string::npos,
             r.error().message);
  BOOST_TEST(slurp(root.path() / "vnumad/web/vcpu0/cgroup.type") == "threaded\n");
  BOOST_TEST(slurp(root.path() / "vnumad/web/cgroup.type") == "domain threaded\n");
  BOOST_TEST(guest.remove().has_value());
  BOOST_TEST(!root.fs().exists("vnumad/web"));
}

// Before QEMU exists: the guest group is made with its final mems, and the
// file returned is where a process joins it. A child that joins and then
// gets its threads pinned is never moved to a group with other mems.
BOOST_AUTO_TEST_CASE(v1_prepare_spawn_then_pin_keeps_one_mems) {
  BOOST_TEST_REQUIRE(usable_v1(), "needs root and a writable cgroup v1 cpuset hierarchy at " << v1_mount);
  scoped_root root(backend::v1, v1_mount);
  config::id_set mems = root.fs().read_mems("").value();
  auto guest = guest_cgroup::open(root.fs(), "web").value();
  auto join = guest.prepare_spawn(mems);
  BOOST_TEST_REQUIRE(join.has_value(), (join ? "" : join.error().message));
  BOOST_TEST_REQUIRE(join->has_value());
  BOOST_TEST(**join == root.fs().path_of(guest.guest_group()) / "cgroup.procs");
  BOOST_TEST(root.fs().read_mems(guest.guest_group()).value() == mems);

  child_process qemu(1);
  auto tids = qemu.threads();
  BOOST_TEST_REQUIRE(write_file(**join, std::to_string(qemu.pid())).has_value());
  BOOST_TEST(root.fs().processes(guest.guest_group()).value() == std::vector<pid_t>{qemu.pid()});
  config::id_set cpus = online_cpus();
  BOOST_TEST_REQUIRE(guest.pin_vcpu(tids[1], 0, cpus, mems).has_value());
  BOOST_TEST_REQUIRE(guest.pin_emulator(qemu.pid(), cpus, mems).has_value());
  for (const auto& group : {guest.guest_group(), guest.emulator_group(), guest.vcpu_group(0)})
    BOOST_TEST(root.fs().read_mems(group).value() == mems, group);
  BOOST_TEST_REQUIRE(guest.verify().has_value());
  BOOST_TEST_REQUIRE(guest.remove().has_value());

  // No nodes to bind to is refused; without a cgroup hierarchy there is
  // nothing to join.
  auto empty = guest_cgroup::open(root.fs(), "web").value().prepare_spawn({});
  BOOST_TEST_REQUIRE(!empty);
  BOOST_TEST(empty.error().message.find("no memory nodes") != std::string::npos);
  auto none = guest_cgroup::open(cgroup_fs(), "web").value().prepare_spawn(mems);
  BOOST_TEST_REQUIRE(none.has_value());
  BOOST_TEST(!none->has_value());
}
