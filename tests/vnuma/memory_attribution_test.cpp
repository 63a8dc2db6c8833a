#define BOOST_TEST_MODULE vnuma_memory_attribution
#include <boost/test/unit_test.hpp>

#include "vnuma/memory_attribution.hpp"

#include <boost/json.hpp>

#include "support/files_and_processes.hpp"

#include <filesystem>

using namespace vnumad;
using namespace vnumad::vnuma;
namespace json = boost::json;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

// A recorded sample of tests/data/numa_maps.
std::string sample(const std::string& name) {
  const std::filesystem::path file = std::filesystem::path(VNUMAD_TEST_DATA_DIR) / "numa_maps" / name;
  BOOST_TEST_REQUIRE(std::filesystem::exists(file), "missing sample " << name);
  return vnumad::testing::read_text(file);
}

std::vector<numa_vma> vmas_of(const std::string& numa_maps, const std::string& maps) {
  auto v = parse_numa_maps(numa_maps, maps);
  BOOST_TEST_REQUIRE(v.has_value(), (v ? "" : v.error().message));
  return *v;
}

memory_backend backend(std::string id, std::uint64_t mib, config::id_set nodes, std::optional<unsigned> cell,
                       bool share = false, std::optional<std::string> device = std::nullopt) {
  return memory_backend{std::move(id), mib * MiB, std::move(nodes), "bind", share, cell, std::move(device)};
}

// The backends of four-backends.* as query-memdev and query-memory-devices
// reported them (tests/data/qmp/query-memdev.json).
std::vector<memory_backend> four_backends() {
  return {backend("ram-node1", 64, {0}, 1, true), backend("memdimm0", 128, {0}, 1, false, "dimm0"),
          backend("ram-node2", 64, {0}, 2), backend("ram-node0", 128, {0}, 0)};
}

const cell_memory& row_of(const memory_report& r, unsigned cell) {
  for (const auto& c : r.cells)
    if (c.cells.contains(cell)) return c;
  BOOST_FAIL("no row for cell " << cell);
  return r.cells.front();
}

// A 4-node host (nodes 1-3 used), written from the real lines above with the
// policies and node counts the issue-10 test host showed: QEMU under a
// process policy bind:1-3, cell 0 bound to node 1 with every page on node 2,
// cell 1 bound to node 2 with 37% on node 1, cells 2 and 3 both 64 MiB on
// node 3, and a 256 MiB dimm on cell 0.
const char* four_node_numa_maps =
    "55a870e8000 bind:1-3 anon=52 dirty=52 N1=40 N3=12 kernelpagesize_kB=4\n"
    "7f0000000000 bind:1 anon=32768 dirty=32768 N2=32768 kernelpagesize_kB=4\n"
    "7f0008000000 bind:1-3\n"
    "7f0010000000 bind:2 anon=32768 dirty=32768 N1=12128 N2=20640 kernelpagesize_kB=4\n"
    "7f0018000000 bind:1-3\n"
    "7f0020000000 bind:3 anon=16384 dirty=16384 N3=16384 kernelpagesize_kB=4\n"
    "7f0024000000 bind:1-3\n"
    "7f0030000000 bind:3 anon=16384 dirty=16384 N1=384 N3=16000 kernelpagesize_kB=4\n"
    "7f0034000000 bind:1-3\n"
    "7f0040000000 bind:1 anon=65536 dirty=65536 N1=65536 kernelpagesize_kB=4\n"
    "7f0050000000 bind:1-3\n"
    "7f0060000000 bind:1-3 anon=262143 dirty=262143 N1=262143 kernelpagesize_kB=4\n";
