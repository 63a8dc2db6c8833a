// <iothreads> on a real QEMU (TCG): two iothreads, a virtio disk in
// iothread1, iothread2 pinned by <iothreadpin>, iothread1 on the emulator's
// CPUs. The threads are found from /proc (QEMU names them "IO iothreadN"),
// their affinity and cgroup read from the kernel, before and after a daemon
// restart (re-attach pins again), and after the emulator is re-pinned. The
// same file uses <qemu:commandline> (an argument and an environment variable
// QEMU must really get) and an element vnumad ignores, which the daemon must
// log by name.
#define BOOST_TEST_MODULE iothreads_live
#include "daemon_support.hpp"

#include <sys/stat.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

struct thread_facts {
  pid_t tid = 0;
  std::string cpus_allowed;  // Cpus_allowed_list
  std::string cpuset_cgroup; // the cpuset (v1) or unified (v2) line's path
};

// iothread id -> its thread, from /proc/PID/task/*/comm.
std::map<std::string, thread_facts> iothreads_of(pid_t qemu) {
  std::map<std::string, thread_facts> out;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(qemu) + "/task", ec)) {
    std::string comm = read_text(task.path() / "comm");
    while (!comm.empty() && comm.back() == '\n') comm.pop_back();
    if (comm.rfind("IO iothread", 0) != 0) continue;
    thread_facts f;
    f.tid = static_cast<pid_t>(std::stol(task.path().filename().string()));
    f.cpus_allowed = status_value(task.path() / "status", "Cpus_allowed_list");
    // The v1 cpuset hierarchy's line, else the v2 one ("0::PATH").
    std::istringstream groups(read_text(task.path() / "cgroup"));
    std::string unified;
    for (std::string line; std::getline(groups, line);) {
      auto second = line.find(':', line.find(':') + 1);
      std::string controllers = line.substr(line.find(':') + 1, second - line.find(':') - 1);
      if (controllers.find("cpuset") != std::string::npos) f.cpuset_cgroup = line.substr(second + 1);
      if (controllers.empty()) unified = line.substr(second + 1);
    }
    if (f.cpuset_cgroup.empty()) f.cpuset_cgroup = unified;
    out[comm.substr(3)] = f;
  }
  return out;
}

void check_iothreads(pid_t qemu, const std::string& name, const std::string& log) {
  auto threads = iothreads_of(qemu);
  BOOST_TEST_REQUIRE(threads.size() == 2u, "QEMU's iothreads: " << threads.size() << "\n" << log);
  // iothread1: no <iothreadpin>, the emulator's CPUs (<emulatorpin cpuset='0'>).
  BOOST_TEST(threads["iothread1"].cpus_allowed == "0");
  BOOST_TEST(threads["iothread2"].cpus_allowed == "1");
  for (const std::string id : {"iothread1", "iothread2"}) {
    const std::string& group = threads[id].cpuset_cgroup;
    BOOST_TEST(group.size() >= id.size() + name.size() + 1, group);
    BOOST_TEST(group.find("/vnumad/" + name + "/" + id) != std::string::npos, id << " is in " << group);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(iothreads_are_created_attached_and_pinned_and_passthrough_reaches_qemu) {
  const temp_dir images("io");
  const fs::path disk = images.path / "disk.img";
  write_text(disk, std::string(1 << 20, '\0'));
  ::chmod(disk.c_str(), 0640);

  daemon_fixture d("image_dirs = " + images.path.string() + "\n");
  const std::string name = "io" + std::to_string(::getpid() % 10000);
  const std::string xml =
      "<domain type='qemu' xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'>\n"
      "  <name>" + name + "</name>\n  <memory unit='MiB'>128</memory>\n  <vcpu>2</vcpu>\n"
      "  <iothreads>2</iothreads>\n"
      "  <cputune>\n    <emulatorpin cpuset='0'/>\n    <iothreadpin iothread='2' cpuset='1'/>\n  </cputune>\n"
      "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
      "  <devices>\n"
      "    <disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1'/>"
      "<source file='" + disk.string() + "'/><target dev='vda' bus='virtio'/></disk>\n"
      "    <sound model='ich9'/>\n"
      "    <serial type='file'><source path='" + d.serial(name).string() + "'/><target port='0'/></serial>\n"
      "  </devices>\n"
      "  <qemu:commandline>\n    <qemu:arg value='-global'/>\n    <qemu:arg value='ICH9-LPC.noreboot=on'/>\n"
      "    <qemu:env name='VNUMAD_PASSTHROUGH' value='it works'/>\n  </qemu:commandline>\n"
      "</domain>\n";
  const pid_t qemu = d.run_guest(name, xml);

  const std::string cmdline = command_line(qemu);
  BOOST_TEST(cmdline.find(R"({"qom-type":"iothread","id":"iothread1"})") != std::string::npos, cmdline);
  BOOST_TEST(cmdline.find(R"("iothread":"iothread1")") != std::string::npos, cmdline);
  BOOST_TEST(cmdline.find(" -global ICH9-LPC.noreboot=on") != std::string::npos, cmdline);
  std::string environ = read_text("/proc/" + std::to_string(qemu) + "/environ");
  BOOST_TEST(environ.find(std::string("VNUMAD_PASSTHROUGH=it works") + '\0') != std::string::npos);

  // The daemon named what it ignores and that the guest uses passthrough.
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("guest '" + name + "': " + d.domain_file(name).string() +
                      ": <devices><sound model='ich9'>: not supported, ignored") !=
                 std::string::npos,
             log);
  BOOST_TEST(log.find("<qemu:commandline> passes 2 argument(s) and 1 environment variable(s)") != std::string::npos, log);

  check_iothreads(qemu, name, log);

  // A restarted daemon re-attaches and pins them again: move one away first,
  // into the guest's own group.
  const auto before = iothreads_of(qemu);
  d.stop(SIGKILL);
  const std::string group = before.at("iothread2").cpuset_cgroup;
  const fs::path v1 = fs::path("/sys/fs/cgroup/cpuset") / group.substr(1, group.rfind('/') - 1);
  const fs::path tasks = fs::exists(v1 / "tasks") ? v1 / "tasks"
                                                  : fs::path("/sys/fs/cgroup") / group.substr(1, group.rfind('/') - 1) /
                                                        "cgroup.threads";
  write_text(tasks, std::to_string(before.at("iothread2").tid) + "\n");
  BOOST_TEST(iothreads_of(qemu)["iothread2"].cpuset_cgroup.find("/iothread2") == std::string::npos);
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid(name).value_or(0) == qemu);
  BOOST_TEST(wait_until([&] { return iothreads_of(qemu)["iothread2"].cpuset_cgroup.find("/iothread2") != std::string::npos; },
                        30s),
             d.daemon_log());
  check_iothreads(qemu, name, d.daemon_log());

  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", name}}).has_value());
}

