#define BOOST_TEST_MODULE control_flood_live
#include <boost/test/unit_test.hpp>

// Issue 12 against a real vnumad: local users flooding the read-only socket,
// clients that never read, numbers past 32 bits, repeated keys, unknown
// arguments and secrets in domain XML. The guest runs firmware only (no
// kernel, no disk: SeaBIOS finds nothing to boot and waits) under real QEMU,
// so vcpuinfo has real threads to report. Checks come from /proc where they
// can (the daemon's CPU time and RSS, QEMU's pid and start time, vCPU
// affinities).
#include "daemon_support.hpp"
#include "unix_stream.hpp"

#include <cstdio>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// Firmware only, two vCPUs in one cell (the "<devices>" and top-level
// elements a test adds go in as given).
std::string firmware_guest_xml(const std::string& name, const std::string& extra_devices = "",
                               const std::string& extra_top = "") {
  return firmware_domain_xml({.name = name, .vcpus = 2, .cells = 1, .features = "<acpi/><apic/>",
                              .extra_top = extra_top, .devices = extra_devices});
}

// One reply line to a raw request (the bytes as given: repeated keys survive).
std::string raw_call(const std::string& socket, const std::string& line) {
  int fd = connect_unix_stream(socket);
  if (fd < 0) return "connect failed";
  std::string bytes = line + "\n";
  (void)!::send(fd, bytes.data(), bytes.size(), MSG_NOSIGNAL);
  std::string reply;
  char c;
  pollfd p{fd, POLLIN, 0};
  while (::poll(&p, 1, 10000) > 0 && ::read(fd, &c, 1) == 1 && c != '\n') reply += c;
  ::close(fd);
  return reply;
}

// utime + stime of a process, in seconds (/proc/PID/stat fields 14 and 15).
double cpu_seconds(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  double ticks = 0;
  for (int i = 3; i <= 15 && fields >> f; ++i)
    if (i >= 14) ticks += std::stod(f);
  return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

// Start time of a process (field 22): a pid reused by a new QEMU differs.
std::string start_time(pid_t pid) {
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return "";
  std::istringstream fields(stat.substr(stat.rfind(')') + 2));
  std::string f;
  for (int i = 3; i <= 22 && fields >> f; ++i)
    if (i == 22) return f;
  return "";
}

// VmRSS, or VmHWM (the peak RSS), of a process in KiB.
std::size_t rss_kib(pid_t pid, const std::string& field = "VmRSS") {
  const std::string kib = status_value(pid, field);
  return kib.empty() ? 0 : std::stoul(kib);
}

std::size_t open_fds(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for (auto it = fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec); !ec && it != fs::end(it);
       it.increment(ec))
    ++n;
  return n;
}

