// Shared by the live benchmarks (e2e, footprint, control): a real vnumad on
// temp dirs, an event stream, small domain XML, figures from /proc, and
// statistics. Cleanup is thorough because a benchmark that leaves QEMUs or
// cgroups behind spoils the next run's figures: guests are destroyed, the
// daemon stopped, left-over QEMUs killed, cgroups and temp dirs removed, also
// on SIGINT/SIGTERM (a watcher thread does it, see install_cleanup_on_signal).
#pragma once

#include "reactor/control_client.hpp"
#include "../tests/support/files_and_processes.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <fcntl.h>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <sys/wait.h>
#include <thread>
#include <tuple>
#include <unistd.h>
#include <vector>

namespace vnumad::bench {

namespace fs = std::filesystem;
namespace json = boost::json;
using namespace std::chrono_literals;
using clock = std::chrono::steady_clock;

inline const fs::path binary_dir = VNUMAD_BINARY_DIR;
inline const fs::path guest_image = binary_dir / "guest";

inline double ms_since(clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(clock::now() - t0).count();
}

using testing::read_text;
using testing::write_text;
using testing::pid_alive;

// ---- statistics -------------------------------------------------------------

struct stats {
  std::size_t n = 0;
  double min = 0, median = 0, p99 = 0, max = 0;
};

// Nearest-rank percentiles.
inline stats summarize(std::vector<double> v) {
  stats s;
  if (v.empty()) return s;
  std::sort(v.begin(), v.end());
  auto rank = [&](double q) {
    std::size_t r = static_cast<std::size_t>(q * static_cast<double>(v.size()) + 0.999999);
    return v[std::clamp<std::size_t>(r, 1, v.size()) - 1];
  };
  s.n = v.size();
  s.min = v.front();
  s.median = rank(0.5);
  s.p99 = rank(0.99);
  s.max = v.back();
  return s;
}

inline const char* verdict(bool ok) { return ok ? "PASS" : "OVER TARGET"; }

// ---- machine and process figures ---------------------------------------------

inline std::string loadavg() {
  std::string s = read_text("/proc/loadavg");
  auto third = s.find(' ', s.find(' ', s.find(' ') + 1) + 1);
  return s.substr(0, third);
}

inline bool fuzzing_running() { return fs::exists("/tmp/vnumad-fuzzing"); }

inline void print_conditions(const char* what) {
  std::printf("%s: loadavg %s, /tmp/vnumad-fuzzing %s\n", what, loadavg().c_str(),
              fuzzing_running() ? "present (libFuzzer running on one core)" : "absent");
}

struct proc_usage {
  std::uint64_t rss_kb = 0, hwm_kb = 0;
  double cpu_s = 0;  // utime + stime
};

inline proc_usage read_usage(pid_t pid) {
  proc_usage u;
  std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/status"));
  for (std::string line; std::getline(status, line);) {
    if (line.rfind("VmRSS:", 0) == 0) u.rss_kb = std::stoull(line.substr(6));
    if (line.rfind("VmHWM:", 0) == 0) u.hwm_kb = std::stoull(line.substr(6));
  }
  // Fields 14 and 15 of /proc/PID/stat, counted after the ")" of comm.
  std::string stat = read_text("/proc/" + std::to_string(pid) + "/stat");
  if (auto close = stat.rfind(')'); close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    std::uint64_t utime = 0, stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) {
      if (i == 14) utime = std::stoull(field);
      if (i == 15) stime = std::stoull(field);
    }
    u.cpu_s = static_cast<double>(utime + stime) / static_cast<double>(::sysconf(_SC_CLK_TCK));
  }
  return u;
}


// ---- domain XML ----------------------------------------------------------------

struct guest_spec {
  std::string name;
  unsigned vcpus = 2;
  unsigned cells = 1;
  std::optional<unsigned> current;
  unsigned memory_mib = 128;
  bool boot_linux = false;  // the test guest image (scripts/make-test-guest.sh), else firmware only
  // false: a libvirt-style domain without <vnuma> (vCPUs float over host CPUs
  // 0-1, no locked memory). An expanded <vnuma> guest gets mem-lock=on, and
  // under TCG QEMU then locks its 1 GiB translation buffer too (~1.2 GB RSS
  // per guest): 50 of those do not fit this machine.
  bool vnuma = true;
  fs::path serial_log;      // with boot_linux: the console goes here
};

