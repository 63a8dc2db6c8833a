#define BOOST_TEST_MODULE vnuma_node_choice
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/node_choice.hpp"
#include "vnuma/partition.hpp"

#include <algorithm>
#include <chrono>
#include <tuple>

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;

namespace {

// The oracle: the rule of node_choice.hpp evaluated on every k-subset.
std::vector<unsigned> brute_force(const std::vector<node_assessment>& c, unsigned k,
                                  const std::vector<std::vector<unsigned>>& d) {
  const std::size_t n = c.size();
  std::vector<unsigned> all;
  for (const auto& a : c) all.push_back(a.node);
  if (k >= n) return all;
  if (std::all_of(c.begin(), c.begin() + k, [](const auto& a) { return a.fits; }))
    return std::vector<unsigned>(all.begin(), all.begin() + k);
  using key = std::tuple<long, long double, std::uint64_t, std::vector<unsigned>>;  // smaller is better
  std::optional<key> best;
  for (unsigned mask = 0; mask < (1u << n); ++mask) {
    if (static_cast<unsigned>(__builtin_popcount(mask)) != k) continue;
    long fit = 0;
    long double capacity = 0;
    std::uint64_t distance = 0;
    std::vector<unsigned> ids;
    for (std::size_t i = 0; i < n; ++i) {
      if (!(mask & (1u << i))) continue;
      fit += c[i].fits;
      capacity += static_cast<long double>(c[i].capacity);
      ids.push_back(c[i].node);
      for (std::size_t j = i + 1; j < n; ++j)
        if (mask & (1u << j)) distance += std::uint64_t{d[i][j]} + d[j][i];
    }
    key candidate{-fit, -capacity, distance, ids};
    if (!best || candidate < *best) best = candidate;
  }
  return std::get<3>(*best);
}

std::vector<std::vector<unsigned>> matrix(const host_topology& h, const std::vector<node_assessment>& c) {
  std::vector<std::vector<unsigned>> d(c.size(), std::vector<unsigned>(c.size()));
  for (std::size_t i = 0; i < c.size(); ++i)
    for (std::size_t j = 0; j < c.size(); ++j) d[i][j] = h.distance(c[i].node, c[j].node);
  return d;
}

// Loads a ledger with random guests: memory on random nodes, and dedicated
// threads on random cores.
ledger random_load(const host_topology& h, std::mt19937& rng) {
  ledger l(h);
  unsigned guests = std::uniform_int_distribution<unsigned>(0, 5)(rng);
  for (unsigned g = 0; g < guests; ++g) {
    placement p;
    p.guest = "load" + std::to_string(g);
    const auto& node = h.nodes[rng() % h.nodes.size()];
    p.memory_per_node[node.id] = std::uniform_int_distribution<std::uint64_t>(0, node.free_bytes)(rng) / 2;
    if (rng() % 2 && !node.cores.empty()) {
      const auto& core = node.cores[rng() % node.cores.size()];
      p.dedicated_cpus = core;
    }
    if (rng() % 3 == 0 && !node.hugepages_free.empty())
      p.hugepages_per_node[{node.id, node.hugepages_free.begin()->first}] = rng() % 300;
    (void)l.add(std::move(p), true);  // a clash on a thread just leaves that guest out
  }
  return l;
}

}  // namespace

BOOST_AUTO_TEST_CASE(empty_host_gives_the_block_rule) {
  const auto host = load_host("epyc-2s-nps4.xml");
  ledger empty(host);
  std::vector<node_assessment> c;
  for (const auto& n : host.nodes) c.push_back(assess_node(n, empty, {}, "g", cell_demand{4, 8 * GiB, 0, false, 1}));
  for (unsigned k = 1; k < c.size(); ++k) {
    auto got = choose_nodes(c, k, host);
    std::vector<unsigned> first;
    for (unsigned i = 0; i < k; ++i) first.push_back(c[i].node);
    BOOST_TEST(got == first);
  }
}

BOOST_AUTO_TEST_CASE(prefers_free_nodes_then_near_ones) {
  const auto host = load_host("big-16n.xml");
  ledger held(host);
  placement p;
  p.guest = "hog";
  p.memory_per_node[0] = host.find_node(0)->free_bytes;  // node 0 is full
  BOOST_TEST_REQUIRE(held.add(p).has_value());
  std::vector<node_assessment> c;
  for (const auto& n : host.nodes) c.push_back(assess_node(n, held, {}, "g", cell_demand{4, 8 * GiB, 0, false, 1}));
  BOOST_TEST(!c[0].fits);
  // Two nodes: not {1, 2} (different sockets) but the first free socket pair.
  auto two = choose_nodes(c, 2, host);
  BOOST_TEST(two == (std::vector<unsigned>{2, 3}));
  BOOST_TEST(host.distance(2, 3) < host.distance(1, 2));
  BOOST_TEST(choose_nodes(c, 2, matrix(host, c)) == brute_force(c, 2, matrix(host, c)));
}