// A flooding local user: a child that drops to `uid` and opens `count`
// non-blocking connections to `socket`, holding every one that connected until
// killed. It writes how many connected to `report_fd`.
pid_t start_flooder(uid_t uid, const std::string& socket, int count, int report_fd) {
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  if (::setgid(uid) != 0 || ::setuid(uid) != 0) ::_exit(10);
  int connected = 0;
  std::vector<int> fds;
  for (int i = 0; i < count; ++i) {
    int fd = connect_unix_stream(socket, true);
    if (fd >= 0) {
      ++connected;
      fds.push_back(fd);
    }
  }
  std::string report = std::to_string(connected) + "\n";
  (void)!::write(report_fd, report.data(), report.size());
  for (;;) ::pause();
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_readonly_flood_past_the_fd_limit_starves_nothing_and_a_reload_keeps_the_guests) {
  BOOST_TEST_REQUIRE(::geteuid() == 0, "the flooders drop to other uids: needs root");
  const fs::path ro_socket = "/tmp/vnumad-flood-ro-" + std::to_string(::getpid()) + ".sock";
  daemon_fixture d("readonly_socket = " + ro_socket.string() + "\n");
  const std::string name = "flood";
  write_text(d.domain_file(name), firmware_guest_xml(name));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 60s), d.daemon_log());
  const pid_t qemu = *d.guest_pid(name);
  const std::string qemu_started = start_time(qemu);

  // The daemon gets 512 fds; ten local users try 1000 connections each.
  rlimit low{512, 512};
  BOOST_TEST_REQUIRE(::prlimit(d.pid, RLIMIT_NOFILE, &low, nullptr) == 0);
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  std::vector<pid_t> flooders;
  for (uid_t uid : {65534u, 65520u, 65521u, 65522u, 65523u, 65524u, 65525u, 65526u, 65527u, 65528u})
    flooders.push_back(start_flooder(uid, ro_socket.string(), 1000, pipefd[1]));
  ::close(pipefd[1]);
  int held = 0;
  {
    FILE* reports = ::fdopen(pipefd[0], "r");
    int n = 0;
    for (std::size_t i = 0; i < flooders.size() && std::fscanf(reports, "%d", &n) == 1; ++i) held += n;
    std::fclose(reports);
  }
  BOOST_TEST_MESSAGE("connections the flooders hold (served, refused or waiting in the backlog): " << held);
  BOOST_TEST(held > 512, "the flood must exceed the daemon's RLIMIT_NOFILE; held " << held);

  // The daemon stays well inside its fds, and does not spin.
  const std::size_t fds = open_fds(d.pid);
  BOOST_TEST_MESSAGE("daemon fds during the flood: " << fds);
  BOOST_TEST(fds < 400u);
  const double cpu_before = cpu_seconds(d.pid);
  std::this_thread::sleep_for(3s);
  const double cpu_used = cpu_seconds(d.pid) - cpu_before;
  BOOST_TEST_MESSAGE("daemon CPU in 3 s of flood: " << cpu_used << " s");
  BOOST_TEST(cpu_used < 0.3);
  // Again once it has accepted (or turned away) all it will.
  const std::size_t fds_settled = open_fds(d.pid);
  BOOST_TEST_MESSAGE("daemon fds 3 s later: " << fds_settled);
  BOOST_TEST(fds_settled < 400u);

  // Root is served on the read-write socket, vcpuinfo complete.
  auto start = std::chrono::steady_clock::now();
  auto list = d.call("list", {}, 5s);
  BOOST_TEST_REQUIRE(list.has_value(), (list ? "" : list.error().message));
  BOOST_TEST(list->as_array().size() == 1u);
  auto info = d.call("vcpuinfo", {{"name", name}}, 5s);
  BOOST_TEST_REQUIRE(info.has_value(), (info ? "" : info.error().message));
  for (const auto& v : info->at("vcpus").as_array()) {
    BOOST_TEST(v.as_object().contains("host_cpu"), json::serialize(v));
    BOOST_TEST(v.as_object().contains("affinity"), json::serialize(v));
    BOOST_TEST(v.as_object().contains("affinity_map"), json::serialize(v));
  }
  BOOST_TEST((std::chrono::steady_clock::now() - start < 2s));
  auto ctl = run_vnumactl("list --socket " + d.socket().string());
  BOOST_TEST(ctl.exit_status == 0, ctl.out);
  BOOST_TEST(ctl.out.find(name) != std::string::npos, ctl.out);

  // A reload in the middle of the flood changes no guest.
  ::kill(d.pid, SIGHUP);
  std::this_thread::sleep_for(2s);
  auto reloaded = d.call("reload", {}, 10s);
  BOOST_TEST(reloaded.has_value(), (reloaded ? "" : reloaded.error().message));
  BOOST_TEST(d.state(name) == "running");
  BOOST_TEST(pid_alive(qemu));
  BOOST_TEST(start_time(qemu) == qemu_started, "QEMU was restarted");
  BOOST_TEST(d.guest_pid(name).value_or(0) == qemu);

  for (pid_t f : flooders) ::kill(f, SIGKILL);
  for (pid_t f : flooders) ::waitpid(f, nullptr, 0);
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("shutting down") == std::string::npos, log);
  BOOST_TEST(log.find("Too many open files") == std::string::npos, log);
  BOOST_TEST(log.find("read-only control socket") != std::string::npos, "the full socket is logged");
  // Once the flood is gone, any user is served on the read-only socket again.
  reactor::control_client c;
  BOOST_TEST_REQUIRE(wait_until([&] { return c.connect(ro_socket.string()).has_value(); }, 10s));
  BOOST_TEST(c.call("list", {}, 10s).has_value());
  fs::remove(ro_socket);
}

