// Boot storm (issue 11): N guests already in the config dir when vnumad
// starts, as after a host boot; from the daemon's start to READY=1 (a real
// NOTIFY_SOCKET) and to every guest running (polled with `list`), for each
// start_concurrency given: 1 is the serial start, the others concurrent. The
// highest "starting" count seen in STATUS= is printed beside the limit.
//
// Guests are cheap real ones: firmware-only TCG QEMU (no kernel, SeaBIOS
// idles), 128 MiB, no <vnuma> (so no locked memory: under TCG a locked guest
// also locks QEMU's 1 GiB translation buffer, and 20 of those do not fit).
// Their start is short and CPU-bound (spawn, QMP, cont), so on a small host
// concurrency gains little. --fake-delay S puts tests/integration/fake_qemu
// in front of QEMU, greeting S seconds late, as a QEMU does that first
// faults in a large locked RAM: the case start_concurrency is for.
//
//   bench_boot_storm [--guests N] [--limits 1,4,20] [--fake-delay S]
#include "bench_support.hpp"

#include "../tests/support/notify_socket.hpp"

#include <cstdlib>
#include <cstring>
#include <atomic>

using namespace vnumad;
using namespace vnumad::bench;

namespace {

struct run_figures {
  double ready_ms = -1, all_running_ms = -1;
  unsigned max_starting = 0, running = 0, failed = 0;
  std::string why;  // the daemon's failure lines, when not all ran
};

unsigned running_count(const daemon_process& d) {
  auto r = d.call("list", {}, 5s);
  if (!r) return 0;
  unsigned n = 0;
  for (const auto& g : r->as_array())
    if (field_is(g.as_object(), "state", "running")) ++n;
  return n;
}

// Reads the notify socket on its own thread, stamping each message as it
// arrives: vnumad's sd_notify blocks once the datagram queue is full
// (net.unix.max_dgram_qlen, 10 here), so a reader that also waits for the
// daemon's `list` replies would stall both and measure its own deadlock.
class notify_reader {
 public:
  notify_reader(const fs::path& path, clock::time_point t0) : socket_(path), t0_(t0) {
    thread_ = std::thread([this] {
      while (!stop_) {
        auto m = socket_.receive(50ms);
        if (!m) continue;
        std::lock_guard lock(mutex_);
        if (m->find("READY=1") != std::string::npos && ready_ms_ < 0) ready_ms_ = ms_since(t0_);
        if (auto s = testing::notify_socket::field(*m, "STATUS"))
          if (auto c = testing::parse_status(*s)) {
            max_starting_ = std::max(max_starting_, c->starting);
            failed_ = c->failed;
          }
      }
    });
  }
  ~notify_reader() {
    stop_ = true;
    thread_.join();
  }
  const fs::path& path() const { return socket_.path(); }
  void read_into(run_figures& f) {
    std::lock_guard lock(mutex_);
    f.ready_ms = ready_ms_;
    f.max_starting = max_starting_;
    f.failed = failed_;
  }

 private:
  testing::notify_socket socket_;
  clock::time_point t0_;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex mutex_;
  double ready_ms_ = -1;
  unsigned max_starting_ = 0, failed_ = 0;
};

run_figures run(unsigned guests, unsigned limit, unsigned fake_delay, const fs::path& plans) {
  run_figures f;
  std::string conf = "start_concurrency = " + std::to_string(limit) + "\n";
  if (fake_delay > 0) conf += "qemu_binary = " + (binary_dir / "fake-qemu" / "qemu-system-x86_64").string() + "\n";
  // Stopped before the daemon's teardown: nobody reads it then, and a closed
  // socket makes vnumad's sd_notify fail at once where a full one blocks it.
  std::unique_ptr<notify_reader> notify;
  clock::time_point t0;  // the daemon's start
  daemon_process d(conf, "info", [&](const daemon_process& dp) {
    for (unsigned i = 0; i < guests; ++i) {
      guest_spec g{.name = unique_name("storm" + std::to_string(i)), .vcpus = 1, .memory_mib = 128, .vnuma = false};
      if (fake_delay > 0) write_text(plans / g.name, "delay-greeting " + std::to_string(fake_delay) + "\n");
      dp.land(dp.stage(g), g.name);
    }
    t0 = clock::now();
    notify = std::make_unique<notify_reader>(plans / ("notify-" + std::to_string(limit) + ".sock"), t0);
    ::setenv("NOTIFY_SOCKET", notify->path().c_str(), 1);
  });
  auto deadline = t0 + std::chrono::seconds(60 + guests * (10 + fake_delay));
  while (clock::now() < deadline) {
    f.running = running_count(d);
    notify->read_into(f);
    if (f.running == guests) {
      f.all_running_ms = ms_since(t0);
      break;
    }
    if (f.failed > 0) break;
    std::this_thread::sleep_for(20ms);
  }
  notify->read_into(f);
  if (f.all_running_ms < 0) f.why = d.failure_lines();
  ::unsetenv("NOTIFY_SOCKET");
  notify.reset();
  return f;
}

}  // namespace

int main(int argc, char** argv) {
  install_cleanup_on_signal();
  unsigned guests = 20, fake_delay = 0;
  std::vector<unsigned> limits = {1, 4, 20};
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string key = argv[i], value = argv[i + 1];
    if (key == "--guests") guests = static_cast<unsigned>(std::stoul(value));
    else if (key == "--fake-delay") fake_delay = static_cast<unsigned>(std::stoul(value));
    else if (key == "--limits") {
      limits.clear();
      std::stringstream in(value);
      for (std::string item; std::getline(in, item, ',');) limits.push_back(static_cast<unsigned>(std::stoul(item)));
    } else {
      std::fprintf(stderr, "usage: bench_boot_storm [--guests N] [--limits 1,4,20] [--fake-delay S]\n");
      return 2;
    }
  }
  char tmpl[] = "/tmp/vnumad-storm-XXXXXX";
  const fs::path plans = ::mkdtemp(tmpl);
  // The fake QEMU reads its plan as the QEMU user (runas): 0700 would hide it.
  fs::permissions(plans, fs::perms(0755));
  if (fake_delay > 0) ::setenv("VNUMAD_FAKE_QEMU_PLAN_DIR", plans.c_str(), 1);

  std::printf("boot storm: %u guests in the config dir at daemon start; firmware-only TCG QEMU, 128 MiB, 1 vCPU, no <vnuma>%s\n",
              guests, fake_delay ? "" : "; real QEMU");
  if (fake_delay) std::printf("  behind fake_qemu: QMP greeting %u s after spawn (a QEMU faulting in locked RAM)\n", fake_delay);
  print_conditions("  conditions");
  std::printf("%-18s %10s %16s %14s %10s\n", "start_concurrency", "READY=1 ms", "all running ms", "max starting", "per guest");
  int exit = 0;
  for (unsigned limit : limits) {
    run_figures f = run(guests, limit, fake_delay, plans);
    if (f.all_running_ms < 0) {
      std::printf("%-18u %10.0f %16s %14u %10s   (%u of %u running, %u failed)\n", limit, f.ready_ms, "-", f.max_starting,
                  "-", f.running, guests, f.failed);
      std::printf("%s", f.why.c_str());
      exit = 1;
      continue;
    }
    std::printf("%-18u %10.0f %16.0f %14u %8.0f ms%s\n", limit, f.ready_ms, f.all_running_ms, f.max_starting,
                f.all_running_ms / guests, f.max_starting > limit ? "   LIMIT EXCEEDED" : "");
    if (f.max_starting > limit) exit = 1;
  }
  std::error_code ec;
  fs::remove_all(plans, ec);
  return exit;
}
