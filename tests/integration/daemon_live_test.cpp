#define BOOST_TEST_MODULE daemon_live
#include <boost/test/unit_test.hpp>

// The supervisor end to end: a real vnumad, real QEMU (TCG), real cgroupfs,
// real inotify. Each test case has its own daemon and temp dirs.
#include "integration/daemon_support.hpp"

using namespace vnumad;
using namespace vnumad::testing;

BOOST_AUTO_TEST_CASE(four_cell_guest_boots_with_the_expanded_view_and_pinned_threads) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("cells"), .memory_mib = "2048"};
  d.run_guest(g);
  auto view = d.wait_guest_ready(g.name);

  // The guest's kernel sees the expansion: 4 nodes x 2 CPUs of 512 MiB,
  // distance 10 to itself and 11 to the other cells (all four share host
  // node 0). MemTotal is within 5% of the cell size on every node but node 0,
  // which also holds the kernel image (~40 MiB, placed there by nokaslr):
  // 15% there.
  auto running = d.running_domain(g.name);
  BOOST_TEST_REQUIRE(running.cpu.cells.size() == 4u);
  BOOST_TEST_REQUIRE(view.nodes.size() == 4u);
  for (unsigned n = 0; n < 4; ++n) {
    const auto& node = view.nodes.at(n);
    BOOST_TEST(node.cpus.size() == 2u, "node " << n);
    double expected_kb = static_cast<double>(running.cpu.cells[n].memory_bytes) / 1024.0;
    double tolerance = n == 0 ? 0.15 : 0.05;
    BOOST_TEST(node.memtotal_kb > (1.0 - tolerance) * expected_kb, "node " << n << " MemTotal " << node.memtotal_kb);
    BOOST_TEST(node.memtotal_kb <= expected_kb, "node " << n);
    BOOST_TEST_REQUIRE(node.distances.size() == 4u);
    for (unsigned m = 0; m < 4; ++m) BOOST_TEST(node.distances[m] == (m == n ? 10u : 11u));
  }
  BOOST_TEST(view.online.size() == 8u);
  check_vcpu_pins(d, g.name, 8);

  // The emulator and vCPU threads live in the guest's cgroups.
  auto info = d.dominfo(g.name);
  BOOST_TEST(info.at("vcpus_online").to_number<int>() == 8);
  BOOST_TEST(info.at("cells").as_array().size() == 4u);
}

BOOST_AUTO_TEST_CASE(siblings_guest_sees_smt_and_each_pair_shares_a_host_core) {
  // This machine has no SMT: a topology file describes its CPUs 0 and 1 as
  // the two threads of one core (tests/data/hosts/README.md), so dedicated
  // pinning is real. One guest core of two threads takes exactly that core.
  daemon_fixture d("", fs::path(VNUMAD_TEST_DATA_DIR) / "hosts" / "one-node-one-smt-core.xml");
  guest_spec g{.name = unique_name("smt"), .vcpus = 2, .cells = 1, .distribution = "siblings", .memory_mib = "512"};
  d.run_guest(g);
  auto view = d.wait_guest_ready(g.name);

  auto running = d.running_domain(g.name);
  BOOST_REQUIRE(running.cpu.topology.has_value());
  BOOST_TEST(running.cpu.topology->threads == 2u);
  // The guest sees two threads of one core: each CPU has both as siblings.
  BOOST_TEST_REQUIRE(view.cpus.size() == 2u);
  for (const auto& [id, cpu] : view.cpus) BOOST_TEST(config::format_id_set(cpu.siblings) == "0-1", "guest CPU " << id);
  // vCPU 0 and 1 are pinned 1:1 to the two threads of the host core {0,1}.
  auto affinities = vcpu_affinities(d, g.name);
  BOOST_TEST_REQUIRE(affinities.size() == 2u);
  BOOST_TEST(config::format_id_set(affinities[0]) == "0");
  BOOST_TEST(config::format_id_set(affinities[1]) == "1");
  check_vcpu_pins(d, g.name, 2);
}

BOOST_AUTO_TEST_CASE(a_siblings_guest_takes_its_thread_from_a_running_shared_guest_and_gives_it_back) {
  daemon_fixture d("", fs::path(VNUMAD_TEST_DATA_DIR) / "hosts" / "one-node-two-cores.xml");
  guest_spec shared{.name = unique_name("shared"), .vcpus = 2, .cells = 1, .memory_mib = "256"};
  d.run_guest(shared);
  auto all_of = [&](const std::string& cpus) {
    auto affinities = vcpu_affinities(d, shared.name);
    bool all = affinities.size() == 2u;
    for (const auto& [vcpu, set] : affinities) all = all && config::format_id_set(set) == cpus;
    return all;
  };
  BOOST_TEST(all_of("0-1"));

  guest_spec owner{.name = unique_name("owner"), .vcpus = 1, .cells = 1, .distribution = "siblings", .memory_mib = "256"};
  d.run_guest(owner);
  auto owned = vcpu_affinities(d, owner.name);
  BOOST_TEST_REQUIRE(owned.size() == 1u);
  BOOST_TEST_REQUIRE(owned[0].size() == 1u);
  const unsigned taken = *owned[0].begin();
  const std::string left = taken == 0 ? "1" : "0";
  // The shared guest moved off the thread the siblings guest holds, before
  // that guest ran; its pins in the ledger and cgroups say the same.
  BOOST_TEST(all_of(left), d.daemon_log());
  BOOST_TEST(read_text(vnumad_cgroup / shared.name / "vcpu0" / "cpuset.cpus").find(left) == 0u);
  BOOST_TEST(d.daemon_log().find("re-pinned around threads held dedicated") != std::string::npos);

  // The dedicated guest goes: the shared one gets both threads back.
  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", owner.name}}, 30s).has_value());
  BOOST_TEST(wait_until([&] { return all_of("0-1"); }, 10s), d.daemon_log());
}

