#define BOOST_TEST_MODULE vnuma_partition_pinning
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/partition.hpp"
#include "vnuma/partition_pinning.hpp"

#include <map>

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;
using config::MiB;
using config::vnuma_distribution;
using config::vnuma_mode;

namespace {

unsigned pick(std::mt19937& rng, unsigned lo, unsigned hi) {
  return std::uniform_int_distribution<unsigned>(lo, hi)(rng);
}

const id_set* core_of(const host_topology& h, unsigned cpu) {
  for (const auto& n : h.nodes)
    for (const auto& core : n.cores)
      if (core.contains(cpu)) return &core;
  return nullptr;
}

// Every invariant an expansion must keep, whatever the host, guest and load.
void check_expansion(const host_topology& h, const config::domain& in, const expansion& e, bool overcommit,
                     const ledger& before) {
  const placement& p = e.place;
  const unsigned n = in.vcpu.max;
  // Each vCPU in exactly one cell.
  std::map<unsigned, unsigned> seen;
  for (const auto& c : p.cells)
    for (unsigned v : c.vcpus) ++seen[v];
  BOOST_TEST_REQUIRE(seen.size() == n);
  for (const auto& [v, times] : seen) BOOST_TEST(times == 1u);
  BOOST_TEST(e.domain.cpu.topology->sockets * e.domain.cpu.topology->cores * e.domain.cpu.topology->threads == n);
  // Pins inside the cell's node; shared pins avoid others' dedicated threads.
  const id_set others = before.dedicated_cpus(p.guest);
  BOOST_TEST_REQUIRE(p.vcpus.size() == n);
  for (const auto& v : p.vcpus) {
    const auto& cell = p.cells.at(v.cell);
    BOOST_TEST(cell.vcpus.contains(v.vcpu));
    BOOST_TEST(!v.host_cpus.empty());
    const host_node* node = h.find_node(cell.host_node);
    BOOST_TEST_REQUIRE(node != nullptr);
    BOOST_TEST(node->has_cpus());
    for (unsigned cpu : v.host_cpus) BOOST_TEST(node->cpus.contains(cpu));
    if (!overcommit)
      for (unsigned cpu : v.host_cpus) BOOST_TEST(!others.contains(cpu));
  }
  // Siblings: one thread per vCPU; a guest core's vCPUs share one host core.
  if (in.vnuma->distribution == vnuma_distribution::siblings) {
    const unsigned t = e.domain.cpu.topology->threads;
    for (const auto& v : p.vcpus) BOOST_TEST(v.host_cpus.size() == 1u);
    for (unsigned first = 0; first < n; first += t) {
      const id_set* core = core_of(h, *p.vcpus[first].host_cpus.begin());
      BOOST_TEST_REQUIRE(core != nullptr);
      for (unsigned v = first; v < first + t; ++v) BOOST_TEST(core->contains(*p.vcpus[v].host_cpus.begin()));
    }
    if (p.warnings.empty()) {  // not wrapped: every vCPU has its own thread
      id_set threads;
      for (const auto& v : p.vcpus) threads.insert(*v.host_cpus.begin());
      BOOST_TEST(threads.size() == n);
      BOOST_TEST(threads == p.dedicated_cpus);
    }
    for (unsigned cpu : p.dedicated_cpus) BOOST_TEST(!others.contains(cpu));
  } else {
    BOOST_TEST(p.dedicated_cpus.empty());
  }
  // Memory sums match: cells, per node, the domain's <memory>.
  std::uint64_t cells_total = 0;
  std::map<unsigned, std::uint64_t> per_node;
  for (const auto& c : p.cells) {
    cells_total += c.memory_bytes;
    per_node[c.host_node] += c.memory_bytes;
    BOOST_TEST(c.memory_bytes % MiB == 0u);
  }
  BOOST_TEST((per_node == p.memory_per_node));
  BOOST_TEST(*e.domain.memory_bytes == cells_total);
  const std::uint64_t m = in.vnuma->memory_bytes.value_or(*in.memory_bytes);
  BOOST_TEST(cells_total >= m);
  BOOST_TEST(cells_total < m + p.cells.size() * MiB);
  if (!overcommit) {
    BOOST_TEST(p.warnings.empty());
    for (const auto& [node, bytes] : per_node) BOOST_TEST(bytes <= before.free_memory(node, p.guest));
  }
  // Distances: 11 between two cells of one node, the host's otherwise.
  for (const auto& a : e.domain.cpu.cells)
    for (const auto& b : e.domain.cpu.cells) {
      unsigned na = p.cells[a.id].host_node, nb = p.cells[b.id].host_node;
      unsigned want = a.id != b.id && na == nb ? 11 : h.distance(na, nb);
      BOOST_TEST(a.distances.at(b.id) == want);
    }
}

}  // namespace

