// One daemon, one owner, against the real daemon and the real test guest:
// a second daemon on the same state dir or the same cgroup root is refused
// and the first one's guest keeps its cgroups; the state dir and control
// socket deleted while a guest runs come back, and a restarted daemon
// re-attaches without a second QEMU; a QEMU whose record is gone is never
// duplicated; a SIGSTOPped QEMU is reported "not responding", never as a
// refusal, and nothing it was asked for takes effect after SIGCONT.
// QEMU processes are counted from /proc, cgroup membership read from cgroupfs.
#define BOOST_TEST_MODULE one_owner
#include <boost/test/unit_test.hpp>

#include "daemon_support.hpp"

#include <map>
#include <set>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// The vCPU groups' task files under the guest's cgroup and the tids in each
// (the emulator group's threads come and go with QEMU's worker pool).
std::map<std::string, std::set<std::string>> vcpu_cgroup_tasks(const std::string& name) {
  std::map<std::string, std::set<std::string>> out;
  std::error_code ec;
  for (const auto& group : fs::directory_iterator(vnumad_cgroup / name, ec))
    if (group.path().filename().string().rfind("vcpu", 0) == 0) out[group.path().string()] = cgroup_task_ids(group.path());
  return out;
}

bool in_emulator_group(const std::string& name, pid_t pid) {
  return cgroup_task_ids(vnumad_cgroup / name / "emulator").contains(std::to_string(pid));
}

// Runs vnumad in the foreground with `args` and returns its exit status and
// output; it must end by itself within 30 s.
std::pair<int, std::string> run_vnumad(const fs::path& dir, std::vector<std::string> args) {
  fs::path out = dir / "second.log";
  args.insert(args.begin(), vnumad_binary.string());
  pid_t pid = spawn_program(args, [&] { send_output_to(out, O_TRUNC); });
  int status = -1;
  bool ended = wait_until([&] { return ::waitpid(pid, &status, WNOHANG) == pid; }, 30s);
  if (!ended) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, &status, 0);
    return {-1, read_text(out) + "\n(still running after 30 s: killed)"};
  }
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, read_text(out)};
}

// Removes a guest's cgroups that no daemon will remove (its QEMU was not theirs).
void remove_cgroups(const std::string& name) {
  std::error_code ec;
  for (const auto& child : fs::directory_iterator(vnumad_cgroup / name, ec))
    if (child.is_directory()) ::rmdir(child.path().c_str());
  ::rmdir((vnumad_cgroup / name).c_str());
}

std::vector<std::string> second_daemon_args(const fs::path& dir, const fs::path& state_dir) {
  fs::create_directories(dir / "domains2");
  return {"--config", (dir / "vnumad.conf").string(), "--config-dir", (dir / "domains2").string(),
          "--state-dir", state_dir.string(), "--socket", (dir / "second.sock").string(),
          "--log-dir", (dir / "log").string()};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_second_daemon_on_the_same_state_dir_or_cgroup_root_is_refused) {
  daemon_fixture d;
  guest_spec g = small_test_guest(unique_name("owner"));
  const pid_t qemu = d.run_guest(g);
  const auto tasks_before = vcpu_cgroup_tasks(g.name);
  BOOST_TEST_REQUIRE(tasks_before.size() == 2u, "no vCPU groups under " << (vnumad_cgroup / g.name));
  BOOST_TEST_REQUIRE(in_emulator_group(g.name, qemu));

  // The same state dir: refused, naming the dir and the first daemon's pid.
  {
    // A definition of the same guest, which a daemon that started would run.
    fs::create_directories(d.dir / "domains2");
    write_text(d.dir / "domains2" / (g.name + ".xml"), domain_xml(g, d.serial(g.name)));
    auto [status, output] = run_vnumad(d.dir, second_daemon_args(d.dir, d.dir / "state"));
    BOOST_TEST(status == 1, output);
    BOOST_TEST(output.find("state dir " + (d.dir / "state").string() + " is locked by another vnumad (pid " +
                           std::to_string(d.pid) + ")") != std::string::npos,
               output);
    BOOST_TEST(!fs::exists(d.dir / "second.sock"), "the refused daemon bound its socket");
    fs::remove(d.dir / "domains2" / (g.name + ".xml"));
  }
  // Another state dir, the same cgroup root: refused, naming the cgroup dir.
  {
    auto [status, output] = run_vnumad(d.dir, second_daemon_args(d.dir, d.dir / "state2"));
    BOOST_TEST(status == 1, output);
    BOOST_TEST(output.find("cgroup dir " + vnumad_cgroup.string() + " is locked by another vnumad (pid " +
                           std::to_string(d.pid) + ")") != std::string::npos,
               output);
  }
  // The first daemon's guest is untouched: same QEMU, same threads in the same groups.
  BOOST_TEST(pid_alive(qemu));
  BOOST_TEST(guest_qemus(g.name) == std::vector<pid_t>{qemu});
  BOOST_TEST(vcpu_cgroup_tasks(g.name) == tasks_before);
  BOOST_TEST(in_emulator_group(g.name, qemu));
  BOOST_TEST(d.state(g.name) == "running");
}

