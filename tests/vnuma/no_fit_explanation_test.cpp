#define BOOST_TEST_MODULE no_fit_explanation
#include "vnuma/no_fit_explanation.hpp"

#include <boost/test/unit_test.hpp>

using namespace vnumad::vnuma;

namespace {

constexpr std::uint64_t GiB = std::uint64_t{1} << 30;

node_assessment fits(unsigned node) { return {.node = node, .fits = true, .capacity = 2048, .free_vcpus = 8, .free_memory_bytes = 64 * GiB}; }

node_assessment short_of(unsigned node, unsigned vcpus, std::uint64_t memory, std::uint64_t pages = 0) {
  return {.node = node, .fits = false, .capacity = 0, .free_vcpus = vcpus, .free_memory_bytes = memory, .free_hugepages = pages};
}

}  // namespace

BOOST_AUTO_TEST_CASE(groups_the_nodes_that_lack_by_what_and_how_much) {
  // 6 candidates, 4 needed: 2 qualify; 2 lack vCPUs (one has 1, one has 0),
  // one lacks memory, one lacks both.
  std::vector<node_assessment> nodes{fits(0), short_of(1, 1, 64 * GiB), fits(2), short_of(3, 0, 64 * GiB),
                                     short_of(4, 8, 2 * GiB), short_of(5, 0, 1 * GiB)};
  cell_demand demand{.vcpus = 4, .memory_bytes = 16 * GiB};
  BOOST_TEST(explain_no_fit(nodes, 4, demand) ==
             "needs 4 nodes with room for one cell each (4 vCPUs, 16 GiB), but only 2 of its 6 candidate nodes qualify "
             "(0,2): too few free vCPUs: node 1 has 1, nodes 3,5 have 0 (4 needed); too little free memory: node 4 "
             "has 2 GiB, node 5 has 1 GiB (16 GiB needed)");
}

BOOST_AUTO_TEST_CASE(huge_pages_are_counted_in_pages_of_the_cells_size) {
  std::vector<node_assessment> nodes{short_of(0, 8, 0, 100), short_of(1, 8, 0, 100), short_of(2, 8, 0, 4096)};
  cell_demand demand{.vcpus = 2, .memory_bytes = 8 * GiB, .hugepage_bytes = 2 << 20};
  nodes[2].fits = true;
  BOOST_TEST(explain_no_fit(nodes, 2, demand) ==
             "needs 2 nodes with room for one cell each (2 vCPUs, 4096 x 2 MiB huge pages), but only 1 of its 3 "
             "candidate nodes qualify (2): too few free 2 MiB huge pages: nodes 0-1 have 100 (4096 needed)");
}

BOOST_AUTO_TEST_CASE(dedicated_demand_says_whole_cores) {
  std::vector<node_assessment> nodes{short_of(0, 2, 64 * GiB), short_of(1, 2, 64 * GiB)};
  cell_demand demand{.vcpus = 4, .memory_bytes = GiB, .dedicated = true, .guest_threads = 2};
  BOOST_TEST(explain_no_fit(nodes, 1, demand) ==
             "needs 1 node with room for one cell each (4 dedicated threads, whole free cores of 2 threads, 1 GiB), "
             "but only 0 of its 2 candidate nodes qualify: too few free dedicated threads: nodes 0-1 have 2 (4 "
             "needed)");
}