BOOST_AUTO_TEST_CASE(random_hosts_and_guests) {
  std::mt19937 rng(99173);
  unsigned expanded = 0, refused = 0, held = 0;
  const vnuma_distribution dists[] = {vnuma_distribution::contiguous, vnuma_distribution::siblings,
                                      vnuma_distribution::round_robin, vnuma_distribution::interleave};
  for (int round = 0; round < 300; ++round) {
    const host_topology h = random_host(rng, 6);
    const id_set with_cpus = h.nodes_with_cpus();
    id_set reserved;
    if (rng() % 2) reserved = *resolve_reserved_cpus(h, reserved_cpus_setting{});
    ledger l(h);
    for (int g = 0; g < 6; ++g) {
      const bool node_mode = rng() % 2;
      std::optional<id_set> nodeset;
      std::optional<unsigned> cells;
      if (node_mode && rng() % 2) {
        id_set s;
        for (unsigned id : with_cpus)
          if (rng() % 2) s.insert(id);
        if (!s.empty()) nodeset = s;
      }
      const unsigned candidates = nodeset ? nodeset->size() : with_cpus.size();
      if (node_mode && rng() % 2) cells = pick(rng, 1, 2 * candidates);
      const unsigned c = cells.value_or(candidates);
      const unsigned n = c * pick(rng, 1, 4);
      auto d = make_guest("g" + std::to_string(g), n, std::uint64_t{pick(rng, 64, 4096)} * MiB + pick(rng, 0, 1023),
                          node_mode ? vnuma_mode::node : vnuma_mode::host, dists[rng() % 4], nodeset, cells);
      if (rng() % 3 == 0) d.vcpu.current = pick(rng, 1, n);
      const bool overcommit = rng() % 3 == 0;
      auto e = expand(d, h, l, {.allow_overcommit = overcommit, .reserved_cpus = reserved});
      if (!e) {
        BOOST_TEST(!overcommit, e.error().message);
        BOOST_TEST((e.error().code == errc::insufficient_cpus || e.error().code == errc::insufficient_memory),
                   e.error().message);
        ++refused;
        continue;
      }
      ++expanded;
      check_expansion(h, d, *e, overcommit, l);
      unsigned online = 0;
      for (const auto& v : e->domain.vcpus) online += v.enabled;
      BOOST_TEST(online == d.current_vcpus());
      // The ledger takes what the partitioner placed: no thread twice.
      auto added = l.add(e->place, overcommit);
      BOOST_TEST_REQUIRE(added.has_value(), (added ? std::string() : added.error().message));
      ++held;
      std::map<unsigned, unsigned> holders;
      for (const auto& name : l.guests())
        for (unsigned cpu : l.find(name)->dedicated_cpus) ++holders[cpu];
      for (const auto& [cpu, count] : holders) BOOST_TEST(count == 1u, "thread " << cpu);
    }
  }
  BOOST_TEST(expanded > 500u);
  BOOST_TEST(refused > 50u);
  BOOST_TEST(held == expanded);
}

BOOST_AUTO_TEST_CASE(emulator_pin_rules) {
  const auto host = make_host({0, 1}, 3, 2, 8);  // node 0: PUs 0-5, node 1: 6-11
  ledger l(host);
  const id_set reserved{0, 1, 6, 7};
  pinning_context with_reserved{host, l, reserved, "g", false};
  BOOST_TEST(emulator_cpus(with_reserved, {1}, {}) == (id_set{6, 7}));
  const id_set none;
  pinning_context without{host, l, none, "g", false};
  BOOST_TEST(emulator_cpus(without, {0, 1}, {}) == ids("0-11"));
  BOOST_TEST(emulator_cpus(without, {0}, {2, 3}) == (id_set{0, 1, 4, 5}));  // off its own dedicated threads
  BOOST_TEST(emulator_cpus(without, {0}, ids("0-5")) == ids("0-5"));       // nothing else left: the node
}