BOOST_AUTO_TEST_CASE(a_vanished_state_dir_and_socket_come_back_and_a_restart_reattaches) {
  daemon_fixture d;
  guest_spec g = small_test_guest(unique_name("vanish"));
  const pid_t qemu = d.run_guest(g);
  const fs::path guest_dir = d.dir / "state" / g.name;
  BOOST_TEST_REQUIRE(fs::exists(guest_dir / "qemu" / "qmp.sock"));

  fs::remove_all(d.dir / "state");
  fs::remove(d.socket());
  // Back within a few seconds: the control socket, the record, the expanded
  // XML and the QMP socket QEMU still listens on.
  BOOST_TEST_REQUIRE(wait_until([&] { return fs::exists(d.socket()); }, 10s), d.daemon_log());
  BOOST_TEST(wait_until([&] { return fs::exists(guest_dir / "record.json"); }, 10s), d.daemon_log());
  BOOST_TEST(fs::exists(guest_dir / "domain.xml"));
  BOOST_TEST(fs::is_socket(guest_dir / "qemu" / "qmp.sock"));
  BOOST_TEST(d.read_pid(g.name).value_or(-1) == qemu);
  BOOST_TEST(d.state(g.name) == "running");
  // Loudly: an error line naming what vanished and what came back.
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("state dir " + (d.dir / "state").string() + " vanished") != std::string::npos, log);
  BOOST_TEST(log.find("recreated:") != std::string::npos, log);
  BOOST_TEST(log.find("control socket " + d.socket().string()) != std::string::npos, log);

  // A restart re-attaches to the same QEMU; no second one appears.
  d.stop(SIGTERM);
  BOOST_TEST_REQUIRE(pid_alive(qemu));
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(g.name, "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid(g.name).value_or(-1) == qemu);
  BOOST_TEST(d.daemon_log().find("re-attached to QEMU pid " + std::to_string(qemu)) != std::string::npos);
  std::this_thread::sleep_for(3s);  // a duplicate start would have spawned by now
  BOOST_TEST(guest_qemus(g.name) == std::vector<pid_t>{qemu});
}

BOOST_AUTO_TEST_CASE(a_running_qemu_without_a_record_is_not_started_twice) {
  daemon_fixture d;
  guest_spec g = small_test_guest(unique_name("norecord"));
  const pid_t qemu = d.run_guest(g);

  // The daemon goes, then its state dir (a careless operator, a tmpfiles run).
  d.stop(SIGTERM);
  fs::remove_all(d.dir / "state");
  d.start();
  BOOST_TEST_REQUIRE(wait_until([&] { return occurrences(d.daemon_log(), "ready:") == 2; }, 30s), d.daemon_log());
  std::this_thread::sleep_for(3s);  // a duplicate start would have spawned by now
  BOOST_TEST(guest_qemus(g.name) == std::vector<pid_t>{qemu});
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("QEMU pid " + std::to_string(qemu) + " runs without a state record") != std::string::npos, log);
  BOOST_TEST(log.find("not starting a second one") != std::string::npos, log);
  BOOST_TEST(d.state(g.name) == "shut off");
  // An explicit start is refused too.
  auto started = d.call("start", {{"name", g.name}});
  BOOST_TEST_REQUIRE(!started.has_value());
  BOOST_TEST(started.error().code == errc::already_exists);
  BOOST_TEST(started.error().message.find("QEMU pid " + std::to_string(qemu)) != std::string::npos);
  BOOST_TEST(guest_qemus(g.name) == std::vector<pid_t>{qemu});
  // Not the daemon's any more: the test ends it.
  ::kill(qemu, SIGKILL);
  BOOST_TEST(wait_until([&] { return guest_qemus(g.name).empty(); }, 10s));
  BOOST_TEST(wait_until([&] {
    remove_cgroups(g.name);
    return !fs::exists(vnumad_cgroup / g.name);
  }, 10s));
}

BOOST_AUTO_TEST_CASE(a_sigstopped_qemu_is_not_responding_and_nothing_takes_effect_later) {
  daemon_fixture d;
  guest_spec g = small_test_guest(unique_name("stopped"));
  const pid_t qemu = d.run_guest(g);
  auto vcpu_threads = [&] { return vcpu_thread_dirs(qemu).size(); };
  BOOST_TEST_REQUIRE(vcpu_threads() == 2u);

  BOOST_TEST_REQUIRE(::kill(qemu, SIGSTOP) == 0);
  BOOST_TEST_REQUIRE(wait_until([&] { return read_text("/proc/" + std::to_string(qemu) + "/stat").find(") T ") != std::string::npos; }, 5s));
  auto unplug = d.call("setvcpus", {{"name", g.name}, {"count", 1}});
  BOOST_TEST_REQUIRE(!unplug.has_value());
  BOOST_TEST(unplug.error().code == errc::not_responding, unplug.error().message);
  BOOST_TEST(unplug.error().message.find("QEMU not responding") != std::string::npos, unplug.error().message);
  BOOST_TEST(unplug.error().message.find("refused") == std::string::npos, unplug.error().message);
  auto suspend = d.call("suspend", {{"name", g.name}});
  BOOST_TEST_REQUIRE(!suspend.has_value());
  BOOST_TEST(suspend.error().code == errc::not_responding, suspend.error().message);
  BOOST_TEST(suspend.error().message.find("nothing changed") != std::string::npos, suspend.error().message);

  // Once QEMU runs again, neither the unplug nor the pause happens.
  BOOST_TEST_REQUIRE(::kill(qemu, SIGCONT) == 0);
  std::this_thread::sleep_for(3s);
  BOOST_TEST(vcpu_threads() == 2u);
  BOOST_TEST(d.state(g.name) == "running");
  auto status = d.call("resume", {{"name", g.name}});  // answers again
  BOOST_TEST(status.has_value(), (status ? "" : status.error().message));
}
