// Fault injection against the real daemon: QEMU dying or going silent at
// each start step, the daemon dying mid-start, QMP closed mid-command, the
// config dir vanishing, the state dir read-only. QEMU is the real binary
// behind tests/integration/fake_qemu.cpp, which relays QMP and fires one
// planned fault; its "reached" marker proves the fault hit the step named.
#define BOOST_TEST_MODULE fault_injection
#include <boost/test/unit_test.hpp>

#include "daemon_support.hpp"
#include "fake_qemu_plans.hpp"

#include <sys/mount.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// A daemon whose QEMU is the fault-injecting relay (fake_qemu_plans.hpp).
// The plans are made before the daemon starts, so that it inherits them.
struct fault_fixture : fake_qemu_plans, daemon_fixture {
  explicit fault_fixture(std::string conf_extra = "")
      // The relay reads its plans from a root-only temp dir: it runs as root
      // (the faults are QMP's, not privileges').
      : daemon_fixture("qemu_binary = " + fake_qemu_binary.string() + "\nrunas = root\n" + conf_extra) {}

  // The log lines about one guest.
  std::string guest_log(const std::string& guest) {
    std::istringstream in(daemon_log());
    std::string line, out;
    while (std::getline(in, line))
      if (line.find("'" + guest + "'") != std::string::npos) out += line + "\n";
    return out;
  }
  // Waits until the log says that the guest's start failed.
  bool start_failed(const std::string& guest, std::chrono::milliseconds timeout) {
    return wait_until([&] { return guest_log(guest).find("start failed") != std::string::npos; }, timeout);
  }
};

// Nothing of the guest's run is left: no QEMU, state dir, cgroup or ledger cells.
void check_nothing_left(fault_fixture& d, const std::string& name) {
  BOOST_TEST(!d.guest_pid(name).has_value(), name);
  BOOST_TEST(!fs::exists(d.dir / "state" / name), name);
  // The cgroups go as soon as the dead QEMU's threads have left them.
  BOOST_TEST(wait_until([&] { return !fs::exists(vnumad_cgroup / name); }, 10s), name);
  auto info = d.dominfo(name);
  BOOST_TEST_REQUIRE(info.contains("cells"), name);
  BOOST_TEST(info.at("cells").as_array().empty(), name);
}

// No process whose command line names this guest (fake or real QEMU).
bool no_qemu_for(const std::string& name) { return guest_qemus(name).empty(); }

// Every vCPU thread and the emulator are in the guest's cgroups.
void check_pinned(fault_fixture& d, const std::string& name, unsigned vcpus_online) {
  auto info = d.call("vcpuinfo", {{"name", name}});
  BOOST_TEST_REQUIRE(info.has_value());
  unsigned with_thread = 0;
  for (const auto& v : info->at("vcpus").as_array()) {
    if (!v.as_object().contains("thread_id")) continue;
    ++with_thread;
    auto vcpu = v.at("vcpu").to_number<unsigned>();
    const auto tasks = cgroup_task_ids(vnumad_cgroup / name / ("vcpu" + std::to_string(vcpu)));
    BOOST_TEST(tasks.contains(std::to_string(v.at("thread_id").to_number<std::int64_t>())),
               "vCPU " << vcpu << " thread not in its cgroup");
  }
  BOOST_TEST(with_thread == vcpus_online);
}

guest_spec small_guest(const std::string& name) {
  // Two boot vCPUs of four: the other online one is plugged with device_add.
  return guest_spec{.name = name, .vcpus = 4, .cells = 2, .current = 2u, .memory_mib = "256"};
}

}  // namespace

