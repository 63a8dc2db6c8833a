#define BOOST_TEST_MODULE live_ops_live
#include <boost/test/unit_test.hpp>

// Live operations on real guests (QEMU 10 under TCG). TCG aborts QEMU on any
// device_add after a vCPU unplug (architecture.md), so every guest's life
// here is ordered: boot with a balanced current set, plug up, attach memory,
// then unplug last.
#include "integration/daemon_support.hpp"

#include <future>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// Per-node online CPU counts in the guest's latest tick (or boot view).
std::vector<std::size_t> node_counts(const qemu::guest_view& v) {
  std::vector<std::size_t> out;
  if (!v.ticks.empty())
    for (const auto& [node, cpus] : v.ticks.back().node_cpus) out.push_back(cpus.size());
  else
    for (const auto& [id, node] : v.nodes) out.push_back(node.cpus.size());
  return out;
}

// Waits until the guest's own per-node CPU counts are `wanted`.
bool wait_counts(daemon_fixture& d, const std::string& name, std::vector<std::size_t> wanted,
                 qemu::guest_view* last = nullptr) {
  return wait_until(
      [&] {
        auto v = qemu::parse_guest_view(read_text(d.serial(name)));
        if (!v) return false;
        if (last) *last = *v;
        return node_counts(*v) == wanted;
      },
      90s);
}

std::string online_of(daemon_fixture& d, const std::string& name) {
  auto info = d.call("vcpuinfo", {{"name", name}});
  if (!info) return "";
  config::id_set online;
  for (const auto& v : info->at("vcpus").as_array())
    if (v.at("online").as_bool()) online.insert(static_cast<unsigned>(v.at("vcpu").to_number<int>()));
  return config::format_id_set(online);
}

}  // namespace

BOOST_AUTO_TEST_CASE(balanced_hotplug_memory_and_live_edit_without_restarting_qemu) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("hot"), .current = 4, .max_memory_mib = "2048"};
  pid_t qemu = d.run_guest(g);
  d.wait_guest_ready(g.name);

  // Boots with one vCPU per cell: 0, 2, 4, 6.
  BOOST_TEST_REQUIRE(wait_counts(d, g.name, {1, 1, 1, 1}), read_text(d.serial(g.name)));
  BOOST_TEST(online_of(d, g.name) == "0,2,4,6");

  // setvcpus 8: 2,2,2,2, and every vCPU thread pinned to its <vcpupin>.
  auto up = d.call("setvcpus", {{"name", g.name}, {"count", 8}});
  BOOST_TEST_REQUIRE(up.has_value(), (up ? "" : up.error().message));
  BOOST_TEST(up->at("online").as_string() == "0-7");
  BOOST_TEST_REQUIRE(wait_counts(d, g.name, {2, 2, 2, 2}), read_text(d.serial(g.name)));
  BOOST_TEST(online_of(d, g.name) == "0-7");
  check_vcpu_pins(d, g.name, 8);

  // attach-memory --cell 2 --size 256MiB: the guest's node 2 grows by ~256 MiB.
  qemu::guest_view before;
  BOOST_TEST_REQUIRE(wait_counts(d, g.name, {2, 2, 2, 2}, &before));
  std::uint64_t node2_before = before.ticks.back().node_memtotal_kb.at(2);
  auto attached = d.call("attach-memory", {{"name", g.name}, {"cell", 2}, {"size", "256MiB"}});
  BOOST_TEST_REQUIRE(attached.has_value(), (attached ? "" : attached.error().message));
  BOOST_TEST(attached->at("host_node").to_number<int>() == 0);
  bool grew = wait_until(
      [&] {
        auto v = qemu::parse_guest_view(read_text(d.serial(g.name)));
        if (!v || v->ticks.empty()) return false;
        auto now = v->ticks.back().node_memtotal_kb.at(2);
        return now > node2_before + 240 * 1024 && now <= node2_before + 256 * 1024;
      },
      60s);
  BOOST_TEST(grew, read_text(d.serial(g.name)));
  // The ledger holds it: dominfo's memory grew by 256 MiB.
  BOOST_TEST(d.dominfo(g.name).at("memory_bytes").to_number<std::uint64_t>() == (1024u + 256u) * 1024 * 1024);

  // A bad request changes nothing.
  auto bad_cell = d.call("attach-memory", {{"name", g.name}, {"cell", 9}, {"size", "256MiB"}});
  BOOST_TEST(!bad_cell.has_value());

  // Editing the file to <vcpu current='6'> unplugs 7 and 5: 2,2,1,1.
  g.current = 6;
  d.define(g);
  BOOST_TEST_REQUIRE(wait_counts(d, g.name, {2, 2, 1, 1}), read_text(d.serial(g.name)) << d.daemon_log());
  BOOST_TEST(wait_until([&] { return online_of(d, g.name) == "0-4,6"; }, 20s), online_of(d, g.name));
  BOOST_TEST(d.guest_pid(g.name).value_or(0) == qemu);  // never restarted
  BOOST_TEST(d.dominfo(g.name).at("pending_changes").as_array().empty());
  BOOST_TEST(d.daemon_log().find("applied live: <vcpu current='6'>") != std::string::npos, d.daemon_log());
}

