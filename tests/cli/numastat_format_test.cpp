#define BOOST_TEST_MODULE cli_numastat_format
#include <boost/test/unit_test.hpp>

#include "cli/numastat_format.hpp"
#include "vnuma/memory_attribution.hpp"

#include <boost/json.hpp>

#include <sstream>

using namespace vnumad;
namespace json = boost::json;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

// Cell 0 bound to node 1 with a third of its pages on node 2, cells 1 and 2
// alike on node 3 (one row), a hugetlb cell 3 on node 1.
vnuma::memory_report report() {
  auto vmas = vnuma::parse_numa_maps(
      "55a870e8000 bind:1-3 anon=52 dirty=52 N1=40 N3=12 kernelpagesize_kB=4\n"
      "7f0000000000 bind:1 anon=32768 dirty=32768 N1=21846 N2=10922 kernelpagesize_kB=4\n"
      "7f0020000000 bind:3 anon=16384 dirty=16384 N3=16384 kernelpagesize_kB=4\n"
      "7f0030000000 bind:3 anon=16384 dirty=16384 N3=16384 kernelpagesize_kB=4\n"
      "7f0040000000 bind:1 file=/dev/hugepages/qemu_back_mem.ram-node3.AbCdEf\\040(deleted) huge anon=32 dirty=32 "
      "N1=32 kernelpagesize_kB=2048\n",
      "55a870e8000-55a8711c000 rw-p 00000000 00:00 0 \n"
      "7f0000000000-7f0008000000 rw-p 00000000 00:00 0 \n"
      "7f0020000000-7f0024000000 rw-p 00000000 00:00 0 \n"
      "7f0030000000-7f0034000000 rw-p 00000000 00:00 0 \n"
      "7f0040000000-7f0044000000 rw-p 00000000 00:0f 1234 /dev/hugepages/qemu_back_mem.ram-node3.AbCdEf (deleted)\n");
  BOOST_TEST_REQUIRE(vmas.has_value());
  std::vector<vnuma::memory_backend> backends = {
      {"ram-node0", 128 * MiB, {1}, "bind", false, 0, {}},
      {"ram-node1", 64 * MiB, {3}, "bind", false, 1, {}},
      {"ram-node2", 64 * MiB, {3}, "bind", false, 2, {}},
      {"ram-node3", 64 * MiB, {1}, "bind", false, 3, {}},
  };
  return vnuma::attribute_memory(*vmas, backends);
}

}  // namespace

BOOST_AUTO_TEST_CASE(table_has_a_row_per_cell_a_column_per_node_and_other) {
  json::object o = vnuma::to_json(report());
  o["name"] = "web";
  o["pid"] = 4242;
  std::ostringstream out;
  cli::print_numastat(o, out);
  const std::string text = out.str();
  BOOST_TEST_MESSAGE(text);
  BOOST_TEST(text.find("Per-node memory of guest 'web' (QEMU pid 4242), in MiB") != std::string::npos, text);
  BOOST_TEST(text.find("Node 1    Node 2    Node 3") != std::string::npos, text);
  // 21846 + 10922 pages of 4 KiB: 85.3 and 42.7 MiB, a third off node 1.
  BOOST_TEST(text.find("0       node 1     4K          85.3      42.7       0.0     128.0  33%") != std::string::npos,
             text);
  BOOST_TEST(text.find("1-2*    node 3     4K") != std::string::npos, text);
  BOOST_TEST(text.find("3       node 1     2M          64.0") != std::string::npos, text);
  BOOST_TEST(text.find("other   -") != std::string::npos, text);
  BOOST_TEST(text.find("cannot be told") != std::string::npos, text);
  BOOST_TEST(text.find("Guest memory on its bound nodes: 87%") != std::string::npos, text);
}

BOOST_AUTO_TEST_CASE(dominfo_line_names_the_cells_off_their_node) {
  BOOST_TEST(cli::memory_placement_line(vnuma::placement_summary_json(report())) == "cell 0: 33% off node 1");

  vnuma::memory_report clean;
  vnuma::cell_memory row;
  row.cells = {0};
  row.bound_nodes = {0};
  row.resident.bytes[0] = 128 * MiB;
  clean.cells.push_back(row);
  BOOST_TEST(cli::memory_placement_line(vnuma::placement_summary_json(clean)) == "100% on bound nodes");

  clean.cells[0].resident.bytes[1] = 1 * MiB;  // 0.78% off
  clean.cells.push_back(row);
  clean.cells[1].cells = {1, 2};
  clean.cells[1].bound_nodes = {1};
  clean.unmatched.push_back({"memdimm0", "no 128 MiB mapping bound to node 0 in numa_maps"});
  BOOST_TEST(cli::memory_placement_line(vnuma::placement_summary_json(clean)) ==
             "cell 0: 0.78% off node 0; cells 1-2: 100% off node 1 (not found in numa_maps: memdimm0)");

  BOOST_TEST(cli::memory_placement_line(vnuma::placement_summary_json(vnuma::memory_report{})) ==
             "no guest pages resident yet");
  BOOST_TEST(cli::memory_placement_line(json::object{{"error", "QMP timed out"}}) == "unknown (QMP timed out)");
}
