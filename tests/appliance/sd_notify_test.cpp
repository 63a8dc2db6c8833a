#define BOOST_TEST_MODULE appliance_sd_notify
#include <boost/test/unit_test.hpp>

// What vnumad.service (Type=notify, WatchdogSec=, ExecReload=kill -HUP,
// KillMode=process) relies on, checked against the real vnumad binary with a
// NOTIFY_SOCKET of our own, as systemd would provide it: READY=1 with a
// STATUS once started, WATCHDOG=1 at half of WATCHDOG_USEC, SIGHUP does not
// stop it, SIGTERM makes it say STOPPING=1 and exit 0.

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;

namespace {

std::string read_all(const fs::path& p) {
  std::ifstream in(p);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

struct notify_fixture {
  fs::path dir;
  int sock = -1;
  pid_t pid = -1;

  notify_fixture() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-notify-XXXXXX").string();
    BOOST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    dir = tmpl;
    fs::create_directories(dir / "domains");
    std::ofstream(dir / "empty.conf") << "# all defaults\n";

    sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    BOOST_REQUIRE(sock >= 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::string path = (dir / "notify.sock").string();
    BOOST_REQUIRE(path.size() < sizeof addr.sun_path);
    std::strcpy(addr.sun_path, path.c_str());
    BOOST_REQUIRE(::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  }

  ~notify_fixture() {
    if (pid > 0) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
    }
    if (sock >= 0) ::close(sock);
    std::error_code ec;
    fs::remove_all(dir, ec);
  }

  void start_daemon(const std::string& watchdog_usec) {
    fs::path binary = fs::path(VNUMAD_BINARY_DIR) / "vnumad";
    BOOST_REQUIRE_MESSAGE(fs::exists(binary), binary << " is not built");
    std::vector<std::string> args = {binary.string(),
                                     "--config", (dir / "empty.conf").string(),
                                     "--config-dir", (dir / "domains").string(),
                                     "--state-dir", (dir / "state").string(),
                                     "--socket", (dir / "control.sock").string(),
                                     "--log-dir", (dir / "log").string()};
    std::string notify = (dir / "notify.sock").string();
    std::string log = (dir / "daemon.log").string();
    pid = ::fork();
    BOOST_REQUIRE(pid >= 0);
    if (pid == 0) {
      ::setenv("NOTIFY_SOCKET", notify.c_str(), 1);
      ::setenv("WATCHDOG_USEC", watchdog_usec.c_str(), 1);
      ::unsetenv("WATCHDOG_PID");
      FILE* f = std::freopen(log.c_str(), "w", stderr);
      (void)f;
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      std::_Exit(127);
    }
  }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{sock, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(sock, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

  // Waits for a message containing `what`, collecting everything before it.
  std::optional<std::string> wait_for(const std::string& what, std::chrono::milliseconds timeout,
                                      std::vector<std::string>* seen = nullptr) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
      auto msg = receive(std::max(left, 1ms));
      if (!msg) break;
      if (seen) seen->push_back(*msg);
      if (msg->find(what) != std::string::npos) return msg;
    }
    return std::nullopt;
  }

  // The exit status, or nullopt if still running after `timeout`.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout) {
    auto deadline = clock_type::now() + timeout;
    while (clock_type::now() < deadline) {
      int status = 0;
      pid_t r = ::waitpid(pid, &status, WNOHANG);
      if (r == pid) {
        pid = -1;
        return status;
      }
      std::this_thread::sleep_for(20ms);
    }
    return std::nullopt;
  }

  std::string daemon_log() const { return read_all(dir / "daemon.log"); }
};

}  // namespace

BOOST_FIXTURE_TEST_CASE(ready_watchdog_reload_and_stop, notify_fixture) {
  start_daemon("1000000");  // WatchdogSec=1s: pings every 0.5 s

  auto ready = wait_for("READY=1", 60s);
  BOOST_REQUIRE_MESSAGE(ready, "no READY=1 from vnumad; its log:\n" << daemon_log());
  BOOST_TEST(ready->find("STATUS=0 running, 0 starting, 0 queued, 0 failed") != std::string::npos, "READY message: " << *ready);
  // The control socket exists once ready (systemd may start clients then).
  BOOST_TEST(fs::is_socket(dir / "control.sock"));

  // At half of WATCHDOG_USEC: at least 3 pings in 2.2 s.
  int pings = 0;
  auto until = clock_type::now() + 2200ms;
  while (clock_type::now() < until) {
    auto msg = receive(std::chrono::duration_cast<std::chrono::milliseconds>(until - clock_type::now()) + 1ms);
    if (msg && msg->find("WATCHDOG=1") != std::string::npos) ++pings;
  }
  BOOST_TEST(pings >= 3, "watchdog pings in 2.2 s: " << pings);

  // ExecReload: SIGHUP rescans, the daemon stays and keeps pinging.
  BOOST_REQUIRE(::kill(pid, SIGHUP) == 0);
  BOOST_TEST(!wait_exit(300ms).has_value(), "vnumad exited on SIGHUP; its log:\n" << daemon_log());
  BOOST_TEST(wait_for("WATCHDOG=1", 2s).has_value(), "no watchdog ping after SIGHUP");

  // systemctl stop: SIGTERM, STOPPING=1, exit 0.
  BOOST_REQUIRE(::kill(pid, SIGTERM) == 0);
  std::vector<std::string> seen;
  BOOST_TEST(wait_for("STOPPING=1", 10s, &seen).has_value(), "no STOPPING=1 after SIGTERM");
  auto status = wait_exit(10s);
  BOOST_REQUIRE_MESSAGE(status, "vnumad still running 10 s after SIGTERM");
  BOOST_TEST(WIFEXITED(*status));
  BOOST_TEST(WEXITSTATUS(*status) == 0, "exit status " << WEXITSTATUS(*status) << "; log:\n" << daemon_log());
}

BOOST_FIXTURE_TEST_CASE(no_watchdog_pings_when_systemd_asks_for_none, notify_fixture) {
  start_daemon("0");
  BOOST_REQUIRE_MESSAGE(wait_for("READY=1", 60s), "no READY=1 from vnumad; its log:\n" << daemon_log());
  std::vector<std::string> seen;
  BOOST_TEST(!wait_for("WATCHDOG=1", 1500ms, &seen).has_value());
  BOOST_REQUIRE(::kill(pid, SIGINT) == 0);
  auto status = wait_exit(10s);
  BOOST_REQUIRE(status);
  BOOST_TEST(WEXITSTATUS(*status) == 0);
}
