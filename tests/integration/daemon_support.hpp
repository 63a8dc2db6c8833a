// Shared by the integration tests: a real vnumad process on temp dirs, a
// control client, and polling helpers. The guests' domain XML is in
// guest_domains.hpp, the programs the tests run in programs.hpp, what they
// read from /proc and cgroupfs in process_facts.hpp.
#pragma once

#include "guest_domains.hpp"
#include "support/process_facts.hpp"
#include "programs.hpp"

#include "config/cpuset.hpp"
#include "config/domain_xml.hpp"
#include "qemu/guest_log.hpp"
#include "reactor/control_client.hpp"
#include "support/files_and_processes.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

#include <chrono>
#include <csignal>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <sys/resource.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace vnumad::testing {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;

// Polls `done` every 100 ms until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// How often `what` stands in `text`.
inline std::size_t occurrences(const std::string& text, const std::string& what) {
  std::size_t n = 0;
  for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

// A new dir /tmp/vnumad-TAG-XXXXXX with `mode`: QEMU's user needs 0711 to
// pass through it to its own folders, 0755 to read what is in it.
inline fs::path make_temp_dir(const std::string& tag, fs::perms mode) {
  std::string tmpl = "/tmp/vnumad-" + tag + "-XXXXXX";
  BOOST_TEST_REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
  fs::permissions(tmpl, mode);
  return tmpl;
}

// ...removed with all in it at the end of the scope.
struct temp_dir {
  explicit temp_dir(const std::string& tag, fs::perms mode = fs::perms(0755)) : path(make_temp_dir(tag, mode)) {}
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  fs::path path;
};

// Can root here raise RLIMIT_MEMLOCK past its hard limit (CAP_SYS_RESOURCE)?
// The NUMA test host can; the development container cannot.
inline bool memlock_raisable() {
  const pid_t child = ::fork();
  if (child == 0) {
    rlimit big{RLIM_INFINITY, RLIM_INFINITY};
    ::_exit(::setrlimit(RLIMIT_MEMLOCK, &big) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(child, &status, 0);
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// vNUMA guests lock their memory. An unprivileged QEMU (vnumad's default
// runas = vnumad-qemu) can only do that where vnumad may raise its
// RLIMIT_MEMLOCK; elsewhere the test guests run with runas = root, and
// tests/integration/least_privilege_live_test.cpp covers the default with
// unlocked guests.
inline std::string runas_for_locked_guests(const std::string& conf_extra) {
  if (conf_extra.find("runas") != std::string::npos || memlock_raisable()) return "";
  return "runas = root\n";
}

// A vnumad process with its own config dir, state dir, log dir and socket.
class daemon_fixture {
 public:
  explicit daemon_fixture(std::string conf_extra = "", std::optional<fs::path> topology = std::nullopt)
      : topology_(std::move(topology)) {
    // QEMU's user passes through to its folder in the state dir.
    dir = make_temp_dir("it", fs::perms(0711));
    fs::create_directories(dir / "domains.d");
    fs::create_directories(dir / "log");
    write_text(dir / "vnumad.conf",
               "shutdown_timeout = 5\nreserved_cpus = none\n" + runas_for_locked_guests(conf_extra) + conf_extra);
    start();
  }
  ~daemon_fixture() {
    // Guests first (so no QEMU outlives the test), then the daemon.
    for (const auto& name : list_names()) (void)call("destroy", {{"name", name}}, 30s);
    stop(SIGTERM);
    // Any QEMU of ours still alive (a test that killed the daemon) goes too.
    for (const auto& entry : fs::directory_iterator(dir / "state", ec_))
      if (auto pid = read_pid(entry.path().filename().string())) ::kill(*pid, SIGKILL);
    fs::remove_all(dir, ec_);
  }

  void start() {
    std::vector<std::string> args = {vnumad_binary.string(),
                                      "--config", (dir / "vnumad.conf").string(),
                                      "--config-dir", (dir / "domains.d").string(),
                                      "--state-dir", (dir / "state").string(),
                                      "--socket", socket().string(),
                                      "--log-dir", (dir / "log").string(),
                                      "--log-level", "debug"};
    if (topology_) args.insert(args.end(), {"--topology", topology_->string()});
    const fs::path log = dir / "vnumad.log";
    pid = spawn_program(args, [&] { send_output_to(log, O_APPEND); });
    BOOST_TEST_REQUIRE(wait_until([&] { return fs::exists(socket()); }, 20s), "vnumad did not create its socket");
  }

  // Stops the daemon with `signal` and reaps it.
  void stop(int signal) {
    if (pid <= 0) return;
    ::kill(pid, signal);
    int status = 0;
    ::waitpid(pid, &status, 0);
    pid = -1;
  }

  fs::path socket() const { return dir / "vnumad.sock"; }
  fs::path serial(const std::string& guest) const { return dir / "log" / (guest + ".serial"); }
  fs::path domain_file(const std::string& guest) const { return dir / "domains.d" / (guest + ".xml"); }
  std::string daemon_log() const { return read_text(dir / "vnumad.log"); }
  // Polls the daemon's log until it has `text`.
  bool wait_log(const std::string& text, std::chrono::milliseconds timeout) const {
    return wait_until([&] { return daemon_log().find(text) != std::string::npos; }, timeout);
  }

  // Writes a domain file: written elsewhere and renamed in, as an operator's
  // tooling would.
  void define(const std::string& name, const std::string& xml) {
    fs::path tmp = dir / (name + ".xml.new");
    write_text(tmp, xml);
    fs::rename(tmp, domain_file(name));
  }
  void define(const guest_spec& g) { define(g.name, domain_xml(g, serial(g.name))); }

  // Defines the guest and waits until it runs; returns its QEMU's pid.
  pid_t run_guest(const std::string& name, const std::string& xml, std::chrono::milliseconds timeout = 120s) {
    define(name, xml);
    BOOST_TEST_REQUIRE(wait_state(name, "running", timeout), "guest " << name << " is not running:\n" << daemon_log());
    const auto qemu = guest_pid(name);
    BOOST_TEST_REQUIRE((qemu.has_value() && *qemu > 0), "guest " << name << " runs without a QEMU pid");
    return *qemu;
  }
  pid_t run_guest(const guest_spec& g, std::chrono::milliseconds timeout = 120s) {
    return run_guest(g.name, domain_xml(g, serial(g.name)), timeout);
  }

  result<json::value> call(const std::string& op, json::object args = {}, std::chrono::milliseconds timeout = 60s) {
    reactor::control_client c;
    if (auto ok = c.connect(socket().string()); !ok) return ok.error();
    return c.call(op, args, timeout);
  }

  json::object dominfo(const std::string& name) {
    auto r = call("dominfo", {{"name", name}});
    if (!r) return {};
    return r->as_object();
  }
  std::string state(const std::string& name) {
    auto info = dominfo(name);
    return info.contains("state") ? std::string(info.at("state").as_string()) : "";
  }
  std::optional<pid_t> guest_pid(const std::string& name) {
    auto info = dominfo(name);
    if (!info.contains("pid")) return std::nullopt;
    return static_cast<pid_t>(info.at("pid").to_number<std::int64_t>());
  }
  std::vector<std::string> list_names() {
    std::vector<std::string> names;
    if (pid <= 0) return names;
    if (auto r = call("list", {}, 5s))
      for (const auto& g : r->as_array()) names.emplace_back(g.at("name").as_string());
    return names;
  }
  std::optional<pid_t> read_pid(const std::string& guest) {
    std::string text = read_text(dir / "state" / guest / "record.json");
    if (text.empty()) return std::nullopt;
    boost::system::error_code ec;
    auto v = json::parse(text, ec);
    if (ec) return std::nullopt;
    return static_cast<pid_t>(v.at("pid").to_number<std::int64_t>());
  }

  bool wait_state(const std::string& name, const std::string& wanted, std::chrono::milliseconds timeout = 120s) {
    return wait_until([&] { return state(name) == wanted; }, timeout);
  }

  // Waits for the guest's "VNUMA READY" and returns its parsed view.
  qemu::guest_view wait_guest_ready(const std::string& name, std::chrono::milliseconds timeout = 180s) {
    qemu::guest_view view;
    bool ready = wait_until(
        [&] {
          auto v = qemu::parse_guest_view(read_text(serial(name)));
          if (v && v->ready) view = *v;
          return v && v->ready;
        },
        timeout);
    BOOST_TEST_REQUIRE(ready, "guest " << name << " did not print VNUMA READY; serial:\n"
                                       << read_text(serial(name)) << "\nQEMU log:\n"
                                       << read_text(dir / "log" / (name + ".log")));
    return view;
  }

  // The expanded domain the guest runs, as the daemon reports it.
  config::domain running_domain(const std::string& name) {
    auto xml = call("domxml", {{"name", name}});
    BOOST_TEST_REQUIRE(xml.has_value());
    auto d = config::parse_domain_string(std::string(xml->as_string()), "domxml");
    BOOST_TEST_REQUIRE(d.has_value());
    return *d;
  }

  fs::path dir;
  pid_t pid = -1;

 private:
  std::optional<fs::path> topology_;
  std::error_code ec_;
};

// Cpus_allowed_list of each vCPU thread, by vCPU id (from vcpuinfo's thread
// ids, read back from /proc independently of the daemon).
inline std::map<unsigned, config::id_set> vcpu_affinities(daemon_fixture& d, const std::string& name) {
  std::map<unsigned, config::id_set> out;
  auto info = d.call("vcpuinfo", {{"name", name}});
  if (!info) return out;
  pid_t pid = d.guest_pid(name).value_or(0);
  for (const auto& v : info->at("vcpus").as_array()) {
    if (!v.as_object().contains("thread_id")) continue;
    auto tid = v.at("thread_id").to_number<std::int64_t>();
    const std::string list = status_value(
        "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status", "Cpus_allowed_list");
    if (list.empty()) continue;
    if (auto set = config::parse_id_set(list)) out[static_cast<unsigned>(v.at("vcpu").to_number<std::int64_t>())] = *set;
  }
  return out;
}

// Every vCPU thread's Cpus_allowed_list equals the <vcpupin> of the domain
// the guest runs, and `expected_vcpus` have a thread.
inline void check_vcpu_pins(daemon_fixture& d, const std::string& name, unsigned expected_vcpus) {
  auto running = d.running_domain(name);
  BOOST_REQUIRE(running.cputune.has_value());
  auto affinities = vcpu_affinities(d, name);
  BOOST_TEST(affinities.size() == expected_vcpus);
  for (const auto& pin : running.cputune->vcpupins) {
    if (!affinities.contains(pin.vcpu)) continue;
    BOOST_TEST(config::format_id_set(affinities[pin.vcpu]) == config::format_id_set(pin.cpuset),
               "vCPU " << pin.vcpu);
  }
}

}  // namespace vnumad::testing