BOOST_AUTO_TEST_CASE(qemu_killed_at_each_start_step_leaves_nothing_and_others_keep_running) {
  fault_fixture d;
  guest_spec bystander = small_guest(unique_name("bystander"));
  const pid_t bystander_pid = d.run_guest(bystander);

  struct step {
    std::string tag, fault, expected;  // expected: words of the start error
  };
  const std::vector<step> steps = {
      {"spawn", "exit-at-spawn", "planned failure at spawn"},
      {"negotiate", "kill-at qmp_capabilities", "killed by signal 9"},
      {"plug", "kill-at device_add", "killed by signal 9"},
      {"pin", "kill-after query-cpus-fast", "killed by signal 9"},
      {"cont", "kill-at cont", "killed by signal 9"},
  };
  for (const auto& s : steps) {
    BOOST_TEST_CONTEXT("fault " << s.fault) {
      guest_spec g = small_guest(unique_name("die-" + s.tag));
      d.plan(g.name, s.fault);
      d.define(g);
      BOOST_TEST_REQUIRE(d.start_failed(g.name, 60s), d.daemon_log());
      BOOST_TEST(d.reached(g.name), "the fault was never reached");
      std::string log = d.guest_log(g.name);
      BOOST_TEST(log.find("QEMU exited during start-up") != std::string::npos, log);
      BOOST_TEST(log.find(s.expected) != std::string::npos, log);
      // <on_crash>destroy</on_crash>: reported, not retried.
      BOOST_TEST(d.state(g.name) == "shut off");
      check_nothing_left(d, g.name);
      BOOST_TEST(wait_until([&] { return no_qemu_for(g.name); }, 10s));
      // The file is removed: the guest is gone without a trace.
      fs::remove(d.domain_file(g.name));
    }
  }
  BOOST_TEST(d.state(bystander.name) == "running");
  BOOST_TEST(d.guest_pid(bystander.name).value_or(0) == bystander_pid);
  check_pinned(d, bystander.name, 2);
}

BOOST_AUTO_TEST_CASE(start_killed_midway_is_retried_under_on_crash_restart) {
  fault_fixture d;
  guest_spec g = small_guest(unique_name("retry"));
  g.on_crash = "restart";
  d.plan(g.name, "kill-at cont");
  d.define(g);
  // Two failed attempts (the second after the backoff), then the fault is lifted.
  BOOST_TEST_REQUIRE(wait_until([&] { return d.guest_log(g.name).find("restarting in 1 s") != std::string::npos; }, 60s),
                     d.daemon_log());
  d.clear_plan(g.name);
  BOOST_TEST_REQUIRE(d.wait_state(g.name, "running", 60s), d.daemon_log());
  std::string log = d.guest_log(g.name);
  BOOST_TEST(log.find("retrying the start") != std::string::npos, log);
  check_pinned(d, g.name, 2);
}

BOOST_AUTO_TEST_CASE(daemon_killed_mid_start_and_restarted_ends_with_the_guest_running) {
  // The restarted daemon finishes the start on the same QEMU (it is paused at
  // -S and never ran the guest): a daemon restarted during a long start-up
  // must not kill and start its guests again, or restarts would loop. A QEMU
  // that then cannot be driven (its QMP stays silent) is killed after
  // qmp_timeout and the guest started afresh, once.
  struct row {
    std::string fault;
    bool adopted;
  };
  for (const row r : {row{"hang-at cont", true}, row{"no-greeting", false}}) {
    BOOST_TEST_CONTEXT("daemon killed at " << r.fault) {
      fault_fixture d("qmp_timeout = 5\n");
      guest_spec g = small_guest(unique_name("halfway"));
      d.plan(g.name, r.fault);
      d.define(g);
      BOOST_TEST_REQUIRE(wait_until([&] { return d.reached(g.name); }, 60s), d.daemon_log());
      const pid_t half_started = d.read_pid(g.name).value();
      d.stop(SIGKILL);
      BOOST_TEST(pid_alive(half_started));  // QEMU outlives the daemon (own session)
      d.clear_plan(g.name);
      d.start();
      BOOST_TEST_REQUIRE(d.wait_state(g.name, "running", 90s), d.daemon_log());
      BOOST_TEST(d.daemon_log().find("resuming the start of QEMU pid " + std::to_string(half_started)) !=
                     std::string::npos,
                 d.daemon_log());
      if (r.adopted) {
        BOOST_TEST(d.guest_pid(g.name).value_or(0) == half_started);
        BOOST_TEST(pid_alive(half_started));
        BOOST_TEST(d.daemon_log().find("afresh") == std::string::npos, d.daemon_log());
      } else {
        BOOST_TEST(wait_until([&] { return !pid_alive(half_started); }, 10s));
        BOOST_TEST(d.guest_pid(g.name).value_or(half_started) != half_started);
        BOOST_TEST(d.daemon_log().find("starting it afresh") != std::string::npos, d.daemon_log());
      }
      check_pinned(d, g.name, 2);
    }
  }
}

