// Per-call cost of the partitioner: the seed guest on the seed host, and
// mode='node' guests of 1, 2, 4 and 8 cells on a 16-node host whose ledger
// already holds several guests (node 0 full, so node choice has to search),
// for guests that fit and guests that do not. Target: under 1 ms per call.
// Prints the median and 95th percentile in microseconds.
#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/partition.hpp"
#include "vnuma/topology_loader.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

using namespace vnumad;
using namespace vnumad::vnuma;
using config::GiB;

namespace {

struct figures {
  double median, p95;
};

figures measure(const std::function<bool()>& call, int runs) {
  std::vector<double> micros;
  micros.reserve(runs);
  for (int i = 0; i < runs; ++i) {
    auto start = std::chrono::steady_clock::now();
    volatile bool ok = call();  // kept, so the call is not optimized away
    (void)ok;
    micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(micros.begin(), micros.end());
  return {micros[micros.size() / 2], micros[micros.size() * 95 / 100]};
}

config::domain node_guest(std::string name, unsigned cells, unsigned vcpus_per_cell, std::uint64_t gib_per_cell,
                          config::vnuma_distribution dist) {
  config::domain d;
  d.type = "qemu";
  d.name = std::move(name);
  d.vcpu.max = cells * vcpus_per_cell;
  d.memory_bytes = cells * gib_per_cell * GiB;
  config::vnuma_def v;
  v.mode = config::vnuma_mode::node;
  v.distribution = dist;
  v.partition_cells = cells;
  d.vnuma = v;
  return d;
}

}  // namespace

int main() {
  const std::filesystem::path shared = VNUMAD_SHARED_DIR;
  auto seed_host = load_topology_xml(shared / "fixtures/hosts/seed-e7-8895v2-4s.xml");
  auto big = load_topology_xml(shared / "fixtures/hosts/big-16n.xml");
  auto seed = config::parse_domain_file(shared / "fixtures/domains/seed-vnuma-host.xml");
  auto siblings = config::parse_domain_file(shared / "fixtures/domains/seed-vnuma-siblings.xml");
  if (!seed_host || !big || !seed || !siblings) {
    std::fprintf(stderr, "bench_placement: cannot load the fixtures under %s\n", shared.c_str());
    return 1;
  }
  const int runs = 2001;
  std::printf("%-46s %12s %12s\n", "case", "median us", "p95 us");
  auto row = [](const std::string& name, figures f) { std::printf("%-46s %12.1f %12.1f\n", name.c_str(), f.median, f.p95); };

  const id_set seed_reserved = *resolve_reserved_cpus(*seed_host, reserved_cpus_setting{});
  ledger seed_empty(*seed_host);
  row("seed host, seed guest (mode=host)", measure([&] {
        return expand(*seed, *seed_host, seed_empty, {.allow_overcommit = false, .reserved_cpus = seed_reserved})
            .has_value();
      }, runs));
  row("seed host, seed guest (siblings)", measure([&] {
        return expand(*siblings, *seed_host, seed_empty, {.allow_overcommit = false, .reserved_cpus = seed_reserved})
            .has_value();
      }, runs));

  // Load the 16-node host: node 0's memory is gone, and a few guests hold
  // memory and dedicated cores elsewhere.
  const id_set reserved = *resolve_reserved_cpus(*big, reserved_cpus_setting{});
  ledger held(*big);
  placement hog;
  hog.guest = "hog";
  hog.memory_per_node[0] = big->find_node(0)->free_bytes;
  (void)held.add(hog);
  const std::vector<config::domain> load{
      node_guest("db", 2, 8, 24, config::vnuma_distribution::siblings),
      node_guest("web", 4, 4, 8, config::vnuma_distribution::contiguous),
      node_guest("cache", 1, 4, 16, config::vnuma_distribution::siblings),
      node_guest("batch", 8, 2, 4, config::vnuma_distribution::round_robin),
  };
  for (const auto& g : load) {
    auto e = expand(g, *big, held, {.allow_overcommit = false, .reserved_cpus = reserved});
    if (!e || !held.add(e->place)) {
      std::fprintf(stderr, "bench_placement: could not load guest %s\n", g.name.c_str());
      return 1;
    }
  }
  std::printf("(big-16n.xml: %zu guests already held)\n", held.size());
  for (unsigned cells : {1u, 2u, 4u, 8u}) {
    for (bool fit : {true, false}) {
      // A cell of 16 vCPUs and 1 TiB fits no node: the refusal is timed.
      auto g = node_guest("new", cells, fit ? 4 : 16, fit ? 8 : 1024, config::vnuma_distribution::siblings);
      bool ok = expand(g, *big, held, {.allow_overcommit = false, .reserved_cpus = reserved}).has_value();
      if (ok != fit) {
        std::fprintf(stderr, "bench_placement: %u-cell guest %s unexpectedly\n", cells, ok ? "fits" : "does not fit");
        return 1;
      }
      row("big-16n, " + std::to_string(cells) + "-cell guest, " + (fit ? "fits" : "does not fit"), measure([&] {
            return expand(g, *big, held, {.allow_overcommit = false, .reserved_cpus = reserved}).has_value();
          }, runs));
    }
  }
  return 0;
}