inline std::string domain_xml(const guest_spec& g) {
  std::ostringstream x;
  x << "<domain type='qemu'>\n  <name>" << g.name << "</name>\n"
    << "  <memory unit='MiB'>" << g.memory_mib << "</memory>\n  <vcpu placement='static'";
  if (!g.vnuma) x << " cpuset='0-1'";
  if (g.current) x << " current='" << *g.current << "'";
  x << ">" << g.vcpus << "</vcpu>\n";
  if (g.vnuma)
    x << "  <vnuma mode='node' distribution='contiguous'>\n    <partition nodeset='0' cells='" << g.cells
      << "'/>\n  </vnuma>\n";
  x << "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n";
  if (g.boot_linux)
    x << "    <kernel>" << (guest_image / "vmlinuz").string() << "</kernel>\n"
      << "    <initrd>" << (guest_image / "initrd.gz").string() << "</initrd>\n"
      << "    <cmdline>console=ttyS0 loglevel=1 swiotlb=noforce nokaslr</cmdline>\n";
  x << "  </os>\n  <features><acpi/><apic/></features>\n"
    << "  <cpu mode='custom' match='exact'><model fallback='allow'>max</model><vendor>GenuineIntel</vendor></cpu>\n"
    << "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>restart</on_reboot>\n  <on_crash>destroy</on_crash>\n"
    << "  <devices>\n";
  if (g.boot_linux)
    x << "    <serial type='file'><source path='" << g.serial_log.string() << "'/><target port='0'/></serial>\n";
  x << "  </devices>\n</domain>\n";
  return x.str();
}

