#define BOOST_TEST_MODULE vnuma_partition_rules
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/partition_rules.hpp"

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;
using config::MiB;
using config::vnuma_distribution;
using config::vnuma_mode;

BOOST_AUTO_TEST_CASE(divisibility_proposals) {
  struct row {
    unsigned vcpus, cells;
    std::string message;
  };
  const std::vector<row> rows{
      {16, 6, "16 vCPUs cannot be split evenly into 6 cells: use 12 or 18 vCPUs, or 1, 2, 4, 8 or 16 cells"},
      {3, 4, "3 vCPUs cannot be split evenly into 4 cells: use 4 vCPUs, or 1 or 3 cells"},
      {7, 2, "7 vCPUs cannot be split evenly into 2 cells: use 6 or 8 vCPUs, or 1 or 7 cells"},
      // 120 has 16 divisors: the eight nearest to 7 are proposed.
      {120, 7, "120 vCPUs cannot be split evenly into 7 cells: use 119 or 126 vCPUs, or 2, 3, 4, 5, 6, 8, 10 or 12 cells"},
  };
  for (const auto& r : rows) {
    auto result = check_divisible(r.vcpus, r.cells);
    BOOST_TEST_REQUIRE(!result.has_value());
    BOOST_TEST((result.error().code == errc::vcpus_not_divisible_by_cells));
    BOOST_TEST(result.error().message == r.message);
  }
  BOOST_TEST(check_divisible(16, 4).has_value());
  BOOST_TEST(check_divisible(16, 16).has_value());
}

BOOST_AUTO_TEST_CASE(vcpu_to_cell) {
  auto blocks = vcpus_per_cell(vnuma_distribution::contiguous, 12, 3);
  BOOST_TEST(config::format_id_set(blocks[1]) == "4-7");
  auto sib = vcpus_per_cell(vnuma_distribution::siblings, 12, 3);
  BOOST_TEST(config::format_id_set(sib[2]) == "8-11");
  auto rr = vcpus_per_cell(vnuma_distribution::round_robin, 12, 3);
  BOOST_TEST(config::format_id_set(rr[1]) == "1,4,7,10");
  auto il = vcpus_per_cell(vnuma_distribution::interleave, 12, 3);
  BOOST_TEST(config::format_id_set(il[2]) == "2,5,8,11");
}

BOOST_AUTO_TEST_CASE(guest_topology_rules) {
  struct row {
    vnuma_distribution d;
    unsigned n, c, t, sockets, cores, threads;
  };
  const std::vector<row> rows{
      {vnuma_distribution::contiguous, 16, 4, 2, 4, 2, 2},  // seed
      {vnuma_distribution::siblings, 16, 4, 2, 4, 2, 2},
      {vnuma_distribution::contiguous, 12, 4, 2, 4, 3, 1},  // T does not divide N/C
      {vnuma_distribution::contiguous, 16, 4, 1, 4, 4, 1},
      {vnuma_distribution::contiguous, 24, 2, 4, 2, 3, 4},
      {vnuma_distribution::round_robin, 16, 4, 2, 4, 4, 1},
      {vnuma_distribution::interleave, 24, 4, 2, 24, 1, 1},
  };
  for (const auto& r : rows) {
    auto t = guest_topology(r.d, r.n, r.c, r.t);
    BOOST_TEST(t.sockets == r.sockets);
    BOOST_TEST(t.cores == r.cores);
    BOOST_TEST(t.threads == r.threads);
    BOOST_TEST(t.sockets * t.cores * t.threads == r.n);
  }
}

BOOST_AUTO_TEST_CASE(cell_to_node) {
  // Blocks as even as possible, earlier blocks take the remainder.
  BOOST_TEST(nodes_per_cell(vnuma_distribution::contiguous, 8, {1, 2}) ==
             (std::vector<unsigned>{1, 1, 1, 1, 2, 2, 2, 2}));
  BOOST_TEST(nodes_per_cell(vnuma_distribution::siblings, 5, {0, 1, 3}) == (std::vector<unsigned>{0, 0, 1, 1, 3}));
  BOOST_TEST(nodes_per_cell(vnuma_distribution::contiguous, 2, {0, 1, 3}) == (std::vector<unsigned>{0, 1}));
  BOOST_TEST(nodes_per_cell(vnuma_distribution::round_robin, 5, {0, 1, 3}) ==
             (std::vector<unsigned>{0, 1, 3, 0, 1}));
  BOOST_TEST(nodes_per_cell(vnuma_distribution::interleave, 6, {0, 2}) ==
             (std::vector<unsigned>{0, 2, 0, 2, 0, 2}));
}