BOOST_AUTO_TEST_CASE(clients_that_never_read_cost_a_bounded_amount_of_memory) {
  // As measured in issue 12: 300 connections x 1000 capabilities requests,
  // replies never read, took the daemon from 7.6 MB to 359 MB.
  daemon_fixture d("control_max_clients = 300\ncontrol_max_clients_per_uid = 300\n");
  std::this_thread::sleep_for(500ms);
  const std::size_t before = rss_kib(d.pid);
  std::string requests;
  for (int i = 0; i < 1000; ++i) requests += "{\"id\":" + std::to_string(i) + ",\"op\":\"capabilities\"}\n";
  std::vector<int> fds;
  for (int i = 0; i < 300; ++i) {
    int fd = connect_unix_stream(d.socket(), true);
    BOOST_TEST_REQUIRE(fd >= 0);
    (void)!::send(fd, requests.data(), requests.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    fds.push_back(fd);
  }
  // Until the daemon has answered all it will answer (its CPU time stops
  // growing), at most 30 s.
  double cpu = cpu_seconds(d.pid);
  BOOST_TEST(wait_until(
      [&] {
        std::this_thread::sleep_for(400ms);
        double now = cpu_seconds(d.pid);
        bool settled = now - cpu < 0.02;
        cpu = now;
        return settled;
      },
      30s));
  const std::size_t during = rss_kib(d.pid, "VmHWM");
  BOOST_TEST_MESSAGE("daemon RSS: " << before << " KiB before, peak " << during << " KiB with 300 unread clients");
  BOOST_TEST(during - before < 300u * 200u, "over 200 KiB per unread client");
  for (int fd : fds) ::close(fd);
  BOOST_TEST(d.call("list", {}, 10s).has_value());
}

BOOST_AUTO_TEST_CASE(out_of_range_numbers_repeated_keys_unknown_arguments_and_secrets) {
  const fs::path ro_socket = "/tmp/vnumad-strict-ro-" + std::to_string(::getpid()) + ".sock";
  daemon_fixture d("readonly_socket = " + ro_socket.string() + "\n");
  const std::string name = "strict";
  write_text(d.domain_file(name),
             firmware_guest_xml(name, "<graphics type='vnc' port='-1' autoport='yes' passwd='vncpass'/>",
                                "  <description>console password hunter2</description>\n"
                                "  <metadata><x:app xmlns:x='http://example.org/x'>token=abc123</x:app></metadata>\n"));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 60s), d.daemon_log());
  const pid_t qemu = *d.guest_pid(name);
  const auto affinity_before = vcpu_affinities(d, name);
  BOOST_TEST_REQUIRE(affinity_before.size() == 2u);

  // 2^32 + 1 is refused, never taken as 1 (vCPU 1's affinity stays, in /proc).
  auto pin = d.call("vcpupin", {{"name", name}, {"vcpu", 4294967297ULL}, {"cpuset", "0"}});
  BOOST_TEST_REQUIRE(!pin.has_value());
  BOOST_TEST((pin.error().code == errc::invalid_value));
  BOOST_TEST(pin.error().message == "args.vcpu: 4294967297 is out of range (valid: 0 to 4294967295)");
  auto setvcpus = d.call("setvcpus", {{"name", name}, {"count", 4294967297ULL}});
  BOOST_TEST_REQUIRE(!setvcpus.has_value());
  BOOST_TEST(setvcpus.error().message.find("args.count: 4294967297 is out of range") != std::string::npos);
  auto shutdown = d.call("shutdown", {{"name", name}, {"timeout", 18446744073709551615ULL}});
  BOOST_TEST(!shutdown.has_value());
  // vnumactl refuses them before sending (exit 2), signs included.
  auto ctl = [&](const std::string& args) {
    return run_vnumactl(args + " --socket " + d.socket().string());
  };
  for (const std::string args : {"vcpupin " + name + " 4294967297 0", "setvcpus " + name + " 4294967297",
                                 "attach-memory " + name + " --cell=-1 --size 1G",
                                 "attach-memory " + name + " --cell 4294967296 --size 1G",
                                 "shutdown " + name + " --timeout=-1", "setvcpus " + name + " 1 --timeout-ms 1e9"}) {
    auto r = ctl(args);
    BOOST_TEST(r.exit_status == 2, args << ": " << r.out);
    BOOST_TEST(r.out.find("is not valid (a whole number from 0 to") != std::string::npos, args << ": " << r.out);
  }
  BOOST_TEST((vcpu_affinities(d, name) == affinity_before));
  BOOST_TEST(d.dominfo(name).at("vcpus_online").to_number<int>() == 2);

  // A repeated "op" does not destroy; unknown arguments change nothing.
  std::string dup = raw_call(d.socket().string(), R"({"id":1,"op":"list","op":"destroy","args":{"name":")" + name + "\"}}");
  BOOST_TEST(dup.find("duplicate key \\\"op\\\"") != std::string::npos, dup);
  auto unknown = d.call("destroy", {{"name", name}, {"force", true}});
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().message == "destroy: unknown argument \"force\" (valid: name)");
  auto typo = d.call("setvcpus", {{"name", name}, {"cout", 1}});
  BOOST_TEST_REQUIRE(!typo.has_value());
  BOOST_TEST(typo.error().message == "setvcpus: unknown argument \"cout\" (valid: name, count, timeout_ms)");
  BOOST_TEST(d.state(name) == "running");
  BOOST_TEST(pid_alive(qemu));
  BOOST_TEST(d.dominfo(name).at("vcpus_online").to_number<int>() == 2);

  // domxml: the read-write socket has everything, the read-only one no secrets.
  auto full = d.call("domxml", {{"name", name}});
  BOOST_TEST_REQUIRE(full.has_value());
  const std::string full_xml(full->as_string());
  for (const char* s : {"vncpass", "hunter2", "token=abc123"}) BOOST_TEST(full_xml.find(s) != std::string::npos, s);
  reactor::control_client ro;
  BOOST_TEST_REQUIRE(ro.connect(ro_socket.string()).has_value());
  auto shown = ro.call("domxml", {{"name", name}});
  BOOST_TEST_REQUIRE(shown.has_value());
  const std::string shown_xml(shown->as_string());
  for (const char* s : {"vncpass", "passwd", "hunter2", "token=abc123", "<description", "<metadata"})
    BOOST_TEST(shown_xml.find(s) == std::string::npos, s << " on the read-only socket:\n" << shown_xml);
  BOOST_TEST(shown_xml.find("<graphics") != std::string::npos, shown_xml);
  fs::remove(ro_socket);
}