BOOST_AUTO_TEST_CASE(qemu_that_never_greets_times_out_and_leaves_nothing) {
  fault_fixture d("qmp_timeout = 3\n");
  guest_spec g = small_guest(unique_name("silent"));
  d.plan(g.name, "no-greeting");
  auto begin = std::chrono::steady_clock::now();
  d.define(g);
  BOOST_TEST_REQUIRE(d.start_failed(g.name, 30s), d.daemon_log());
  auto took = std::chrono::steady_clock::now() - begin;
  BOOST_TEST(took < 15s);
  std::string log = d.guest_log(g.name);
  BOOST_TEST(log.find("greeting") != std::string::npos, log);
  BOOST_TEST(d.state(g.name) == "shut off");
  check_nothing_left(d, g.name);
  BOOST_TEST(wait_until([&] { return no_qemu_for(g.name); }, 10s));
}

BOOST_AUTO_TEST_CASE(qmp_closed_mid_command_is_an_error_and_destroy_still_cleans_up) {
  fault_fixture d;
  // During start: the start fails cleanly.
  guest_spec starting = small_guest(unique_name("closed-start"));
  d.plan(starting.name, "close-at query-cpus-fast");
  d.define(starting);
  BOOST_TEST_REQUIRE(d.start_failed(starting.name, 60s), d.daemon_log());
  BOOST_TEST(d.guest_log(starting.name).find("closed") != std::string::npos, d.guest_log(starting.name));
  check_nothing_left(d, starting.name);
  BOOST_TEST(wait_until([&] { return no_qemu_for(starting.name); }, 10s));

  // While running: the verb fails with the reason, the daemon serves on, and
  // destroy still ends QEMU and releases everything.
  guest_spec running = small_guest(unique_name("closed-run"));
  d.run_guest(running);
  d.plan(running.name, "close-at stop");
  auto suspended = d.call("suspend", {{"name", running.name}}, 30s);
  BOOST_TEST_REQUIRE(!suspended.has_value());
  BOOST_TEST(suspended.error().message.find("closed") != std::string::npos, suspended.error().message);
  BOOST_TEST(d.reached(running.name));
  BOOST_TEST_REQUIRE(d.call("list").has_value(), d.daemon_log());
  BOOST_TEST(d.call("destroy", {{"name", running.name}}, 30s).has_value());
  BOOST_TEST(wait_until([&] { return d.state(running.name) == "shut off"; }, 20s));
  check_nothing_left(d, running.name);
  BOOST_TEST(wait_until([&] { return no_qemu_for(running.name); }, 10s));
}

BOOST_AUTO_TEST_CASE(qemu_killed_during_setvcpus_releases_everything) {
  fault_fixture d;
  guest_spec g = small_guest(unique_name("hotplug-death"));
  d.run_guest(g);
  d.plan(g.name, "kill-at device_add");
  auto grown = d.call("setvcpus", {{"name", g.name}, {"count", 4}}, 60s);
  BOOST_TEST(!grown.has_value());
  BOOST_TEST(d.reached(g.name));
  BOOST_TEST(wait_until([&] { return d.state(g.name) == "crashed"; }, 20s), d.state(g.name));
  check_nothing_left(d, g.name);
  BOOST_TEST(d.call("list").has_value());
}

BOOST_AUTO_TEST_CASE(config_dir_removed_keeps_guests_until_it_returns_without_their_files) {
  fault_fixture d;
  guest_spec first = small_guest(unique_name("before"));
  const pid_t first_pid = d.run_guest(first);

  fs::remove_all(d.dir / "domains.d");
  BOOST_TEST_REQUIRE(d.wait_log("is gone; waiting for it to return", 10s), d.daemon_log());
  // A vanished dir is a failed read, not a removal: the guest runs on, also
  // through a SIGHUP rescan of the missing dir.
  std::this_thread::sleep_for(2s);
  ::kill(d.pid, SIGHUP);
  BOOST_TEST_REQUIRE(d.wait_log("no guest changed", 10s), d.daemon_log());
  BOOST_TEST(pid_alive(first_pid));
  BOOST_TEST(fs::exists("/proc/" + std::to_string(first_pid)));
  BOOST_TEST(d.state(first.name) == "running");
  BOOST_TEST(d.guest_log(first.name).find("removed") == std::string::npos, d.guest_log(first.name));

  // Back, without its file: now it is seen gone, and shut down.
  fs::create_directories(d.dir / "domains.d");
  guest_spec second = small_guest(unique_name("after"));
  d.define(second);
  BOOST_TEST(wait_until([&] { return d.state(first.name).empty(); }, 60s), d.state(first.name));
  BOOST_TEST(wait_until([&] { return !pid_alive(first_pid); }, 30s), "QEMU of the removed guest still runs");
  BOOST_TEST(wait_until([&] { return !fs::exists(vnumad_cgroup / first.name); }, 10s));
  BOOST_TEST(!fs::exists(d.dir / "state" / first.name));
  BOOST_TEST_REQUIRE(d.wait_state(second.name, "running"), d.daemon_log());
  BOOST_TEST(d.daemon_log().find("watching config dir") != std::string::npos);
  check_pinned(d, second.name, 2);
}