BOOST_AUTO_TEST_CASE(detach_memory_then_a_refused_unplug_is_reported_and_the_guest_lives) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("refuse"), .vcpus = 4, .cells = 2, .max_memory_mib = "2048"};
  pid_t qemu = d.run_guest(g);
  d.wait_guest_ready(g.name);

  auto attached = d.call("attach-memory", {{"name", g.name}, {"cell", 1}, {"size", "128MiB"}});
  BOOST_TEST_REQUIRE(attached.has_value(), (attached ? "" : attached.error().message));
  std::string dimm(attached->at("dimm").as_string());
  BOOST_TEST(d.running_domain(g.name).devices.memory_devices.size() == 1u);
  auto detached = d.call("detach-memory", {{"name", g.name}, {"dimm", dimm}, {"timeout_ms", 30000}});
  BOOST_TEST_REQUIRE(detached.has_value(), (detached ? "" : detached.error().message));
  BOOST_TEST(d.running_domain(g.name).devices.memory_devices.empty());
  BOOST_TEST(d.dominfo(g.name).at("memory_bytes").to_number<std::uint64_t>() == 1024u * 1024 * 1024);
  // Unknown dimm: clear error.
  auto unknown = d.call("detach-memory", {{"name", g.name}, {"dimm", "dimm42"}});
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().message.find("dimm42") != std::string::npos);

  // A guest that never acknowledges: its vCPUs are paused, so the ACPI eject
  // is never handled. setvcpus times out and says which vCPU was refused.
  BOOST_TEST_REQUIRE(d.call("suspend", {{"name", g.name}}).has_value());
  auto down = d.call("setvcpus", {{"name", g.name}, {"count", 3}, {"timeout_ms", 2000}});
  BOOST_TEST_REQUIRE(!down.has_value());
  BOOST_TEST(down.error().code == errc::unplug_refused);
  BOOST_TEST(down.error().message.find("refused to unplug vCPU(s) 3") != std::string::npos, down.error().message);
  BOOST_TEST_REQUIRE(d.call("resume", {{"name", g.name}}).has_value());
  BOOST_TEST(d.state(g.name) == "running");
  BOOST_TEST(d.guest_pid(g.name).value_or(0) == qemu);
  BOOST_TEST(pid_alive(qemu));
}

BOOST_AUTO_TEST_CASE(control_socket_serves_many_clients_and_refuses_bad_requests) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("ctl"), .vcpus = 2, .cells = 2, .memory_mib = "256"};
  d.run_guest(g);
  std::vector<std::future<bool>> clients;
  for (int i = 0; i < 100; ++i)
    clients.push_back(std::async(std::launch::async, [&] {
      auto info = d.call("dominfo", {{"name", g.name}}, 30s);
      return info && info->at("name").as_string() == g.name && info->at("state").as_string() == "running";
    }));
  int good = 0;
  for (auto& c : clients) good += c.get() ? 1 : 0;
  BOOST_TEST(good == 100);
  auto unknown = d.call("frobnicate", {{"name", g.name}});
  BOOST_TEST(!unknown.has_value());
  auto no_guest = d.call("dominfo", {{"name", "nope"}});
  BOOST_TEST_REQUIRE(!no_guest.has_value());
  BOOST_TEST(no_guest.error().code == errc::not_found);
  auto bad_count = d.call("setvcpus", {{"name", g.name}, {"count", "many"}});
  BOOST_TEST_REQUIRE(!bad_count.has_value());
  BOOST_TEST(bad_count.error().message.find("args.count") != std::string::npos);
  BOOST_TEST(d.state(g.name) == "running");
}