BOOST_AUTO_TEST_CASE(killed_qemu_is_restarted_and_repinned_under_on_crash_restart) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("crashr"), .on_crash = "restart"};
  pid_t first = d.run_guest(g);
  BOOST_TEST_REQUIRE(::kill(first, SIGKILL) == 0);
  BOOST_TEST_REQUIRE(wait_until(
      [&] {
        auto p = d.guest_pid(g.name);
        return p && *p != first && d.state(g.name) == "running";
      },
      60s), d.daemon_log());
  BOOST_TEST(!pid_alive(first));
  check_vcpu_pins(d, g.name, 8);
  BOOST_TEST(d.daemon_log().find("unexpectedly") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(killed_qemu_under_on_crash_destroy_releases_everything) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("crashd"), .on_crash = "destroy"};
  pid_t first = d.run_guest(g);
  fs::path cgroup = vnumad_cgroup / g.name;
  bool had_cgroup = fs::exists(cgroup);
  BOOST_TEST_REQUIRE(::kill(first, SIGKILL) == 0);
  BOOST_TEST_REQUIRE(d.wait_state(g.name, "crashed", 30s), d.daemon_log());
  BOOST_TEST(!d.guest_pid(g.name).has_value());
  BOOST_TEST(!fs::exists(d.dir / "state" / g.name));
  if (had_cgroup) BOOST_TEST(!fs::exists(cgroup));
  BOOST_TEST(d.dominfo(g.name).at("cells").as_array().empty());  // not in the ledger
  // The memory it held is free again: a guest needing it starts.
  guest_spec other{.name = unique_name("after"), .memory_mib = "1024"};
  d.define(other);
  BOOST_TEST(d.wait_state(other.name, "running"), d.daemon_log());
}

BOOST_AUTO_TEST_CASE(daemon_killed_and_restarted_reattaches_then_removal_shuts_down) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("reattach")};
  pid_t qemu = d.run_guest(g);
  d.stop(SIGKILL);
  BOOST_TEST_REQUIRE(pid_alive(qemu));
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(g.name, "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid(g.name).value_or(0) == qemu);
  auto list = d.call("list");
  BOOST_REQUIRE(list.has_value());
  BOOST_TEST(list->as_array().size() == 1u);
  check_vcpu_pins(d, g.name, 8);
  BOOST_TEST(d.daemon_log().find("re-attached to QEMU pid " + std::to_string(qemu)) != std::string::npos);

  // Removing its file shuts it down (ACPI, then quit after the 5 s timeout).
  fs::remove(d.domain_file(g.name));
  BOOST_TEST(wait_until([&] { return !pid_alive(qemu); }, 30s));
  BOOST_TEST(wait_until([&] { return d.list_names().empty(); }, 10s));
}

BOOST_AUTO_TEST_CASE(invalid_xml_is_reported_and_the_running_guest_is_untouched) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("steady")};
  pid_t qemu = d.run_guest(g);

  // A broken edit of the guest's own file, and a broken new file.
  write_text(d.domain_file(g.name), "<domain type='qemu'><name>" + g.name + "</name><vcpu>8</vcpu");
  write_text(d.dir / "domains.d" / "broken.xml", "<domain type='qemu'><name>x</name><memory unit='furlongs'>1</memory></domain>");
  BOOST_TEST(d.wait_log("furlongs", 10s), d.daemon_log());
  BOOST_TEST(d.wait_log(d.domain_file(g.name).string(), 10s));
  BOOST_TEST(d.guest_pid(g.name).value_or(0) == qemu);
  BOOST_TEST(d.state(g.name) == "running");

  // An editor-style save of a new guest (temp file, then rename) starts it once.
  guest_spec e{.name = unique_name("editor"), .vcpus = 2, .cells = 2, .memory_mib = "256"};
  fs::path tmp = d.dir / "domains.d" / ("." + e.name + ".xml.swp");
  write_text(tmp, domain_xml(e, d.serial(e.name)));
  fs::rename(tmp, d.domain_file(e.name));
  BOOST_TEST_REQUIRE(d.wait_state(e.name, "running"), d.daemon_log());
  std::this_thread::sleep_for(1s);
  std::string log = d.daemon_log();
  BOOST_TEST(occurrences(log, "guest '" + e.name + "': QEMU started") == 1u, log);
}

BOOST_AUTO_TEST_CASE(qemu_that_fails_to_start_reports_its_own_message_and_leaves_nothing) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("nokernel"), .kernel = "/nonexistent/vmlinuz-missing"};
  d.define(g);
  BOOST_TEST_REQUIRE(d.wait_log("start failed", 30s), d.daemon_log());
  std::string log = d.daemon_log();
  // QEMU's own words name the missing file.
  BOOST_TEST(log.find("/nonexistent/vmlinuz-missing") != std::string::npos, log);
  BOOST_TEST(d.state(g.name) == "shut off");
  BOOST_TEST(!d.guest_pid(g.name).has_value());
  BOOST_TEST(!fs::exists(d.dir / "state" / g.name));
  BOOST_TEST(!fs::exists(vnumad_cgroup / g.name));
  BOOST_TEST(d.dominfo(g.name).at("cells").as_array().empty());
}