const char* four_node_maps =
    "55a870e8000-55a8711c000 rw-p 00000000 00:00 0 \n"
    "7f0000000000-7f0008000000 rw-p 00000000 00:00 0 \n"
    "7f0008000000-7f0008001000 ---p 00000000 00:00 0 \n"
    "7f0010000000-7f0018000000 rw-p 00000000 00:00 0 \n"
    "7f0018000000-7f0018001000 ---p 00000000 00:00 0 \n"
    "7f0020000000-7f0024000000 rw-p 00000000 00:00 0 \n"
    "7f0024000000-7f0024001000 ---p 00000000 00:00 0 \n"
    "7f0030000000-7f0034000000 rw-p 00000000 00:00 0 \n"
    "7f0034000000-7f0034001000 ---p 00000000 00:00 0 \n"
    "7f0040000000-7f0050000000 rw-p 00000000 00:00 0 \n"
    "7f0050000000-7f0050001000 ---p 00000000 00:00 0 \n"
    "7f0060000000-7f009ffff000 rwxp 00000000 00:00 0 \n";

std::vector<memory_backend> four_node_backends() {
  return {backend("ram-node0", 128, {1}, 0), backend("ram-node1", 128, {2}, 1), backend("ram-node2", 64, {3}, 2),
          backend("ram-node3", 64, {3}, 3), backend("memdimm0", 256, {1}, 0, false, "dimm0")};
}

}  // namespace

BOOST_AUTO_TEST_CASE(ram_backend_names_give_the_cell) {
  BOOST_TEST(*cell_of_ram_backend("ram-node0") == 0u);
  BOOST_TEST(*cell_of_ram_backend("ram-node12") == 12u);
  BOOST_TEST(!cell_of_ram_backend("ram-node"));
  BOOST_TEST(!cell_of_ram_backend("ram-node1x"));
  BOOST_TEST(!cell_of_ram_backend("memdimm0"));
  BOOST_TEST(!cell_of_ram_backend("pc.ram"));
}

BOOST_AUTO_TEST_CASE(real_qemu_file_by_name_memfd_by_sharing_and_alike_backends_as_a_group) {
  auto report = attribute_memory(vmas_of(sample("four-backends.numa_maps"), sample("four-backends.maps")),
                                 four_backends());
  BOOST_TEST(report.unmatched.empty());
  // ram-node0 (cell 0) and memdimm0 (cell 1's dimm) are both 128 MiB private
  // bind:0: which mapping is which cannot be known, so cells 0 and 1 are one
  // row; the memfd (shared) is cell 1's and joins it.
  BOOST_TEST_REQUIRE(report.cells.size() == 2u);
  const auto& both = report.cells[0];
  BOOST_TEST((both.cells == config::id_set{0, 1}));
  BOOST_TEST(both.grouped);
  BOOST_TEST((both.backends == std::vector<std::string>{"memdimm0", "ram-node0", "ram-node1"}));
  BOOST_TEST((both.devices == std::vector<std::string>{"dimm0"}));
  BOOST_TEST(both.size_bytes == 320 * MiB);
  BOOST_TEST(both.resident.total() == 320 * MiB);
  BOOST_TEST(both.off_node_bytes() == 0u);
  BOOST_TEST(both.page_bytes == 4096u);
  // The file backend by its name, qemu_back_mem.ram-node2.XXXXXX.
  const auto& file = report.cells[1];
  BOOST_TEST((file.cells == config::id_set{2}));
  BOOST_TEST(!file.grouped);
  BOOST_TEST(file.resident.bytes.at(0) == 64 * MiB);
  // Everything else is QEMU's own: the 1 GiB TCG buffer, heap, libraries.
  BOOST_TEST(report.other.total() > 1000 * MiB);
  BOOST_TEST(report.total.total() == report.other.total() + 384 * MiB);
}

BOOST_AUTO_TEST_CASE(real_qemu_huge_pages_are_counted_in_bytes_and_as_huge) {
  std::vector<memory_backend> backends = {backend("ram-node1", 64, {0}, 1), backend("ram-node2", 64, {0}, 2, true),
                                          backend("ram-node0", 64, {0}, 0)};
  auto report = attribute_memory(vmas_of(sample("hugepages.numa_maps"), sample("hugepages.maps")), backends);
  BOOST_TEST(report.unmatched.empty());
  BOOST_TEST_REQUIRE(report.cells.size() == 3u);
  for (unsigned cell = 0; cell < 3; ++cell) {
    const auto& row = report.cells[cell];
    BOOST_TEST((row.cells == config::id_set{cell}));
    BOOST_TEST(row.resident.bytes.at(0) == 64 * MiB, "cell " << cell);
    BOOST_TEST(row.off_node_bytes() == 0u);
  }
  BOOST_TEST(report.cells[0].page_bytes == 4096u);
  BOOST_TEST(report.cells[0].resident.huge_bytes.empty());
  // hugetlbfs file (by name) and hugetlb memfd (by shape, shared): 32 pages of 2 MiB each.
  for (unsigned cell : {1u, 2u}) {
    BOOST_TEST(report.cells[cell].page_bytes == 2 * MiB);
    BOOST_TEST(report.cells[cell].resident.huge_bytes.at(0) == 64 * MiB);
  }
  BOOST_TEST(report.other.huge_bytes.empty());
}

