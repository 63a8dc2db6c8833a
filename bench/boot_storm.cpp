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

using namespace vnumad;
using namespace vnumad::bench;

namespace {

struct run_figures {
  double ready_ms = -1, all_running_ms = -1;
  unsigned max_starting = 0, running = 0, failed = 0;
};

unsigned running_count(const daemon_process& d) {
  auto r = d.call("list", {}, 5s);
  if (!r) return 0;
  unsigned n = 0;
  for (const auto& g : r->as_array())
    if (field_is(g.as_object(), "state", "running")) ++n;
  return n;
}

run_figures run(unsigned guests, unsigned limit, unsigned fake_delay, const fs::path& plans) {
  run_figures f;
  // Closed before the daemon's teardown: nobody reads it then, and a full
  // datagram queue (net.unix.max_dgram_qlen, 10 here) would block vnumad's
  // sd_notify, where a closed one makes it fail at once.
  auto notify_owner = std::make_unique<testing::notify_socket>(plans / ("notify-" + std::to_string(limit) + ".sock"));
  testing::notify_socket& notify = *notify_owner;
  ::setenv("NOTIFY_SOCKET", notify.path().c_str(), 1);
  std::string conf = "start_concurrency = " + std::to_string(limit) + "\n";
  if (fake_delay > 0) conf += "qemu_binary = " + (binary_dir / "fake-qemu" / "qemu-system-x86_64").string() + "\n";
  clock::time_point t0;
  daemon_process d(conf, "info", [&](const daemon_process& dp) {
    for (unsigned i = 0; i < guests; ++i) {
      guest_spec g{.name = unique_name("storm" + std::to_string(i)), .vcpus = 1, .memory_mib = 128, .vnuma = false};
      if (fake_delay > 0) write_text(plans / g.name, "delay-greeting " + std::to_string(fake_delay) + "\n");
      dp.land(dp.stage(g), g.name);
    }
    t0 = clock::now();
  });
  auto deadline = clock::now() + std::chrono::seconds(60 + guests * (10 + fake_delay));
  while (clock::now() < deadline) {
    while (auto m = notify.receive(0ms)) {
      if (m->find("READY=1") != std::string::npos && f.ready_ms < 0) f.ready_ms = ms_since(t0);
      if (auto s = testing::notify_socket::field(*m, "STATUS"))
        if (auto c = testing::parse_status(*s)) {
          f.max_starting = std::max(f.max_starting, c->starting);
          f.failed = c->failed;
        }
    }
    f.running = running_count(d);
    if (f.running == guests) {
      f.all_running_ms = ms_since(t0);
      break;
    }
    if (f.failed > 0) break;
    std::this_thread::sleep_for(20ms);
  }
  ::unsetenv("NOTIFY_SOCKET");
  notify_owner.reset();
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
