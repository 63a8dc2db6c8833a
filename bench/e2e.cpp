// End to end with real QEMU (TCG), issue 7:
//  - start: from the domain file landing in the config dir (rename) to the
//    daemon's "running" state event, which it sends only after every vCPU is
//    pinned and `cont` succeeded; and from a `start` request on the control
//    socket to the same event (the same path minus the config watcher's
//    quiet period);
//  - the same guest started by hand: QEMU with the very argv vnumad used
//    (read from /proc/PID/cmdline), -S, QMP qmp_capabilities + cont. The
//    difference is the supervisor's overhead (target <= 20 ms);
//  - destroy: the `destroy` request's round trip (QEMU gone when it returns),
//    against QMP quit + waitpid by hand;
//  - setvcpus: 4 -> 8 vCPUs on a booted Linux guest (the test guest image),
//    and back to 4 last (TCG aborts QEMU on a device_add after an unplug).
// Firmware-only guests (no kernel) suffice for start and destroy.
#include "bench_support.hpp"

#include "qemu/guest_log.hpp"

#include <cerrno>
#include <cstring>
#include <sys/socket.h>
#include <sys/un.h>

using namespace vnumad;
using namespace vnumad::bench;

namespace {

// ---- QEMU by hand ------------------------------------------------------------------

std::vector<std::string> read_cmdline(pid_t pid) {
  std::string raw = read_text("/proc/" + std::to_string(pid) + "/cmdline");
  std::vector<std::string> out;
  for (std::size_t pos = 0; pos < raw.size();) {
    auto end = raw.find('\0', pos);
    if (end == std::string::npos) end = raw.size();
    out.push_back(raw.substr(pos, end - pos));
    pos = end + 1;
  }
  return out;
}

std::string qmp_path(const std::vector<std::string>& argv) {
  for (const auto& a : argv)
    if (a.rfind("socket,id=charmonitor,", 0) == 0) {
      auto p = a.find("path=");
      return a.substr(p + 5, a.find(',', p) - p - 5);
    }
  return "";
}

// A blocking QMP connection: just enough for capabilities, cont and quit.
class qmp_line_client {
 public:
  ~qmp_line_client() {
    if (fd_ >= 0) ::close(fd_);
  }
  bool try_connect(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strncpy(addr.sun_path, path.c_str(), sizeof addr.sun_path - 1);
    if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return true;
    ::close(fd_);
    fd_ = -1;
    return false;
  }
  // Sends the command and reads lines until its {"return"...} (events are skipped).
  bool execute(const std::string& command) {
    std::string line = "{\"execute\":\"" + command + "\"}\n";
    if (::send(fd_, line.data(), line.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(line.size())) return false;
    for (;;) {
      auto reply = read_line();
      if (!reply) return false;
      if (reply->find("\"return\"") != std::string::npos) return true;
      if (reply->find("\"error\"") != std::string::npos) return false;
    }
  }
  std::optional<std::string> read_line() {
    for (;;) {
      if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return line;
      }
      char chunk[4096];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return std::nullopt;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  int fd_ = -1;
  std::string buffer_;
};

struct bare_figures {
  double start_ms = -1, quit_ms = -1;
};

// Spawn -> QMP socket connectable (tried every 1 ms) -> greeting ->
// qmp_capabilities -> cont returned; then quit -> reaped.
bare_figures run_bare(std::vector<std::string> argv, const fs::path& log) {
  bare_figures f;
  std::string socket = qmp_path(argv);
  std::error_code ec;
  fs::create_directories(fs::path(socket).parent_path(), ec);
  fs::remove(socket, ec);
  auto t0 = clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    unblock_signals_in_child();
    int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> args;
    for (auto& a : argv) args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  qmp_line_client qmp;
  bool ok = false;
  while (clock::now() - t0 < 30s) {
    if (qmp.try_connect(socket)) {
      ok = qmp.read_line() && qmp.execute("qmp_capabilities") && qmp.execute("cont");
      break;
    }
    if (::waitpid(pid, nullptr, WNOHANG) == pid) {
      pid = -1;
      break;
    }
    std::this_thread::sleep_for(1ms);
  }
  if (ok) f.start_ms = ms_since(t0);
  if (pid > 0) {
    auto q0 = clock::now();
    if (ok) (void)qmp.execute("quit");
    else ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
    if (ok) f.quit_ms = ms_since(q0);
  }
  return f;
}

// The argv with every vCPU on the command line (-smp MAX,maxcpus=MAX,...):
// vnumad boots with the non-hotpluggable vCPUs only and device_adds the
// others before `cont` (so that setvcpus can unplug them later), which the
// same-argv baseline does not do.
std::vector<std::string> with_all_vcpus(std::vector<std::string> argv) {
  for (std::size_t i = 0; i + 1 < argv.size(); ++i)
    if (argv[i] == "-smp") {
      std::string& v = argv[i + 1];
      auto max = v.find("maxcpus=");
      if (max == std::string::npos) break;
      std::string n = v.substr(max + 8, v.find(',', max) - max - 8);
      v = n + v.substr(v.find(','));
    }
  return argv;
}

// ---- report ------------------------------------------------------------------------

void row(const char* what, const std::vector<double>& v, const char* target = "", int pass = -1) {
  auto s = summarize(v);
  std::printf("  %-44s %4zu %9.1f %9.1f %9.1f %9.1f  %-10s %s\n", what, s.n, s.median, s.min, s.max, s.max - s.min,
              target, pass < 0 ? "" : verdict(pass == 1));
}

void header() {
  std::printf("  %-44s %4s %9s %9s %9s %9s  %-10s\n", "figure (ms)", "n", "median", "min", "max", "spread",
              "target");
}

int start_and_destroy(int runs) {
  daemon_process d("overcommit = true\n");
  event_stream events(d);
  std::vector<double> file_ms, verb_ms, verb_reply_ms, destroy_ms, bare_ms, bare_full_ms, bare_quit_ms;
  std::vector<double> overhead_verb, overhead_file, overhead_full;
  for (int i = 0; i < runs; ++i) {
    guest_spec g{.name = unique_name("e2e" + std::to_string(i)), .vcpus = 4, .cells = 2, .memory_mib = 256};
    std::string failure;
    // 1. The file lands.
    auto staged = d.stage(g);
    auto t0 = clock::now();
    d.land(staged, g.name);
    auto running = events.wait_state(g.name, "running", 60s, &failure);
    if (!running) {
      std::fprintf(stderr, "bench_e2e: %s did not start: %s\n%s\n", g.name.c_str(), failure.c_str(),
                   read_text(d.dir / "vnumad.log").c_str());
      return 1;
    }
    file_ms.push_back(std::chrono::duration<double, std::milli>(*running - t0).count());
    auto pid = d.guest_pid(g.name);
    auto argv = pid ? read_cmdline(*pid) : std::vector<std::string>{};
    if (argv.empty() || qmp_path(argv).empty()) {
      std::fprintf(stderr, "bench_e2e: cannot read QEMU's command line for %s\n", g.name.c_str());
      return 1;
    }
    // 2. destroy: the reply comes once QEMU is gone.
    t0 = clock::now();
    auto destroyed = d.call("destroy", {{"name", g.name}});
    destroy_ms.push_back(ms_since(t0));
    if (!destroyed || pid_alive(*pid)) {
      std::fprintf(stderr, "bench_e2e: destroy %s failed\n", g.name.c_str());
      return 1;
    }
    // 3. start request -> running event.
    t0 = clock::now();
    auto started = d.call("start", {{"name", g.name}});
    verb_reply_ms.push_back(ms_since(t0));
    running = events.wait_state(g.name, "running", 60s, &failure);
    if (!started || !running) {
      std::fprintf(stderr, "bench_e2e: start %s failed: %s\n", g.name.c_str(),
                   started ? failure.c_str() : started.error().message.c_str());
      return 1;
    }
    verb_ms.push_back(std::chrono::duration<double, std::milli>(*running - t0).count());
    t0 = clock::now();
    if (!d.call("destroy", {{"name", g.name}})) return 1;
    destroy_ms.push_back(ms_since(t0));
    // 4. The same QEMU by hand.
    auto bare = run_bare(argv, d.dir / "log" / "bare.log");
    if (bare.start_ms < 0) {
      std::fprintf(stderr, "bench_e2e: bare QEMU did not start; log:\n%s\n", read_text(d.dir / "log" / "bare.log").c_str());
      return 1;
    }
    auto full = run_bare(with_all_vcpus(argv), d.dir / "log" / "bare.log");
    if (full.start_ms < 0) {
      std::fprintf(stderr, "bench_e2e: bare QEMU (-smp %u) did not start; log:\n%s\n", g.vcpus,
                   read_text(d.dir / "log" / "bare.log").c_str());
      return 1;
    }
    bare_ms.push_back(bare.start_ms);
    bare_full_ms.push_back(full.start_ms);
    bare_quit_ms.push_back(bare.quit_ms);
    bare_quit_ms.push_back(full.quit_ms);
    overhead_verb.push_back(verb_ms.back() - bare.start_ms);
    overhead_file.push_back(file_ms.back() - bare.start_ms);
    overhead_full.push_back(verb_ms.back() - full.start_ms);
    fs::remove(d.domain_file(g.name));
  }
  std::printf("\nStart and destroy: firmware-only guest, 4 vCPUs in 2 cells, 256 MiB, TCG, %d runs\n", runs);
  header();
  row("file lands -> running (all vCPUs pinned)", file_ms);
  row("start request -> running", verb_ms);
  row("start request -> reply", verb_reply_ms);
  row("bare QEMU, same argv: exec -> cont returned", bare_ms);
  row("bare QEMU, -smp 4: exec -> cont returned", bare_full_ms);
  auto ov = summarize(overhead_verb).median;
  auto of = summarize(overhead_file).median;
  auto oa = summarize(overhead_full).median;
  std::printf("  overhead = vnumad - bare of the same run (median of the per-run differences):\n");
  row("overhead: start request - bare same argv", overhead_verb, "<= 20", ov <= 20 ? 1 : 0);
  row("overhead: start request - bare -smp 4", overhead_full, "<= 20", oa <= 20 ? 1 : 0);
  row("overhead: file lands - bare same argv", overhead_file, "<= 20", of <= 20 ? 1 : 0);
  row("destroy request -> reply (QEMU gone)", destroy_ms);
  row("bare QEMU: QMP quit -> reaped", bare_quit_ms);
  return ov <= 20 && of <= 20 && oa <= 20 ? 0 : 3;
}

// ---- setvcpus on a booted guest -----------------------------------------------------

bool wait_serial(const daemon_process& d, const std::string& name, const std::function<bool(const qemu::guest_view&)>& done,
                 std::chrono::seconds timeout) {
  auto deadline = clock::now() + timeout;
  while (clock::now() < deadline) {
    auto v = qemu::parse_guest_view(read_text(d.serial(name)));
    if (v && done(*v)) return true;
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

int setvcpus(int runs) {
  if (!fs::exists(guest_image / "vmlinuz")) {
    std::printf("\nsetvcpus: SKIPPED, no guest image at %s (scripts/make-test-guest.sh %s)\n", guest_image.c_str(),
                guest_image.c_str());
    return 0;
  }
  daemon_process d("overcommit = true\n");
  event_stream events(d);
  std::vector<double> plug_ms, seen_ms, unplug_ms;
  for (int i = 0; i < runs; ++i) {
    guest_spec g{.name = unique_name("hot" + std::to_string(i)), .vcpus = 8, .cells = 4, .current = 4,
                 .memory_mib = 512, .boot_linux = true};
    g.serial_log = d.serial(g.name);
    std::string failure;
    d.land(d.stage(g), g.name);
    if (!events.wait_state(g.name, "running", 60s, &failure) ||
        !wait_serial(d, g.name, [](const qemu::guest_view& v) { return v.ready && !v.ticks.empty(); }, 300s)) {
      std::fprintf(stderr, "bench_e2e: guest %s did not boot: %s\nserial:\n%s\n", g.name.c_str(), failure.c_str(),
                   read_text(d.serial(g.name)).c_str());
      return 1;
    }
    auto t0 = clock::now();
    auto up = d.call("setvcpus", {{"name", g.name}, {"count", 8}});
    plug_ms.push_back(ms_since(t0));
    if (!up || up->at("online").as_string() != "0-7") {
      std::fprintf(stderr, "bench_e2e: setvcpus 8 on %s failed: %s\n", g.name.c_str(),
                   up ? json::serialize(*up).c_str() : up.error().message.c_str());
      return 1;
    }
    // The guest's /init onlines hot-added CPUs once a second: this figure is
    // quantized by that tick.
    if (!wait_serial(d, g.name, [](const qemu::guest_view& v) {
          return !v.ticks.empty() && v.ticks.back().online.size() == 8;
        }, 60s)) {
      std::fprintf(stderr, "bench_e2e: %s never saw 8 CPUs online\n", g.name.c_str());
      return 1;
    }
    seen_ms.push_back(ms_since(t0));
    t0 = clock::now();
    auto down = d.call("setvcpus", {{"name", g.name}, {"count", 4}, {"timeout_ms", 60000}});
    unplug_ms.push_back(ms_since(t0));
    if (!down) {
      std::fprintf(stderr, "bench_e2e: setvcpus 4 on %s failed: %s\n", g.name.c_str(), down.error().message.c_str());
      return 1;
    }
    (void)d.call("destroy", {{"name", g.name}});
    fs::remove(d.domain_file(g.name));
  }
  std::printf("\nsetvcpus: booted Linux guest (test image), 8 vCPUs max in 4 cells, 512 MiB, TCG, %d runs\n", runs);
  header();
  row("setvcpus 4 -> 8 (plug + pin), reply", plug_ms);
  row("  ... until the guest has 8 CPUs online", seen_ms);
  row("setvcpus 8 -> 4 (guest acks unplug), reply", unplug_ms);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  install_cleanup_on_signal();
  int runs = 10, hot_runs = 3;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--runs" && i + 1 < argc) runs = std::stoi(argv[++i]);
    else if (a == "--setvcpus-runs" && i + 1 < argc) hot_runs = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_e2e [--runs N (10)] [--setvcpus-runs N (3, 0 = skip)]\n");
      return 2;
    }
  }
  std::printf("bench_e2e: vnumad end to end with real QEMU (%s)\n", (binary_dir / "vnumad").c_str());
  print_conditions("before");
  int status = 0;
  try {
    // Over target (3) still runs setvcpus: its figures stand on their own.
    status = start_and_destroy(runs);
    if (status != 1 && hot_runs > 0 && setvcpus(hot_runs) != 0) status = 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_e2e: %s\n", e.what());
    status = 1;
  }
  print_conditions("after");
  return status;
}