BOOST_AUTO_TEST_CASE(read_only_state_dir_refuses_new_guests_and_keeps_the_others) {
  fault_fixture d;
  guest_spec steady = small_guest(unique_name("steady"));
  const pid_t steady_pid = d.run_guest(steady);

  // Root ignores permission bits, so "unwritable" is a read-only bind mount.
  const fs::path state = d.dir / "state";
  BOOST_TEST_REQUIRE(::mount(state.c_str(), state.c_str(), nullptr, MS_BIND, nullptr) == 0, std::strerror(errno));
  struct unmount_at_exit {
    fs::path path;
    ~unmount_at_exit() { ::umount2(path.c_str(), MNT_DETACH); }
  } guard{state};
  BOOST_TEST_REQUIRE(::mount(nullptr, state.c_str(), nullptr, MS_BIND | MS_REMOUNT | MS_RDONLY, nullptr) == 0,
                     std::strerror(errno));

  guest_spec refused = small_guest(unique_name("refused"));
  d.define(refused);
  BOOST_TEST_REQUIRE(d.start_failed(refused.name, 30s), d.daemon_log());
  std::string log = d.guest_log(refused.name);
  BOOST_TEST(log.find(state.string()) != std::string::npos, log);
  BOOST_TEST(log.find("Read-only file system") != std::string::npos, log);
  BOOST_TEST(d.state(refused.name) == "shut off");
  BOOST_TEST(!d.guest_pid(refused.name).has_value());
  BOOST_TEST(!fs::exists(vnumad_cgroup / refused.name));
  BOOST_TEST(no_qemu_for(refused.name));
  BOOST_TEST(d.state(steady.name) == "running");
  BOOST_TEST(d.guest_pid(steady.name).value_or(0) == steady_pid);

  // Writable again: the same guest starts on request.
  BOOST_TEST_REQUIRE(::umount2(state.c_str(), 0) == 0, std::strerror(errno));
  guard.path.clear();
  auto started = d.call("start", {{"name", refused.name}}, 90s);
  BOOST_TEST_REQUIRE(started.has_value(), started.error().message);
  BOOST_TEST(d.state(refused.name) == "running");
  check_pinned(d, refused.name, 2);
}

BOOST_AUTO_TEST_CASE(qemu_left_without_a_record_is_killed_and_the_guest_started_once) {
  fault_fixture d;
  guest_spec g = small_guest(unique_name("orphan"));
  // What a daemon killed between spawning QEMU and saving its record leaves:
  // a state dir without a record, and a paused QEMU on that dir's QMP socket.
  d.stop(SIGKILL);
  const fs::path guest_dir = d.dir / "state" / g.name;
  fs::create_directories(guest_dir);
  std::vector<std::string> args = {"/usr/bin/qemu-system-x86_64", "-S", "-display", "none", "-nodefaults",
                                   "-name", "guest=" + g.name + ",debug-threads=on", "-chardev",
                                   "socket,id=charmonitor,path=" + (guest_dir / "qmp.sock").string() + ",server=on,wait=off",
                                   "-mon", "chardev=charmonitor,id=monitor,mode=control"};
  const pid_t orphan = spawn_program(args, [] { ::setsid(); });
  BOOST_TEST_REQUIRE(wait_until([&] { return fs::exists(guest_dir / "qmp.sock"); }, 20s));
  d.define(g);
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(g.name, "running", 90s), d.daemon_log());
  int status = 0;
  BOOST_TEST(wait_until([&] { return ::waitpid(orphan, &status, WNOHANG) == orphan; }, 10s), "the orphan QEMU still runs");
  BOOST_TEST(d.guest_pid(g.name).value_or(orphan) != orphan);
  BOOST_TEST(d.daemon_log().find("left half-started without a record") != std::string::npos, d.daemon_log());
  check_pinned(d, g.name, 2);
}
