#define BOOST_TEST_MODULE guest_log
#include <boost/test/unit_test.hpp>

#include "qemu/guest_log.hpp"

#include <fstream>
#include <sstream>

using namespace vnumad;
using namespace vnumad::qemu;

namespace {
std::string sample(const std::string& name) {
  std::ifstream in(std::string(VNUMAD_TEST_DATA_DIR) + "/guest/" + name);
  BOOST_TEST_REQUIRE(static_cast<bool>(in), "missing sample " << name);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}
}  // namespace

// serial-4cells.log: a real boot of the test guest, 4 cells x 2 threads,
// remote distance 21 (tests/guest/README.md).
BOOST_AUTO_TEST_CASE(parses_a_real_serial_log) {
  auto view = parse_guest_view(sample("serial-4cells.log"));
  BOOST_TEST_REQUIRE(view.has_value(), (view ? "" : view.error().message));
  BOOST_TEST(view->ready);
  BOOST_TEST(!view->powered_off);
  BOOST_TEST(view->kernel == "6.1.0-56-amd64");
  BOOST_TEST(view->node_ids == (config::id_set{0, 1, 2, 3}));
  BOOST_TEST(view->possible.size() == 10u);
  BOOST_TEST(view->present == (config::id_set{0, 1, 2, 3, 4, 5, 6, 7}));
  BOOST_TEST_REQUIRE(view->nodes.size() == 4u);
  for (unsigned n = 0; n < 4; ++n) {
    const auto& node = view->nodes.at(n);
    BOOST_TEST(node.cpus == (config::id_set{2 * n, 2 * n + 1}));
    BOOST_TEST(node.memtotal_kb > 0u);
    BOOST_TEST_REQUIRE(node.distances.size() == 4u);
    for (unsigned j = 0; j < 4; ++j) BOOST_TEST(node.distances[j] == (j == n ? 10u : 21u));
  }
  BOOST_TEST(view->nodes.at(0).memtotal_kb == 127064u);
  BOOST_TEST_REQUIRE(view->cpus.size() == 8u);
  BOOST_TEST(view->cpus.at(5).node == 2u);
  BOOST_TEST(view->cpus.at(5).package == 2u);
  BOOST_TEST(view->cpus.at(5).siblings == (config::id_set{4, 5}));
  BOOST_TEST_REQUIRE(!view->ticks.empty());
  const auto& last = view->ticks.back();
  BOOST_TEST(last.seq == view->ticks.size());
  BOOST_TEST(last.online.size() == 8u);
  BOOST_TEST(last.node_cpus.at(3) == (config::id_set{6, 7}));
  BOOST_TEST(last.node_memtotal_kb.at(1) == 82832u);
}

BOOST_AUTO_TEST_CASE(tolerates_console_noise_partial_lines_and_reboots) {
  const std::string log =
      "\r\n[    0.1] some kernel message\r\n"
      "VNUMA kernel=old nodes=0 possible=0 present=0 online=0\r\n"
      "VNUMA node=0 cpus=0 memtotal_kb=1 distance=10\r\n"
      "VNUMA READY\r\n"
      // a reboot starts a new view
      "VNUMA kernel=new nodes=0-1 possible=0-1 present=0-1 online=0-1\r\n"
      "VNUMA node=0 cpus=0-1 memtotal_kb=100 distance=10,20\r\n"
      "VNUMA node=1 cpus= memtotal_kb=50 distance=20,10\r\n"  // memory-only node
      "VNUMA tick=1 online=0-1 node0.cpus=0-1 node1.cpus= node0.memtotal_kb=100 node1.memtotal_kb=50\n"
      "VNUMA POWEROFF\n"
      "VNUMA tick=2 online=0-1 node0.cpu";  // still being written
  auto view = parse_guest_view(log);
  BOOST_TEST_REQUIRE(view.has_value(), (view ? "" : view.error().message));
  BOOST_TEST(view->kernel == "new");
  BOOST_TEST(!view->ready);  // not yet in this boot
  BOOST_TEST(view->powered_off);
  BOOST_TEST(view->nodes.size() == 2u);
  BOOST_TEST(view->nodes.at(1).cpus.empty());
  BOOST_TEST(view->nodes.at(1).distances == (std::vector<unsigned>{20, 10}), boost::test_tools::per_element());
  BOOST_TEST_REQUIRE(view->ticks.size() == 1u);
  BOOST_TEST(view->ticks[0].node_cpus.at(1).empty());
}

BOOST_AUTO_TEST_CASE(malformed_vnuma_lines_are_errors_naming_the_line) {
  struct row {
    const char* line;
    const char* expected;
  };
  const std::vector<row> rows = {
      {"VNUMA node=x cpus=0 memtotal_kb=1 distance=10\n", "node id 'x' is not a number"},
      {"VNUMA node=0 cpus=0-a memtotal_kb=1 distance=10\n", "cpus"},
      {"VNUMA node=0 cpus=0 memtotal_kb=lots distance=10\n", "memtotal_kb 'lots'"},
      {"VNUMA node=0 cpus=0 memtotal_kb=1 distance=10 20\n", "token '20' is not key=value"},
      {"VNUMA node=0 cpus=0 memtotal_kb=1 distance=10,,20\n", "distance list"},
      {"VNUMA cpu=1 node=0 package=p core=0 siblings=0-1\n", "package 'p'"},
      {"VNUMA tick=one online=0\n", "tick 'one'"},
      {"VNUMA tick=1 node0.memtotal_kb=-5\n", "node0.memtotal_kb '-5'"},
      {"VNUMA bogus=1\n", "unknown line kind 'bogus'"},
      {"VNUMA \n", "no fields"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.line) {
      auto view = parse_guest_view(r.line);
      BOOST_TEST_REQUIRE(!view.has_value());
      BOOST_TEST((view.error().code == errc::protocol_error));
      BOOST_TEST(view.error().message.find(r.expected) != std::string::npos, view.error().message);
      BOOST_TEST(view.error().message.find("in line 'VNUMA") != std::string::npos);
    }
  }
}