// In a forked child before exec: the bench blocks SIGINT/SIGTERM/SIGHUP in
// all its threads (install_cleanup_on_signal), and a blocked mask survives
// exec, so vnumad would never see its SIGTERM.
inline void unblock_signals_in_child() {
  sigset_t none;
  sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

// ---- emergency cleanup ---------------------------------------------------------

class daemon_process;

// Daemons alive in this process, for the signal watcher.
struct registry {
  std::mutex mutex;
  std::set<daemon_process*> daemons;
  static registry& get() {
    static registry r;
    return r;
  }
};

// ---- the daemon ----------------------------------------------------------------------

// A vnumad process with its own config, state and log dirs and socket, all in
// one temp dir. Guest names should carry the bench's pid (unique_name) so
// that the cgroups this removes are only ever ours.
class daemon_process {
 public:
  // `before_start` runs once the dirs exist, before vnumad does (e.g. to put
  // guests in the config dir, as at boot).
  explicit daemon_process(std::string conf_extra = "", std::string log_level = "info",
                          const std::function<void(const daemon_process&)>& before_start = {}) {
    char tmpl[] = "/tmp/vnumad-bench-XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir = tmpl;
    // QEMU runs as vnumad-qemu (runas's default) and must reach its own
    // folder in the state dir below this one: mkdtemp's 0700 would stop it.
    fs::permissions(dir, fs::perms(0711));
    fs::create_directories(dir / "domains.d");
    fs::create_directories(dir / "log");
    write_text(dir / "vnumad.conf", "shutdown_timeout = 5\nreserved_cpus = none\n" + conf_extra);
    {
      std::lock_guard lock(registry::get().mutex);
      registry::get().daemons.insert(this);
    }
    if (before_start) before_start(*this);
    try {
      start(log_level);
    } catch (...) {
      kill_everything(SIGKILL);  // no destructor runs for a constructor that throws
      std::lock_guard lock(registry::get().mutex);
      registry::get().daemons.erase(this);
      throw;
    }
  }
  ~daemon_process() {
    shutdown();
    std::lock_guard lock(registry::get().mutex);
    registry::get().daemons.erase(this);
  }
  daemon_process(const daemon_process&) = delete;
  daemon_process& operator=(const daemon_process&) = delete;

  fs::path socket() const { return dir / "vnumad.sock"; }
  fs::path domain_file(const std::string& guest) const { return dir / "domains.d" / (guest + ".xml"); }
  fs::path serial(const std::string& guest) const { return dir / "log" / (guest + ".serial"); }

  // Writes the XML beside the config dir; land() renames it in, as an
  // operator's tooling would, so the benchmark can time exactly the landing.
  fs::path stage(const guest_spec& g) const {
    fs::path tmp = dir / (g.name + ".xml.new");
    write_text(tmp, domain_xml(g));
    return tmp;
  }
  void land(const fs::path& staged, const std::string& guest) const { fs::rename(staged, domain_file(guest)); }

  result<json::value> call(const std::string& op, json::object args = {}, std::chrono::milliseconds timeout = 60s) const {
    reactor::control_client c;
    if (auto ok = c.connect(socket().string()); !ok) return ok.error();
    return c.call(op, args, timeout);
  }

  std::optional<pid_t> guest_pid(const std::string& name) const {
    auto info = call("dominfo", {{"name", name}}, 10s);
    if (!info || !info->as_object().contains("pid")) return std::nullopt;
    return static_cast<pid_t>(info->at("pid").to_number<std::int64_t>());
  }

  // Destroys every guest, stops the daemon, kills any QEMU left over, removes
  // the guests' cgroups and the temp dir. Safe to call twice.
  void shutdown() {
    std::lock_guard lock(mutex_);
    if (dir.empty()) return;
    std::vector<std::string> names;
    if (pid > 0)
      if (auto r = call("list", {}, 5s))
        for (const auto& g : r->as_array()) names.emplace_back(g.at("name").as_string());
    for (const auto& name : names) (void)call("destroy", {{"name", name}}, 30s);
    kill_everything(SIGTERM);
  }

  // Also used from the signal watcher: no control-socket calls, just kills.
  void kill_everything(int daemon_signal) {
    if (pid > 0) {
      ::kill(pid, daemon_signal);
      int status = 0;
      ::waitpid(pid, &status, 0);
      pid = -1;
    }
    std::error_code ec;
    std::set<std::string> guests;
    std::vector<pid_t> killed;
    for (const auto& entry : fs::directory_iterator(dir / "state", ec)) {
      std::string name = entry.path().filename().string();
      guests.insert(name);
      std::string text = read_text(entry.path() / "record.json");
      boost::system::error_code jec;
      auto v = json::parse(text, jec);
      if (!jec && v.is_object() && v.as_object().contains("pid")) {
        auto qemu = static_cast<pid_t>(v.at("pid").to_number<std::int64_t>());
        if (::kill(qemu, SIGKILL) == 0) killed.push_back(qemu);
      }
    }
    // A cgroup with tasks cannot be removed: let the killed QEMUs go first
    // (they are init's children once the daemon is gone, so init reaps them).
    auto deadline = clock::now() + 5s;
    for (pid_t qemu : killed)
      while (pid_alive(qemu) && clock::now() < deadline) std::this_thread::sleep_for(10ms);
    for (const auto& entry : fs::directory_iterator(dir / "domains.d", ec))
      guests.insert(entry.path().stem().string());
    for (const auto& name : guests) remove_cgroups(name);
    fs::remove_all(dir, ec);
    dir.clear();
  }

  // The daemon's log lines that report a failure (ERROR, or a start that
  // failed), for a benchmark that must say why a run fell short.
  std::string failure_lines(std::size_t max_lines = 5) const {
    std::istringstream in(read_text(dir / "vnumad.log"));
    std::string out;
    std::size_t n = 0;
    for (std::string line; std::getline(in, line) && n < max_lines;)
      if (line.find("ERROR") != std::string::npos || line.find("failed") != std::string::npos) {
        out += "    " + line + "\n";
        ++n;
      }
    return out;
  }

  fs::path dir;
  pid_t pid = -1;

 private:
  void start(const std::string& log_level) {
    std::vector<std::string> args = {(binary_dir / "vnumad").string(),
                                     "--config", (dir / "vnumad.conf").string(),
                                     "--config-dir", (dir / "domains.d").string(),
                                     "--state-dir", (dir / "state").string(),
                                     "--socket", socket().string(),
                                     "--log-dir", (dir / "log").string(),
                                     "--log-level", log_level};
    pid = ::fork();
    if (pid == 0) {
      unblock_signals_in_child();
      int fd = ::open((dir / "vnumad.log").c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
      ::dup2(fd, 1);
      ::dup2(fd, 2);
      std::vector<char*> argv;
      for (auto& a : args) argv.push_back(a.data());
      argv.push_back(nullptr);
      ::execv(argv[0], argv.data());
      ::_exit(127);
    }
    auto deadline = clock::now() + 20s;
    while (!fs::exists(socket())) {
      if (clock::now() > deadline || !pid_alive(pid))
        throw std::runtime_error("vnumad did not create its socket; log:\n" + read_text(dir / "vnumad.log"));
      std::this_thread::sleep_for(5ms);
    }
  }

  // The daemon removes a guest's cgroups when the guest stops; these are
  // what a killed daemon could leave (vnumad/NAME and its children, in every
  // hierarchy that has them).
  static void remove_cgroups(const std::string& guest) {
    std::error_code ec;
    for (const fs::path root : {"/sys/fs/cgroup/cpuset", "/sys/fs/cgroup"}) {
      fs::path group = root / "vnumad" / guest;
      if (!fs::is_directory(group, ec)) continue;
      for (const auto& child : fs::directory_iterator(group, ec))
        if (child.is_directory(ec)) ::rmdir(child.path().c_str());
      ::rmdir(group.c_str());
    }
  }

  std::mutex mutex_;
};

// SIGINT/SIGTERM/SIGHUP are blocked in every thread; one thread waits for
// them, kills and cleans up every live daemon, and exits. Call first in main,
// before any thread starts.
inline void install_cleanup_on_signal() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGHUP);
  ::pthread_sigmask(SIG_BLOCK, &set, nullptr);
  std::thread([set] {
    int sig = 0;
    ::sigwait(&set, &sig);
    std::fprintf(stderr, "\nbench: signal %d, cleaning up\n", sig);
    std::lock_guard lock(registry::get().mutex);
    for (auto* d : registry::get().daemons) d->kill_everything(SIGKILL);
    ::_exit(128 + sig);
  }).detach();
}

