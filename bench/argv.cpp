// Per-call cost of building the QEMU argv (target: < 1 ms), median of many
// runs, for the hand-written seed guest; and, with the partitioner, the cost of
// expansion + argv for the <vnuma mode='host'/> seed guest on the seed host.
#include "config/domain_xml.hpp"
#include "qemu/argv.hpp"

#if __has_include("vnuma/partition.hpp")
#include "vnuma/partition.hpp"
#include "vnuma/topology_loader.hpp"
#define VNUMAD_BENCH_PARTITION 1
#endif

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace {

using namespace vnumad;

const std::string shared = VNUMAD_REFERENCE_DIR;

// Median microseconds per call over `runs` timed batches of `batch` calls.
double median_us(const std::function<bool()>& call, int runs = 201, int batch = 20) {
  std::vector<double> samples;
  for (int r = 0; r < runs; ++r) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < batch; ++i)
      if (!call()) return -1;
    std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    samples.push_back(took.count() / batch);
  }
  std::nth_element(samples.begin(), samples.begin() + runs / 2, samples.end());
  return samples[runs / 2];
}

qemu::host_facts facts(config::id_set nodes) {
  qemu::host_facts h;
  h.host_nodes = std::move(nodes);
  h.hugetlbfs_mounts = {{2ull << 20, "/dev/hugepages"}, {1ull << 30, "/dev/hugepages1G"}};
  h.qmp_socket_path = "/run/vnumad/guest/qmp.sock";
  h.state_dir = "/var/lib/vnumad/guest";
  return h;
}

}  // namespace

int main() {
  int status = 0;
  auto seed = config::parse_domain_file(shared + "/fixtures/domains/seed-manual-pxb.xml");
  if (!seed) {
    std::fprintf(stderr, "%s\n", seed.error().message.c_str());
    return 1;
  }
  auto host = facts({0, 1, 2, 3});
  std::size_t words = 0;
  double us = median_us([&] {
    auto argv = qemu::build_argv(*seed, host);
    words = argv ? argv->size() : 0;
    return argv.has_value();
  });
  std::printf("build_argv(seed-manual-pxb): %.1f us/call (median), %zu words, target < 1000 us: %s\n", us, words,
              us >= 0 && us < 1000 ? "ok" : "MISSED");
  if (us < 0 || us >= 1000) status = 1;

#ifdef VNUMAD_BENCH_PARTITION
  auto topo = vnuma::load_topology_xml(shared + "/fixtures/hosts/seed-e7-8895v2-4s.xml");
  auto guest = config::parse_domain_file(shared + "/fixtures/domains/seed-vnuma-host.xml");
  if (!topo || !guest) {
    std::fprintf(stderr, "%s\n", (!topo ? topo.error().message : guest.error().message).c_str());
    return 1;
  }
  vnuma::ledger held(*topo);
  vnuma::expand_options opt;
  auto host4 = facts(topo->node_ids());
  std::string failure;
  double us2 = median_us([&] {
    auto e = vnuma::expand(*guest, *topo, held, opt);
    if (!e) {
      failure = e.error().message;
      return false;
    }
    auto argv = qemu::build_argv(e->domain, host4);
    if (!argv) failure = argv.error().message;
    return argv.has_value();
  });
  if (us2 < 0) {
    std::fprintf(stderr, "expand+build_argv failed: %s\n", failure.c_str());
    return 1;
  }
  std::printf("expand+build_argv(seed-vnuma-host on seed-e7-8895v2-4s): %.1f us/call (median), target < 1000 us: %s\n",
              us2, us2 < 1000 ? "ok" : "MISSED");
  if (us2 >= 1000) status = 1;
#else
  std::printf("expand+build_argv: skipped, src/vnuma/partition.hpp not present\n");
#endif
  return status;
}
