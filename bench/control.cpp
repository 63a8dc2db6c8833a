// Control socket latency (issue 7): 100 concurrent clients, each on its own
// connection, call `dominfo` in a loop while another thread keeps starting
// and destroying guests. Prints p50/p99/max of the request -> reply time over
// every call. Target: p99 <= 10 ms.
//
// Each client waits a random think time (uniform 0 .. 2 x --think-ms) between
// calls, as monitoring agents and vnumactl users do; --think-ms 0 makes it a
// closed loop that saturates the host (this machine has 2 CPUs for the
// daemon, the 100 clients, QEMU and anything else running).
#include "bench_support.hpp"

#include <atomic>
#include <random>

using namespace vnumad;
using namespace vnumad::bench;

int main(int argc, char** argv) {
  install_cleanup_on_signal();
  int clients = 100, seconds = 10, think_ms = 10;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--clients" && i + 1 < argc) clients = std::stoi(argv[++i]);
    else if (a == "--seconds" && i + 1 < argc) seconds = std::stoi(argv[++i]);
    else if (a == "--think-ms" && i + 1 < argc) think_ms = std::stoi(argv[++i]);
    else {
      std::fprintf(stderr, "usage: bench_control [--clients N (100)] [--seconds N (10)] [--think-ms N (10)]\n");
      return 2;
    }
  }
  std::printf("bench_control: dominfo latency, %d clients, %d s, think time %d ms mean (%s)\n", clients, seconds,
              think_ms, (binary_dir / "vnumad").c_str());
  print_conditions("before");
  try {
    daemon_process d("overcommit = true\n");
    event_stream events(d);
    // The guest every client asks about; paused so that its firmware does
    // not take CPU from the figures.
    guest_spec target{.name = unique_name("ctl"), .vcpus = 1, .cells = 1, .memory_mib = 64};
    d.land(d.stage(target), target.name);
    std::string failure;
    if (!events.wait_state(target.name, "running", 60s, &failure) || !d.call("suspend", {{"name", target.name}})) {
      std::fprintf(stderr, "bench_control: %s did not start: %s\n", target.name.c_str(), failure.c_str());
      return 1;
    }

    std::atomic<bool> stop{false};
    std::atomic<int> churn_cycles{0}, churn_failures{0};
    // Guests start (file lands) and are destroyed, over and over.
    std::thread churn([&] {
      for (int i = 0; !stop; ++i) {
        guest_spec g{.name = unique_name("churn" + std::to_string(i)), .vcpus = 1, .cells = 1, .memory_mib = 64};
        d.land(d.stage(g), g.name);
        std::string why;
        bool ok = events.wait_state(g.name, "running", 60s, &why).has_value();
        ok = d.call("destroy", {{"name", g.name}}).has_value() && ok;
        std::error_code ec;
        fs::remove(d.domain_file(g.name), ec);
        (ok ? churn_cycles : churn_failures)++;
      }
    });

    std::vector<std::vector<double>> latencies(clients);
    std::atomic<int> errors{0}, ready{0};
    std::vector<std::thread> threads;
    for (int c = 0; c < clients; ++c)
      threads.emplace_back([&, c] {
        reactor::control_client client;
        if (!client.connect(d.socket().string())) {
          errors++;
          return;
        }
        ready++;
        std::mt19937 rng(static_cast<unsigned>(c));
        std::uniform_int_distribution<int> think(0, 2 * think_ms * 1000);
        while (!stop) {
          auto t0 = clock::now();
          auto info = client.call("dominfo", {{"name", target.name}}, 30s);
          latencies[c].push_back(ms_since(t0));
          if (!info || info->at("name").as_string() != target.name) errors++;
          if (think_ms > 0) std::this_thread::sleep_for(std::chrono::microseconds(think(rng)));
        }
      });
    auto t_start = clock::now();
    std::this_thread::sleep_for(std::chrono::seconds(seconds));
    stop = true;
    for (auto& t : threads) t.join();
    double wall_s = ms_since(t_start) / 1000.0;
    churn.join();

    std::vector<double> all;
    for (const auto& v : latencies) all.insert(all.end(), v.begin(), v.end());
    auto s = summarize(all);
    std::printf("\nControl socket: dominfo with %d concurrent clients (%d connected) while guests start and stop\n",
                clients, ready.load());
    std::printf("  calls %zu (%.0f/s), errors %d; guest start+destroy cycles during the run: %d (%d failed)\n", s.n,
                static_cast<double>(s.n) / wall_s, errors.load(), churn_cycles.load(), churn_failures.load());
    std::printf("  %-10s %9s %9s %9s %9s  %-8s\n", "ms", "min", "p50", "p99", "max", "target");
    std::printf("  %-10s %9.2f %9.2f %9.2f %9.2f  %-8s %s\n", "dominfo", s.min, s.median, s.p99, s.max, "p99<=10",
                verdict(s.p99 <= 10));
    print_conditions("after");
    d.shutdown();
    return s.p99 <= 10 && errors == 0 ? 0 : 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_control: %s\n", e.what());
    return 1;
  }
}