inline std::string unique_name(const std::string& base) { return "b" + std::to_string(::getpid()) + "-" + base; }

// A string member of a JSON object, compared.
inline bool field_is(const json::object& o, std::string_view key, std::string_view value) {
  auto it = o.find(key);
  return it != o.end() && it->value().is_string() && it->value().get_string() == value;
}

// ---- events ---------------------------------------------------------------------

// A subscribed connection ("events") read by its own thread, which stamps
// every event with the time it arrived. So an event that comes in while the
// benchmark still waits for a reply on another connection keeps its true
// arrival time.
class event_stream {
 public:
  explicit event_stream(const daemon_process& d) {
    if (auto ok = client_.connect(d.socket().string()); !ok) throw std::runtime_error(ok.error().message);
    if (auto sub = client_.call("events", {}, 10s); !sub) throw std::runtime_error(sub.error().message);
    reader_ = std::thread([this] {
      for (;;) {
        auto ev = client_.next_event(std::chrono::milliseconds(200));
        std::lock_guard lock(mutex_);
        if (stop_) return;
        if (ev) {
          events_.emplace_back(clock::now(), std::move(*ev), false);
          arrived_.notify_all();
        } else if (ev.error().code != errc::timeout) {
          closed_ = true;
          arrived_.notify_all();
          return;
        }
      }
    });
  }
  ~event_stream() {
    {
      std::lock_guard lock(mutex_);
      stop_ = true;
    }
    reader_.join();
  }
  event_stream(const event_stream&) = delete;
  event_stream& operator=(const event_stream&) = delete;

  // Arrival time of the first event not yet consumed for which `match`
  // holds; that event is consumed, the others stay for later waits (guests
  // started together reach "running" in any order). nullopt on timeout. An
  // "error" event not yet consumed ends the wait too, with the event in
  // `failure`.
  std::optional<clock::time_point> wait(const std::function<bool(const json::object&)>& match,
                                        std::chrono::milliseconds timeout, std::string* failure = nullptr) {
    std::unique_lock lock(mutex_);
    auto deadline = clock::now() + timeout;
    for (;;) {
      for (std::size_t i = 0; i < events_.size(); ++i) {
        auto& [when, ev, consumed] = events_[i];
        if (consumed) continue;
        if (match(ev)) {
          consumed = true;
          return when;
        }
        if (failure && field_is(ev, "event", "error")) {
          consumed = true;
          *failure = json::serialize(ev);
          return std::nullopt;
        }
      }
      if (closed_ || arrived_.wait_until(lock, deadline) == std::cv_status::timeout) return std::nullopt;
    }
  }
  std::optional<clock::time_point> wait_state(const std::string& guest, const std::string& state,
                                              std::chrono::milliseconds timeout, std::string* failure = nullptr) {
    return wait(
        [&](const json::object& ev) {
          return field_is(ev, "event", "state") && field_is(ev, "guest", guest) && field_is(ev, "state", state);
        },
        timeout, failure);
  }

 private:
  reactor::control_client client_;
  std::mutex mutex_;
  std::condition_variable arrived_;
  std::vector<std::tuple<clock::time_point, json::object, bool>> events_;  // arrival, event, consumed
  bool stop_ = false, closed_ = false;
  std::thread reader_;
};

}  // namespace vnumad::bench