// An iothread without <iothreadpin> runs on the emulator's CPUs, also after
// the emulator is re-pinned: here off the thread a siblings guest takes
// dedicated, and back when that guest goes. From /proc, not the daemon.
BOOST_AUTO_TEST_CASE(an_iothread_follows_the_emulator_off_a_thread_another_guest_holds_dedicated) {
  daemon_fixture d("", fs::path(VNUMAD_TEST_DATA_DIR) / "hosts" / "one-node-two-cores.xml");
  const std::string name = "iof" + std::to_string(::getpid() % 10000);
  std::string xml = domain_xml(small_test_guest(name), d.serial(name));
  xml.insert(xml.find("</vcpu>") + 7, "\n  <iothreads>1</iothreads>");
  const pid_t qemu = d.run_guest(name, xml);
  auto emulator_cpus = [&] { return status_value("/proc/" + std::to_string(qemu) + "/status", "Cpus_allowed_list"); };
  auto iothread_cpus = [&] { return iothreads_of(qemu)["iothread1"].cpus_allowed; };
  BOOST_TEST(emulator_cpus() == "0-1");
  BOOST_TEST(iothread_cpus() == "0-1");

  guest_spec owner{.name = "own" + std::to_string(::getpid() % 10000), .vcpus = 1, .cells = 1,
                   .distribution = "siblings", .memory_mib = "256"};
  d.define(owner);
  BOOST_TEST_REQUIRE(d.wait_state(owner.name, "running"), d.daemon_log());
  BOOST_TEST_REQUIRE(d.wait_log("re-pinned around threads held dedicated", 30s), d.daemon_log());
  const std::string left = emulator_cpus();
  BOOST_TEST((left == "0" || left == "1"), "the emulator's CPUs: " << left);
  BOOST_TEST(iothread_cpus() == left, d.daemon_log());
  BOOST_TEST(iothreads_of(qemu)["iothread1"].cpuset_cgroup.find("/vnumad/" + name + "/iothread1") != std::string::npos);

  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", owner.name}}, 30s).has_value());
  BOOST_TEST(wait_until([&] { return emulator_cpus() == "0-1"; }, 10s), d.daemon_log());
  BOOST_TEST(iothread_cpus() == "0-1", d.daemon_log());
  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", name}}).has_value());
}

BOOST_AUTO_TEST_CASE(strict_daemon_refuses_a_domain_with_what_it_does_not_act_on) {
  daemon_fixture d("strict = true\n");
  const std::string name = "st" + std::to_string(::getpid() % 10000);
  const std::string xml = "<domain type='qemu'><name>" + name + "</name><memory unit='MiB'>128</memory>"
                          "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
                          "<devices><sound model='ich9'/></devices></domain>\n";
  d.define(name, xml);
  BOOST_TEST(d.wait_log("strict = true", 30s), d.daemon_log());
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("vnumad.conf has strict = true, and vnumad does not act on: <devices><sound model='ich9'>: not "
                      "supported, ignored") != std::string::npos,
             log);
  BOOST_TEST(d.state(name).empty(), "the guest was not defined");
}
