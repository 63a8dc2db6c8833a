#define BOOST_TEST_MODULE vnuma_hotplug_order
#include <boost/test/unit_test.hpp>

#include "vnuma/hotplug_order.hpp"

#include <algorithm>
#include <random>

using namespace vnumad::vnuma;

namespace {
std::vector<id_set> blocks(unsigned cells, unsigned per_cell) {
  std::vector<id_set> out(cells);
  for (unsigned v = 0; v < cells * per_cell; ++v) out[v / per_cell].insert(v);
  return out;
}
}  // namespace

// Spec section 5: 16 -> 8 on 4 cells leaves 0,1,4,5,8,9,12,13.
BOOST_AUTO_TEST_CASE(seed_sixteen_to_eight) {
  BOOST_TEST(online_set(blocks(4, 4), 8) == (std::vector<unsigned>{0, 1, 4, 5, 8, 9, 12, 13}));
  BOOST_TEST(online_set(blocks(4, 2), 4) == (std::vector<unsigned>{0, 2, 4, 6}));
  BOOST_TEST(online_set(blocks(4, 4), 16).size() == 16u);
  BOOST_TEST(online_set(blocks(4, 4), 0) == (std::vector<unsigned>{0}));  // vCPU 0 never goes
  BOOST_TEST(online_set(blocks(4, 4), 99).size() == 16u);
}

BOOST_AUTO_TEST_CASE(round_robin_cells) {
  std::vector<id_set> rr(4);
  for (unsigned v = 0; v < 16; ++v) rr[v % 4].insert(v);
  // Removes the highest ids first while the cells stay even.
  BOOST_TEST(online_set(rr, 12) == (std::vector<unsigned>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11}));
  BOOST_TEST(online_set(rr, 5) == (std::vector<unsigned>{0, 1, 2, 3, 4}));
}

BOOST_AUTO_TEST_CASE(plan_lower_and_raise) {
  const auto cells = blocks(4, 4);
  id_set all;
  for (unsigned v = 0; v < 16; ++v) all.insert(v);
  auto down = plan_setvcpus(all, cells, 8);
  BOOST_TEST(down.add.empty());
  BOOST_TEST(down.remove == (std::vector<unsigned>{15, 11, 7, 3, 14, 10, 6, 2}));
  id_set eight{0, 1, 4, 5, 8, 9, 12, 13};
  auto up = plan_setvcpus(eight, cells, 16);
  BOOST_TEST(up.remove.empty());
  BOOST_TEST(up.add == (std::vector<unsigned>{2, 6, 10, 14, 3, 7, 11, 15}));  // the reverse
  BOOST_TEST(plan_setvcpus(eight, cells, 8).add.empty());
  BOOST_TEST(plan_setvcpus(eight, cells, 8).remove.empty());
  // A lopsided set (a refused unplug) is lowered from its fullest cell.
  id_set lopsided{0, 1, 2, 3, 4, 8};
  BOOST_TEST(plan_setvcpus(lopsided, cells, 5).remove == (std::vector<unsigned>{3}));
  BOOST_TEST(plan_setvcpus(id_set{0}, cells, 0).remove.empty());
}

// Properties on random cell layouts: online_set is nested (raising only adds),
// always holds vCPU 0, has the asked size, keeps cells within one of each
// other when they are equally sized, and plan_setvcpus from a balanced set
// lands exactly on online_set.
BOOST_AUTO_TEST_CASE(random_layouts) {
  std::mt19937 rng(20240601);
  for (int round = 0; round < 500; ++round) {
    unsigned cells = std::uniform_int_distribution<unsigned>(1, 6)(rng);
    unsigned per = std::uniform_int_distribution<unsigned>(1, 6)(rng);
    std::vector<id_set> layout(cells);
    bool rr = rng() % 2;
    for (unsigned v = 0; v < cells * per; ++v) layout[rr ? v % cells : v / per].insert(v);
    const unsigned total = cells * per;
    std::vector<unsigned> previous;
    for (unsigned count = 1; count <= total; ++count) {
      auto on = online_set(layout, count);
      BOOST_TEST_REQUIRE(on.size() == count);
      BOOST_TEST(on.front() == 0u);
      BOOST_TEST(std::includes(on.begin(), on.end(), previous.begin(), previous.end()));
      unsigned lo = total, hi = 0;
      for (const auto& cell : layout) {
        unsigned n = static_cast<unsigned>(std::count_if(cell.begin(), cell.end(), [&](unsigned v) {
          return std::binary_search(on.begin(), on.end(), v);
        }));
        lo = std::min(lo, n);
        hi = std::max(hi, n);
      }
      BOOST_TEST(hi - lo <= 1u);
      id_set from(previous.begin(), previous.end());
      if (!from.empty()) {
        auto plan = plan_setvcpus(from, layout, count);
        id_set result = from;
        for (unsigned v : plan.add) result.insert(v);
        BOOST_TEST((result == id_set(on.begin(), on.end())));
        auto back = plan_setvcpus(result, layout, count - 1);
        for (unsigned v : back.remove) result.erase(v);
        BOOST_TEST((result == from));
      }
      previous = on;
    }
  }
}
