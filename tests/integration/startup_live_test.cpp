// Start-up that scales (issue 11): vnumad is ready (READY=1) once it has
// re-attached and queued the config dir's guests, before a slow guest has
// finished starting; new guests start start_concurrency at a time; STATUS=
// follows the running/starting/queued/failed counts; a daemon restarted
// (SIGTERM, as `systemctl restart`) while guests are still starting finishes
// their starts on the same QEMUs instead of killing them. A real NOTIFY_SOCKET
// datagram socket receives what vnumad tells systemd. QEMU is the real binary
// behind tests/integration/fake_qemu.cpp, which delays its QMP greeting (as a
// QEMU faulting in a large locked RAM does).
#define BOOST_TEST_MODULE startup
#include <boost/test/unit_test.hpp>

#include "daemon_support.hpp"
#include "fake_qemu_plans.hpp"
#include "support/notify_socket.hpp"

#include <cstdlib>
#include <set>
#include <thread>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// Firmware only, one vCPU floating on the host CPUs, no locked memory: cheap.
std::string small_domain(const std::string& name) {
  return firmware_domain_xml({.name = name, .vcpu_cpuset = "0-1", .features = ""});
}

// Processes running the fake QEMU for one of `names` (the relays; each has
// the real QEMU as its child).
std::set<std::string> qemus_for(const std::vector<std::string>& names) {
  std::set<std::string> found;
  for (const auto& n : names)
    if (!guest_qemus(n, fake_qemu_binary).empty()) found.insert(n);
  return found;
}

// A daemon whose QEMU is the fake, with NOTIFY_SOCKET set for it, and
// guests written into the config dir before it (re)starts.
struct startup_fixture {
  fake_qemu_plans plans;
  std::unique_ptr<notify_socket> notify;
  std::unique_ptr<daemon_fixture> d;

  explicit startup_fixture(const std::string& conf) {
    notify = std::make_unique<notify_socket>(plans.plan_dir / "notify.sock");
    ::setenv("NOTIFY_SOCKET", notify->path().c_str(), 1);
    d = std::make_unique<daemon_fixture>("qemu_binary = " + fake_qemu_binary.string() + "\n" + conf);
  }
  ~startup_fixture() {
    // Closed first: unread, a full datagram queue would block vnumad's sd_notify.
    notify.reset();
    d.reset();
    ::unsetenv("NOTIFY_SOCKET");
  }
  void define(const std::string& name, const std::string& plan) {
    if (!plan.empty()) plans.plan(name, plan);
    write_text(d->domain_file(name), small_domain(name));
  }
  // Every notify message until one has READY=1; nullopt on timeout.
  std::optional<std::string> wait_ready(std::chrono::milliseconds timeout, std::vector<std::string>& statuses) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = notify->receive(200ms);
      if (!m) continue;
      if (auto s = notify_socket::field(*m, "STATUS")) statuses.push_back(*s);
      if (m->find("READY=1") != std::string::npos) return m;
    }
    return std::nullopt;
  }
  // STATUS= values until `done` holds for one; false on timeout.
  bool follow_status(const std::function<bool(const start_counts&)>& done, std::chrono::milliseconds timeout,
                     std::vector<std::string>& statuses) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (std::chrono::steady_clock::now() < deadline) {
      auto m = notify->receive(200ms);
      if (!m) continue;
      auto s = notify_socket::field(*m, "STATUS");
      if (!s) continue;
      statuses.push_back(*s);
      if (auto c = parse_status(*s); c && done(*c)) return true;
    }
    return false;
  }
};

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += "  " + l + "\n";
  return s;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ready_before_slow_guests_start_with_the_limit_and_counts_in_status) {
  startup_fixture f("start_concurrency = 2\n");
  f.d->stop(SIGTERM);  // the guests go in first, as at boot
  std::vector<std::string> slow;
  for (const char* n : {"slow-a", "slow-b", "slow-c", "slow-d"}) {
    slow.push_back(unique_name(n));
    f.define(slow.back(), "delay-greeting 4");
  }
  const std::string broken = unique_name("broken");
  f.define(broken, "exit-at-spawn");
  while (f.notify->receive(0ms)) {
  }

  const auto t0 = std::chrono::steady_clock::now();
  f.d->start();
  std::vector<std::string> statuses;
  auto ready = f.wait_ready(30s, statuses);
  BOOST_TEST_REQUIRE(ready.has_value(), "no READY=1; log:\n" << f.d->daemon_log());
  const auto ready_after = std::chrono::steady_clock::now() - t0;
  // Each slow guest greets 4 s after its spawn: ready came before any of them ran.
  BOOST_TEST(ready_after < 4s, "READY=1 after " << std::chrono::duration<double>(ready_after).count() << " s");
  auto at_ready = parse_status(notify_socket::field(*ready, "STATUS").value_or(""));
  BOOST_TEST_REQUIRE(at_ready.has_value(), "READY message: " << *ready);
  BOOST_TEST(at_ready->running == 0u, *ready);
  BOOST_TEST(at_ready->starting + at_ready->queued + at_ready->failed == 5u, *ready);
  BOOST_TEST(at_ready->starting <= 2u, *ready);
  // From /proc: no more than two of the slow guests have a QEMU yet.
  BOOST_TEST(qemus_for(slow).size() <= 2u);
  {
    // Not one start began before READY=1: in this run's log (after its
    // "host:" line) "ready:" comes before the first QEMU spawn. A start run
    // inline from the config-dir scan would fork QEMU first.
    // The line is logged just after READY=1 is sent, in the same stretch
    // of the daemon's loop, so wait for it.
    std::string log;
    std::size_t run_begins = std::string::npos, ready_line = std::string::npos;
    for (auto until = std::chrono::steady_clock::now() + 5s; std::chrono::steady_clock::now() < until;) {
      log = f.d->daemon_log();
      run_begins = log.rfind("INFO: host:");
      if (run_begins != std::string::npos && (ready_line = log.find("INFO: ready:", run_begins)) != std::string::npos)
        break;
      std::this_thread::sleep_for(20ms);
    }
    BOOST_TEST_REQUIRE(ready_line != std::string::npos, log);
    const auto first_spawn = log.find("QEMU started", run_begins);
    BOOST_TEST((first_spawn == std::string::npos || ready_line < first_spawn), log.substr(run_begins));
  }

  bool all_up = f.follow_status([](const start_counts& c) { return c.running == 4 && c.starting == 0 && c.queued == 0; },
                                60s, statuses);
  BOOST_TEST_REQUIRE(all_up, "STATUS= lines:\n" << joined(statuses) << "log:\n" << f.d->daemon_log());
  BOOST_TEST(qemus_for(slow).size() == 4u);
  for (const auto& n : slow) BOOST_TEST(f.d->state(n) == "running", n);
  BOOST_TEST(f.d->state(broken) == "shut off");

  // Every STATUS= parses, never shows more than two starting, and the counts
  // went through the queue: some line had guests queued while others started.
  bool saw_queued_while_starting = false;
  for (const auto& s : statuses) {
    auto c = parse_status(s);
    BOOST_TEST_REQUIRE(c.has_value(), "unparsable STATUS=" << s);
    BOOST_TEST(c->starting <= 2u, "STATUS=" << s << " breaks start_concurrency = 2");
    BOOST_TEST(c->running + c->starting + c->queued + c->failed <= 5u, "STATUS=" << s);
    if (c->queued > 0 && c->starting == 2) saw_queued_while_starting = true;
  }
  BOOST_TEST(saw_queued_while_starting, "STATUS= lines:\n" << joined(statuses));
  auto last = parse_status(statuses.back());
  BOOST_TEST((*last == start_counts{4, 0, 0, 1}), "last STATUS=" << statuses.back());
}

