// Daemon footprint (issue 7): vnumad's RSS (VmRSS, and the peak VmHWM) and
// CPU time (utime + stime) with 0, 1, 10 and 50 small paused guests, and its
// CPU use and wakeups (context switches of all its threads) while idle.
// Targets: <= 10 MB RSS at 50 guests; no CPU while idle (no polling).
// Guests are firmware-only, 1 vCPU, 64 MiB, TCG, libvirt-style (no <vnuma>:
// see guest_spec::vnuma, an expanded guest locks ~1.2 GB under TCG); each is
// paused (`suspend`) as soon as it runs, so that 50 of them do not load the
// host.
#include "bench_support.hpp"

using namespace vnumad;
using namespace vnumad::bench;

namespace {

std::uint64_t context_switches(pid_t pid) {
  std::uint64_t total = 0;
  std::error_code ec;
  for (const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) {
    std::istringstream status(read_text(task.path() / "status"));
    for (std::string line; std::getline(status, line);)
      if (line.find("ctxt_switches:") != std::string::npos) total += std::stoull(line.substr(line.find(':') + 1));
  }
  return total;
}

std::size_t thread_count(pid_t pid) {
  std::size_t n = 0;
  std::error_code ec;
  for ([[maybe_unused]] const auto& task : fs::directory_iterator("/proc/" + std::to_string(pid) + "/task", ec)) ++n;
  return n;
}

struct level_figures {
  unsigned guests = 0;
  proc_usage usage;
  std::size_t threads = 0;
  double start_cpu_s = 0;  // CPU the daemon spent bringing these guests up
  double idle_cpu_s = 0;
  std::uint64_t idle_wakeups = 0;
  double qemu_rss_mb = 0;  // mean per guest, for scale
};

}  // namespace

int main(int argc, char** argv) {
  install_cleanup_on_signal();
  int idle_seconds = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--idle-seconds" && i + 1 < argc) idle_seconds = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_footprint [--idle-seconds N (10)]\n");
      return 2;
    }
  }
  std::printf("bench_footprint: vnumad RSS and CPU with paused guests (%s)\n", (binary_dir / "vnumad").c_str());
  print_conditions("before");
  std::vector<level_figures> levels;
  try {
    daemon_process d("overcommit = true\n");
    event_stream events(d);
    std::vector<std::string> names;
    std::vector<pid_t> qemus;
    for (unsigned level : {0u, 1u, 10u, 50u}) {
      double cpu_before = read_usage(d.pid).cpu_s;
      // Land the files of this level at once, then pause each guest when it runs.
      std::vector<std::string> fresh;
      while (names.size() < level) {
        guest_spec g{.name = unique_name("fp" + std::to_string(names.size())), .vcpus = 1, .cells = 1,
                     .memory_mib = 64, .vnuma = false};
        d.land(d.stage(g), g.name);
        names.push_back(g.name);
        fresh.push_back(g.name);
      }
      for (const auto& name : fresh) {
        std::string failure;
        if (!events.wait_state(name, "running", 180s, &failure)) {
          std::fprintf(stderr, "bench_footprint: %s did not start: %s\n", name.c_str(), failure.c_str());
          return 1;
        }
        if (auto paused = d.call("suspend", {{"name", name}}); !paused) {
          std::fprintf(stderr, "bench_footprint: suspend %s: %s\n", name.c_str(), paused.error().message.c_str());
          return 1;
        }
        if (auto pid = d.guest_pid(name)) qemus.push_back(*pid);
      }
      level_figures f;
      f.guests = level;
      f.start_cpu_s = read_usage(d.pid).cpu_s - cpu_before;
      // Let the last replies and events drain before the idle window.
      std::this_thread::sleep_for(1s);
      auto idle0 = read_usage(d.pid).cpu_s;
      auto wake0 = context_switches(d.pid);
      std::this_thread::sleep_for(std::chrono::seconds(idle_seconds));
      f.idle_cpu_s = read_usage(d.pid).cpu_s - idle0;
      f.idle_wakeups = context_switches(d.pid) - wake0;
      f.usage = read_usage(d.pid);
      f.threads = thread_count(d.pid);
      double qemu_kb = 0;
      for (pid_t q : qemus) qemu_kb += static_cast<double>(read_usage(q).rss_kb);
      f.qemu_rss_mb = qemus.empty() ? 0 : qemu_kb / 1024.0 / static_cast<double>(qemus.size());
      levels.push_back(f);
      std::printf("  ... %u guests measured (loadavg %s)\n", level, loadavg().c_str());
    }
    d.shutdown();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_footprint: %s\n", e.what());
    return 1;
  }

  std::printf("\nDaemon footprint: paused firmware-only guests (1 vCPU, 64 MiB, no <vnuma>, TCG); idle window %d s\n", idle_seconds);
  std::printf("  %6s %9s %9s %7s %12s %12s %10s %14s  %s\n", "guests", "RSS MB", "HWM MB", "threads", "CPU total s",
              "CPU start s", "idle CPU s", "idle wakeups", "QEMU RSS MB/guest");
  for (const auto& f : levels)
    std::printf("  %6u %9.2f %9.2f %7zu %12.2f %12.2f %10.2f %14llu  %.1f\n", f.guests, f.usage.rss_kb / 1024.0,
                f.usage.hwm_kb / 1024.0, f.threads, f.usage.cpu_s, f.start_cpu_s, f.idle_cpu_s,
                static_cast<unsigned long long>(f.idle_wakeups), f.qemu_rss_mb);
  const auto& last = levels.back();
  bool rss_ok = last.usage.rss_kb <= 10 * 1024;
  bool idle_ok = true;
  for (const auto& f : levels) idle_ok = idle_ok && f.idle_cpu_s == 0;
  std::printf("\n  RSS at 50 guests: %.2f MB (target <= 10 MB): %s\n", last.usage.rss_kb / 1024.0, verdict(rss_ok));
  std::printf("  idle CPU: %s (target: zero; CPU time is counted in %ld Hz ticks)\n", verdict(idle_ok),
              ::sysconf(_SC_CLK_TCK));
  print_conditions("after");
  return rss_ok && idle_ok ? 0 : 1;
}