BOOST_AUTO_TEST_CASE(memory_split) {
  BOOST_TEST(cell_memory(219100 * config::KiB, 4, 0) == 54 * MiB);
  BOOST_TEST(cell_memory(12345 * config::KiB, 6, 0) == 3 * MiB);
  BOOST_TEST(cell_memory(32 * GiB, 4, 0) == 8 * GiB);
  BOOST_TEST(cell_memory(3 * MiB, 2, 0) == 2 * MiB);
  BOOST_TEST(cell_memory(3 * MiB, 2, 2 * MiB) == 2 * MiB);
  BOOST_TEST(cell_memory(5 * MiB, 2, 2 * MiB) == 4 * MiB);
  BOOST_TEST(cell_memory(5 * GiB, 4, GiB) == 2 * GiB);
}

BOOST_AUTO_TEST_CASE(hugepage_size_per_cell) {
  const auto host = make_host({0, 1}, 2, 1, 8);
  config::domain d;
  BOOST_TEST(hugepage_size_for_cell(d, 0, host) == 0u);
  d.memory_backing = config::memory_backing_def{};
  BOOST_TEST(hugepage_size_for_cell(d, 0, host) == 0u);
  d.memory_backing->hugepages = true;
  BOOST_TEST(hugepage_size_for_cell(d, 3, host) == 2 * MiB);  // <hugepages/>: host default
  d.memory_backing->pages = {config::hugepage_def{GiB, id_set{1}}, config::hugepage_def{0, std::nullopt}};
  BOOST_TEST(hugepage_size_for_cell(d, 1, host) == GiB);
  BOOST_TEST(hugepage_size_for_cell(d, 0, host) == 2 * MiB);
  d.memory_backing->pages = {config::hugepage_def{GiB, id_set{1}}};
  BOOST_TEST(hugepage_size_for_cell(d, 0, host) == 0u);  // only cell 1 on huge pages
}

BOOST_AUTO_TEST_CASE(candidates_and_cells) {
  const auto host = load_host("sparse-cxl.xml");
  config::vnuma_def v;
  auto all = candidate_nodes(v, host);
  BOOST_TEST_REQUIRE(all.has_value());
  BOOST_TEST(*all == (std::vector<unsigned>{0, 2}));
  BOOST_TEST(*cell_count(v, 2) == 2u);
  v.mode = vnuma_mode::node;
  v.partition_nodeset = id_set{0, 2};
  v.partition_cells = 6;
  BOOST_TEST(*cell_count(v, 2) == 6u);
  v.partition_nodeset = id_set{2, 3};
  auto missing = candidate_nodes(v, host);
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST((missing.error().code == errc::node_unavailable));
  BOOST_TEST(missing.error().message.find("NUMA node 3 does not exist") != std::string::npos);
  v.partition_nodeset = id_set{4};
  auto memory_only = candidate_nodes(v, host);
  BOOST_TEST_REQUIRE(!memory_only.has_value());
  BOOST_TEST(memory_only.error().message.find("NUMA node 4 has no CPUs") != std::string::npos);
  v.partition_cells = 0;
  BOOST_TEST(!cell_count(v, 1).has_value());
}

BOOST_AUTO_TEST_CASE(distances) {
  auto host = make_host({0, 1}, 1, 1, 1);
  host.distances = {{10, 21}, {21, 10}};
  BOOST_TEST(cell_distance(host, 0, 0, 0, 0) == 10u);
  BOOST_TEST(cell_distance(host, 0, 0, 1, 0) == 11u);
  BOOST_TEST(cell_distance(host, 0, 0, 1, 1) == 21u);
  host.distances.clear();
  BOOST_TEST(cell_distance(host, 0, 0, 1, 1) == 20u);
}