BOOST_AUTO_TEST_CASE(pages_off_their_node_dimm_in_its_cell_and_two_cells_on_one_node) {
  auto report = attribute_memory(vmas_of(four_node_numa_maps, four_node_maps), four_node_backends());
  BOOST_TEST(report.unmatched.empty());
  BOOST_TEST_REQUIRE(report.cells.size() == 3u);

  const auto& cell0 = row_of(report, 0);
  BOOST_TEST((cell0.cells == config::id_set{0}));
  BOOST_TEST((cell0.backends == std::vector<std::string>{"memdimm0", "ram-node0"}));
  BOOST_TEST(!cell0.grouped);  // the dimm is told from the RAM by its size
  BOOST_TEST((cell0.bound_nodes == config::id_set{1}));
  BOOST_TEST(cell0.resident.bytes.at(1) == 256 * MiB);
  BOOST_TEST(cell0.resident.bytes.at(2) == 128 * MiB);
  BOOST_TEST(cell0.off_node_bytes() == 128 * MiB);

  const auto& cell1 = row_of(report, 1);
  BOOST_TEST((cell1.cells == config::id_set{1}));
  BOOST_TEST(cell1.off_node_bytes() == 12128u * 4096u);

  // Same size, same node: one row for both, not a made-up split.
  const auto& on3 = row_of(report, 2);
  BOOST_TEST((on3.cells == config::id_set{2, 3}));
  BOOST_TEST(on3.grouped);
  BOOST_TEST(on3.off_node_bytes() == 384u * 4096u);

  // QEMU's own, under the process policy over nodes 1-3.
  BOOST_TEST(report.other.total() == (52u + 262143u) * 4096u);

  auto j = to_json(report);
  const auto& rows = j.at("cells").as_array();
  BOOST_TEST_REQUIRE(rows.size() == 3u);
  const auto& r0 = rows[0].as_object();
  BOOST_TEST(json::serialize(r0.at("cells")) == "[0]");
  BOOST_TEST(json::serialize(r0.at("bound_nodes")) == "[1]");
  BOOST_TEST(r0.at("off_node_percent").as_double() == 33.33);
  BOOST_TEST(r0.at("resident_bytes").to_number<std::uint64_t>() == 384 * MiB);
  BOOST_TEST(json::serialize(r0.at("nodes")) ==
             R"([{"node":1,"bytes":268435456,"huge_bytes":0},{"node":2,"bytes":134217728,"huge_bytes":0}])");
  BOOST_TEST(rows[1].at("off_node_percent").as_double() == 37.01);
  BOOST_TEST(rows[2].at("grouped").as_bool());
  BOOST_TEST(j.at("other").at("resident_bytes").to_number<std::uint64_t>() == (52u + 262143u) * 4096u);

  auto summary = placement_summary_json(report);
  BOOST_TEST(summary.at("off_node").as_array().size() == 3u);
  const auto& off1 = summary.at("off_node").as_array()[1].as_object();
  BOOST_TEST(json::serialize(off1.at("cells")) == "[1]");
  BOOST_TEST(json::serialize(off1.at("bound_nodes")) == "[2]");
  BOOST_TEST(off1.at("off_node_percent").as_double() == 37.01);
  double on = summary.at("on_bound_nodes_percent").as_double();
  BOOST_TEST(on > 70.0);
  BOOST_TEST(on < 100.0);
}