// The property: on random small hosts, loads and guests the fast choice is
// the brute-force optimum of the same objective.
BOOST_AUTO_TEST_CASE(matches_brute_force_on_random_hosts) {
  std::mt19937 rng(424242);
  int cases = 0, open_choices = 0;
  for (int round = 0; round < 4000; ++round) {
    host_topology h = random_host(rng, 6);
    ledger held = random_load(h, rng);
    cell_demand demand;
    demand.vcpus = std::uniform_int_distribution<unsigned>(1, 6)(rng);
    demand.memory_bytes = std::uniform_int_distribution<std::uint64_t>(1, 8)(rng) * GiB / 2;
    demand.dedicated = rng() % 2;
    demand.guest_threads = demand.dedicated ? std::uniform_int_distribution<unsigned>(1, h.threads_per_core)(rng) : 1;
    demand.hugepage_bytes = (rng() % 4 == 0) ? 2 * config::MiB : 0;
    id_set reserved;
    if (rng() % 2)
      for (const auto& n : h.nodes)
        if (n.cores.size() >= 2) reserved.insert(n.cores.front().begin(), n.cores.front().end());
    std::vector<node_assessment> c;
    for (const auto& n : h.nodes) c.push_back(assess_node(n, held, reserved, "guest", demand));
    const auto d = matrix(h, c);
    for (unsigned k = 1; k <= c.size(); ++k) {
      ++cases;
      bool rule_fits = std::all_of(c.begin(), c.begin() + std::min<std::size_t>(k, c.size()),
                                   [](const auto& a) { return a.fits; });
      open_choices += (k < c.size() && !rule_fits);
      auto fast = choose_nodes(c, k, d);
      auto slow = brute_force(c, k, d);
      BOOST_TEST(fast == slow, "round " << round << " k " << k);
    }
  }
  BOOST_TEST(cases > 10000);
  BOOST_TEST(open_choices > 1000);  // the optimizing branch was really exercised
}

// Equal capacities everywhere: only distances decide, the hardest case.
BOOST_AUTO_TEST_CASE(ties_decided_by_distance_then_ids) {
  std::mt19937 rng(7);
  for (int round = 0; round < 2000; ++round) {
    const std::size_t n = std::uniform_int_distribution<std::size_t>(2, 9)(rng);
    std::vector<node_assessment> c;
    for (unsigned i = 0; i < n; ++i) c.push_back(node_assessment{i * 2, i != 0, 5000});
    std::vector<std::vector<unsigned>> d(n, std::vector<unsigned>(n, 10));
    for (std::size_t i = 0; i < n; ++i)
      for (std::size_t j = 0; j < n; ++j)
        if (i != j) d[i][j] = std::uniform_int_distribution<unsigned>(11, 14)(rng);  // asymmetric, many ties
    for (unsigned k = 1; k < n; ++k) BOOST_TEST(choose_nodes(c, k, d) == brute_force(c, k, d));
  }
}

BOOST_AUTO_TEST_CASE(fast_on_sixteen_nodes) {
  const auto host = load_host("big-16n.xml");
  ledger held(host);
  // Every node partly used and node 0 full, so the default choice fails and
  // the rest tie: the search's worst case.
  for (const auto& n : host.nodes) {
    placement p;
    p.guest = "load" + std::to_string(n.id);
    p.memory_per_node[n.id] = n.id == 0 ? n.free_bytes : n.free_bytes / 2;
    BOOST_TEST_REQUIRE(held.add(p).has_value());
  }
  for (unsigned k : {1u, 2u, 4u, 8u}) {
    std::vector<double> micros;
    for (int i = 0; i < 201; ++i) {
      auto start = std::chrono::steady_clock::now();
      std::vector<node_assessment> c;
      for (const auto& n : host.nodes) c.push_back(assess_node(n, held, {}, "g", cell_demand{4, 8 * GiB, 0, true, 2}));
      auto chosen = choose_nodes(c, k, host);
      micros.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count());
      BOOST_TEST_REQUIRE(chosen.size() == k);
      BOOST_TEST((std::find(chosen.begin(), chosen.end(), 0u) == chosen.end()));
    }
    std::nth_element(micros.begin(), micros.begin() + 100, micros.end());
    BOOST_TEST_MESSAGE("choose " << k << " of 16 nodes: median " << micros[100] << " us");
    BOOST_TEST(micros[100] < 1000.0);
  }
}