BOOST_AUTO_TEST_CASE(restart_while_guests_start_finishes_their_starts_on_the_same_qemu) {
  startup_fixture f("start_concurrency = 2\n");
  f.d->stop(SIGTERM);
  std::vector<std::string> names;
  for (const char* n : {"cut-a", "cut-b", "cut-c"}) {
    names.push_back(unique_name(n));
    f.define(names.back(), "delay-greeting 5");
  }
  f.d->start();
  std::vector<std::string> statuses;
  BOOST_TEST_REQUIRE(f.wait_ready(30s, statuses).has_value(), f.d->daemon_log());
  // Two QEMUs spawned and waiting for their greeting; the third queued.
  BOOST_TEST_REQUIRE(wait_until([&] { return qemus_for(names).size() == 2; }, 10s));
  std::map<std::string, pid_t> spawned;
  for (const auto& n : names)
    if (auto pid = f.d->read_pid(n)) spawned[n] = *pid;
  BOOST_TEST_REQUIRE(spawned.size() == 2u);

  // systemctl restart vnumad: SIGTERM to the daemon only (KillMode=process).
  f.d->stop(SIGTERM);
  for (const auto& [n, pid] : spawned) BOOST_TEST(pid_alive(pid), n << ": QEMU died with the daemon");
  f.d->start();
  BOOST_TEST_REQUIRE(f.follow_status([](const start_counts& c) { return c.running == 3; }, 60s, statuses),
                     "STATUS= lines:\n" << joined(statuses) << "log:\n" << f.d->daemon_log());
  for (const auto& [n, pid] : spawned) {
    BOOST_TEST(f.d->guest_pid(n).value_or(0) == pid, n << ": not the QEMU the first daemon spawned");
    BOOST_TEST(f.d->daemon_log().find("resuming the start of QEMU pid " + std::to_string(pid)) != std::string::npos);
  }
  for (const auto& n : names) BOOST_TEST(f.d->state(n) == "running", n);
  BOOST_TEST(f.d->daemon_log().find("afresh") == std::string::npos, f.d->daemon_log());
  BOOST_TEST(f.d->daemon_log().find("half-started") == std::string::npos, f.d->daemon_log());
}
