#define BOOST_TEST_MODULE guest_job_live
#include <boost/test/unit_test.hpp>

// One operation at a time per guest, against the real daemon: a config edit
// and a setvcpus from the socket that arrive together run one after the
// other, never interleaved; a live operation whose record cannot be saved
// fails and says so.
#include "integration/daemon_support.hpp"

#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <future>

using namespace vnumad;
using namespace vnumad::testing;

BOOST_AUTO_TEST_CASE(a_config_edit_and_a_setvcpus_at_once_are_serialised) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("jobs"), .current = 4};
  const pid_t qemu = d.run_guest(g);
  d.wait_guest_ready(g.name);

  // The socket's setvcpus and the edit's (its <vcpu current='8'>) both want
  // vCPUs 1, 3, 5, 7. Interleaved, the second would device_add what the first
  // is adding; serialised, the second finds them plugged and adds nothing.
  auto from_socket = std::async(std::launch::async, [&] {
    return d.call("setvcpus", {{"name", g.name}, {"count", 8}}, 120s);
  });
  std::this_thread::sleep_for(20ms);
  g.current = 8;
  d.define(g);
  auto up = from_socket.get();
  BOOST_TEST_REQUIRE(up.has_value(), (up ? "" : up.error().message) << d.daemon_log());
  BOOST_TEST(d.wait_log("applied live: <vcpu current='8'>", 60s), d.daemon_log());
  BOOST_TEST(d.daemon_log().find("could not apply live") == std::string::npos, d.daemon_log());
  auto info = d.call("vcpuinfo", {{"name", g.name}});
  BOOST_TEST_REQUIRE(info.has_value());
  std::size_t online = 0;
  for (const auto& v : info->at("vcpus").as_array()) online += v.at("online").as_bool() ? 1 : 0;
  BOOST_TEST(online == 8u);
  BOOST_TEST(d.running_domain(g.name).vcpu.current.value_or(0) == 8u);
  BOOST_TEST(d.guest_pid(g.name).value_or(0) == qemu);
}

BOOST_AUTO_TEST_CASE(a_live_operation_whose_record_cannot_be_saved_fails_and_says_so) {
  daemon_fixture d;
  guest_spec g{.name = unique_name("norecord"), .vcpus = 2, .cells = 2, .memory_mib = "256"};
  d.run_guest(g);
  // record.json swapped (atomically, so that the daemon's state watcher
  // never sees it missing) with a directory that is not empty: the rename
  // of a new record over it fails (EISDIR).
  const fs::path record = d.dir / "state" / g.name / "record.json";
  const fs::path blocker = d.dir / "record-blocker";
  BOOST_TEST_REQUIRE(fs::is_regular_file(record));
  fs::create_directories(blocker / "inside");
  BOOST_TEST_REQUIRE(::renameat2(AT_FDCWD, blocker.c_str(), AT_FDCWD, record.c_str(), RENAME_EXCHANGE) == 0,
                     std::strerror(errno));

  auto pinned = d.call("vcpupin", {{"name", g.name}, {"vcpu", 0}, {"cpuset", "0"}});
  BOOST_TEST_REQUIRE(!pinned.has_value(), "vcpupin succeeded without a record");
  BOOST_TEST(pinned.error().message.find("vcpupin applied but its record could not be saved") != std::string::npos,
             pinned.error().message);
  BOOST_TEST(pinned.error().message.find(g.name) != std::string::npos, pinned.error().message);

  // Once the record can be written again, the next operation saves it.
  fs::remove_all(record);
  auto again = d.call("vcpupin", {{"name", g.name}, {"vcpu", 0}, {"cpuset", "0"}});
  BOOST_TEST(again.has_value(), (again ? "" : again.error().message));
  BOOST_TEST(fs::is_regular_file(record));
  BOOST_TEST(d.state(g.name) == "running");
}
