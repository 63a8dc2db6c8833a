#define BOOST_TEST_MODULE vnuma_placement
#include <boost/test/unit_test.hpp>

#include "vnuma/placement.hpp"

using namespace vnumad;
using namespace vnumad::vnuma;

namespace {

// Two cells on host nodes 1 and 2 (the shape that got its memory shuffled on
// a 4-node host): vCPUs 0-1 on node 1's threads, vCPU 2 on node 2's, vCPU 3
// unpinned.
placement two_cells() {
  placement p;
  p.guest = "c12";
  p.cells = {cell_placement{0, 1, {0, 1}, 128u << 20, 0}, cell_placement{1, 2, {2, 3}, 128u << 20, 0}};
  p.vcpus = {vcpu_placement{0, 0, {6}}, vcpu_placement{1, 0, {7}}, vcpu_placement{2, 1, {10}},
             vcpu_placement{3, 1, {}}};
  p.emulator_cpus = {4, 8};
  return p;
}

const id_set all_cpus = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};

}  // namespace

BOOST_AUTO_TEST_CASE(every_thread_gets_the_whole_nodeset_as_mems) {
  const placement p = two_cells();
  BOOST_TEST((guest_memory_nodes(p) == id_set{1, 2}));
  // A vCPU's mems are not its own cell's node: it may fault any cell's pages,
  // and its cgroup's mems would win over that cell's backend binding.
  for (unsigned v = 0; v < 4; ++v) BOOST_TEST((vcpu_pin(p, v, all_cpus).mems == id_set{1, 2}), "vCPU " << v);
  BOOST_TEST((emulator_pin(p, all_cpus).mems == id_set{1, 2}));
}

BOOST_AUTO_TEST_CASE(cpus_come_from_the_placement_or_default_to_the_host) {
  const placement p = two_cells();
  BOOST_TEST((vcpu_pin(p, 0, all_cpus).cpus == id_set{6}));
  BOOST_TEST((vcpu_pin(p, 2, all_cpus).cpus == id_set{10}));
  BOOST_TEST((vcpu_pin(p, 3, all_cpus).cpus == all_cpus));  // unpinned
  BOOST_TEST((vcpu_pin(p, 9, all_cpus).cpus == all_cpus));  // beyond the placement (not yet plugged)
  BOOST_TEST((emulator_pin(p, all_cpus).cpus == id_set{4, 8}));
  placement unpinned = p;
  unpinned.emulator_cpus.clear();
  BOOST_TEST((emulator_pin(unpinned, all_cpus).cpus == all_cpus));
}