BOOST_AUTO_TEST_CASE(all_on_their_node_is_100_percent) {
  auto report = attribute_memory(vmas_of(sample("four-backends.numa_maps"), sample("four-backends.maps")),
                                 four_backends());
  auto summary = placement_summary_json(report);
  BOOST_TEST(summary.at("on_bound_nodes_percent").as_double() == 100.0);
  BOOST_TEST(summary.at("off_node").as_array().empty());
  BOOST_TEST(to_json(report).at("off_node_bytes").to_number<std::uint64_t>() == 0u);
}

BOOST_AUTO_TEST_CASE(missing_or_ambiguous_backends_are_unmatched_not_guessed) {
  auto vmas = vmas_of(four_node_numa_maps, four_node_maps);
  // A backend with no mapping of its shape.
  auto backends = four_node_backends();
  backends.push_back(backend("memdimm1", 512, {2}, 1, false, "dimm1"));
  auto report = attribute_memory(vmas, backends);
  BOOST_TEST_REQUIRE(report.unmatched.size() == 1u);
  BOOST_TEST(report.unmatched[0].id == "memdimm1");
  BOOST_TEST(report.unmatched[0].reason.find("no 512 MiB mapping bound to node 2") != std::string::npos,
             report.unmatched[0].reason);
  BOOST_TEST(report.cells.size() == 3u);

  // One backend bound to node 3 but two mappings of that shape: neither is taken.
  std::vector<memory_backend> one_on_3 = {backend("ram-node2", 64, {3}, 2)};
  auto ambiguous = attribute_memory(vmas, one_on_3);
  BOOST_TEST_REQUIRE(ambiguous.unmatched.size() == 1u);
  BOOST_TEST(ambiguous.unmatched[0].reason.find("cannot tell which") != std::string::npos);
  BOOST_TEST(ambiguous.cells.empty());
  BOOST_TEST(ambiguous.other.total() == ambiguous.total.total());
}

BOOST_AUTO_TEST_CASE(split_mapping_of_one_backend_is_joined) {
  // The kernel split one 128 MiB backend in two (a partial madvise).
  auto vmas = vmas_of(
      "7f0000000000 bind:1 anon=16384 N1=16384 kernelpagesize_kB=4\n"
      "7f0004000000 bind:1 anon=16384 N1=16000 N0=384 kernelpagesize_kB=4\n"
      "7f0008000000 default\n",
      "7f0000000000-7f0004000000 rw-p 00000000 00:00 0 \n"
      "7f0004000000-7f0008000000 rw-p 00000000 00:00 0 \n"
      "7f0008000000-7f0008001000 ---p 00000000 00:00 0 \n");
  auto report = attribute_memory(vmas, {backend("ram-node0", 128, {1}, 0)});
  BOOST_TEST_REQUIRE(report.cells.size() == 1u);
  BOOST_TEST(report.cells[0].resident.total() == 128 * MiB);
  BOOST_TEST(report.cells[0].off_node_bytes() == 384u * 4096u);
}

BOOST_AUTO_TEST_CASE(adjacent_backends_without_a_guard_page_stay_apart) {
  // Seen live under vnumad (locked memory, process policy bind:0): the two
  // cells' mappings touch, with the same permissions and policy.
  auto vmas = vmas_of(
      "7f0000000000 bind:0 anon=32768 dirty=32768 N0=32768 kernelpagesize_kB=4\n"
      "7f0008000000 bind:0 anon=32768 dirty=32768 N0=32768 kernelpagesize_kB=4\n",
      "7f0000000000-7f0008000000 rw-p 00000000 00:00 0 \n"
      "7f0008000000-7f0010000000 rw-p 00000000 00:00 0 \n");
  auto report = attribute_memory(vmas, {backend("ram-node0", 128, {0}, 0), backend("ram-node1", 128, {0}, 1)});
  BOOST_TEST(report.unmatched.empty());
  BOOST_TEST_REQUIRE(report.cells.size() == 1u);
  BOOST_TEST((report.cells[0].cells == config::id_set{0, 1}));
  BOOST_TEST(report.cells[0].resident.total() == 256 * MiB);
}
