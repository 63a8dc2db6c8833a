// Shared by the integration tests: a real vnumad process on temp dirs, a
// control client, domain XML for the test guest, and polling helpers.
#pragma once

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

inline const fs::path guest_image = fs::path(VNUMAD_BINARY_DIR) / "guest";
inline const fs::path vnumad_binary = fs::path(VNUMAD_BINARY_DIR) / "vnumad";
inline const fs::path vnumactl_binary = fs::path(VNUMAD_BINARY_DIR) / "vnumactl";

// Polls `done` every 100 ms until it holds or `timeout` passes.
inline bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    std::this_thread::sleep_for(100ms);
  }
  return done();
}

// Options for the test guest's domain XML.
struct guest_spec {
  std::string name;
  unsigned vcpus = 8;
  unsigned cells = 4;
  std::optional<unsigned> current;
  std::string distribution = "contiguous";
  std::string memory_mib = "1024";
  std::string on_crash = "destroy";
  std::string on_poweroff = "destroy";
  std::optional<std::string> max_memory_mib;  // with 4 slots
  std::string kernel = (guest_image / "vmlinuz").string();
  // No 64 MiB swiotlb bounce buffer (it would come out of one node's
  // MemTotal), and no KASLR: the kernel image then always sits in node 0.
  // Hot-added memory goes online movable, so that the guest can always
  // offline it again (detach-memory): kernel allocations in a normal zone
  // would pin it.
  std::string extra_cmdline = "swiotlb=noforce nokaslr memhp_default_state=online_movable";
  std::string cpu = "<cpu mode='custom' match='exact'><model fallback='allow'>max</model><vendor>GenuineIntel</vendor></cpu>";
};

inline std::string domain_xml(const guest_spec& g, const fs::path& serial_log) {
  std::ostringstream x;
  x << "<domain type='qemu'>\n  <name>" << g.name << "</name>\n"
    << "  <memory unit='MiB'>" << g.memory_mib << "</memory>\n";
  if (g.max_memory_mib) x << "  <maxMemory slots='4' unit='MiB'>" << *g.max_memory_mib << "</maxMemory>\n";
  x << "  <vcpu placement='static'";
  if (g.current) x << " current='" << *g.current << "'";
  x << ">" << g.vcpus << "</vcpu>\n"
    << "  <vnuma mode='node' distribution='" << g.distribution << "'>\n"
    << "    <partition nodeset='0' cells='" << g.cells << "'/>\n  </vnuma>\n"
    << "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
    << "    <kernel>" << g.kernel << "</kernel>\n"
    << "    <initrd>" << (guest_image / "initrd.gz").string() << "</initrd>\n"
    << "    <cmdline>console=ttyS0 loglevel=1 " << g.extra_cmdline << "</cmdline>\n"
    << "  </os>\n  <features><acpi/><apic/></features>\n  " << g.cpu << "\n"
    << "  <on_poweroff>" << g.on_poweroff << "</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
    << "  <on_crash>" << g.on_crash << "</on_crash>\n"
    << "  <devices>\n    <serial type='file'><source path='" << serial_log.string()
    << "'/><target port='0'/></serial>\n  </devices>\n</domain>\n";
  return x.str();
}

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
    char tmpl[] = "/tmp/vnumad-it-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    // QEMU's user passes through to its folder in the state dir.
    fs::permissions(dir, fs::perms(0711));
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
    pid = ::fork();
    if (pid == 0) {
      int fd = ::open((dir / "vnumad.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
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

  void define(const guest_spec& g) {
    // Written elsewhere and renamed in, as an operator's tooling would.
    fs::path tmp = dir / (g.name + ".xml.new");
    write_text(tmp, domain_xml(g, serial(g.name)));
    fs::rename(tmp, domain_file(g.name));
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
    std::string status = read_text("/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status");
    auto pos = status.find("Cpus_allowed_list:");
    if (pos == std::string::npos) continue;
    std::string list = status.substr(pos + 18, status.find('\n', pos) - pos - 18);
    if (auto set = config::parse_id_set(list)) out[static_cast<unsigned>(v.at("vcpu").to_number<std::int64_t>())] = *set;
  }
  return out;
}

}  // namespace vnumad::testing
