#define BOOST_TEST_MODULE vnuma_numa_maps
#include <boost/test/unit_test.hpp>

#include "vnuma/numa_maps.hpp"

#include "support/files_and_processes.hpp"

#include <filesystem>

using namespace vnumad;
using namespace vnumad::vnuma;

namespace {

// A recorded sample of tests/data/numa_maps.
std::string sample(const std::string& name) {
  const std::filesystem::path file = std::filesystem::path(VNUMAD_TEST_DATA_DIR) / "numa_maps" / name;
  BOOST_TEST_REQUIRE(std::filesystem::exists(file), "missing sample " << name);
  return vnumad::testing::read_text(file);
}

const numa_vma& at(const std::vector<numa_vma>& vmas, std::uint64_t start) {
  for (const auto& v : vmas)
    if (v.start == start) return v;
  BOOST_FAIL("no mapping at " << std::hex << start);
  return vmas.front();
}

}  // namespace

BOOST_AUTO_TEST_CASE(real_qemu_backends_with_their_sizes_from_maps) {
  auto vmas = parse_numa_maps(sample("four-backends.numa_maps"), sample("four-backends.maps"));
  BOOST_TEST_REQUIRE(vmas.has_value(), (vmas ? "" : vmas.error().message));
  BOOST_TEST(vmas->size() == 309u);

  const auto& ram = at(*vmas, 0x7f7d37a00000);
  BOOST_TEST(ram.policy == "bind:0");
  BOOST_TEST(ram.policy_mode == "bind");
  BOOST_TEST((ram.policy_nodes == config::id_set{0}));
  BOOST_TEST(ram.size_bytes() == 128u << 20);
  BOOST_TEST(ram.perms == "rw-p");
  BOOST_TEST(!ram.shared());
  BOOST_TEST(ram.pages.at(0) == 32768u);
  BOOST_TEST(ram.resident_bytes() == 128u << 20);
  BOOST_TEST(!ram.huge);

  // The file backend's mapping is named after its id; the kernel's "\040" is a space.
  const auto& file = at(*vmas, 0x7f7d3fdfe000);
  BOOST_TEST(file.file == "/tmp/nsamp/qemu_back_mem.ram-node2.3iDIK5 (deleted)");
  BOOST_TEST(file.size_bytes() == 64u << 20);

  const auto& memfd = at(*vmas, 0x7f7d43dff000);
  BOOST_TEST(memfd.file == "/memfd:memory-backend-memfd (deleted)");
  BOOST_TEST(memfd.shared());
  BOOST_TEST(memfd.pages.at(0) == 16384u);

  // The guard page QEMU leaves after each backend: no pages, no page size.
  const auto& guard = at(*vmas, 0x7f7d3fa00000);
  BOOST_TEST(guard.policy == "default");
  BOOST_TEST(guard.policy_nodes.empty());
  BOOST_TEST(guard.perms == "---p");
  BOOST_TEST(guard.pages.empty());
  BOOST_TEST(guard.size_bytes() == 4096u);

  BOOST_TEST(at(*vmas, 0x555a92b75000).heap);
  BOOST_TEST(at(*vmas, 0x7ffe4af2b000).stack);
}

BOOST_AUTO_TEST_CASE(huge_pages_count_in_their_own_page_size) {
  auto vmas = parse_numa_maps(sample("hugepages.numa_maps"), sample("hugepages.maps"));
  BOOST_TEST_REQUIRE(vmas.has_value(), (vmas ? "" : vmas.error().message));
  const auto& hugetlbfs = at(*vmas, 0x7f9b7fc00000);
  BOOST_TEST(hugetlbfs.huge);
  BOOST_TEST(hugetlbfs.page_bytes == 2u << 20);
  BOOST_TEST(hugetlbfs.pages.at(0) == 32u);
  BOOST_TEST(hugetlbfs.resident_bytes() == 64u << 20);
  BOOST_TEST(hugetlbfs.size_bytes() == 64u << 20);
  // A hugetlb memfd: "huge" and dirty= only.
  const auto& memfd = at(*vmas, 0x7f9b7ba00000);
  BOOST_TEST(memfd.huge);
  BOOST_TEST(memfd.shared());
  BOOST_TEST(memfd.resident_bytes() == 64u << 20);
}

BOOST_AUTO_TEST_CASE(every_policy_form_the_kernel_writes) {
  struct row {
    const char* line;
    const char* mode;
    config::id_set nodes;
  };
  for (const row& r : {
           row{"7f0000000000 bind:1 anon=1 N1=1 kernelpagesize_kB=4", "bind", {1}},
           row{"7f0000000000 bind:0-3 anon=1 N1=1 kernelpagesize_kB=4", "bind", {0, 1, 2, 3}},
           row{"7f0000000000 bind=static:0,2 anon=1 N2=1 kernelpagesize_kB=4", "bind", {0, 2}},
           row{"7f0000000000 prefer:1 anon=1 N1=1 kernelpagesize_kB=4", "prefer", {1}},
           row{"7f0000000000 prefer (many):1-2 anon=1 N1=1 kernelpagesize_kB=4", "prefer", {1, 2}},
           row{"7f0000000000 interleave:0-1 anon=2 N0=1 N1=1 kernelpagesize_kB=4", "interleave", {0, 1}},
           row{"7f0000000000 weighted interleave:0-1 anon=2 N0=1 N1=1 kernelpagesize_kB=4", "weighted interleave",
               {0, 1}},
           row{"7f0000000000 local anon=1 N0=1 kernelpagesize_kB=4", "local", {}},
           row{"7f0000000000 default", "default", {}},
       }) {
    auto vmas = parse_numa_maps(r.line, "");
    BOOST_TEST_REQUIRE(vmas.has_value(), r.line << ": " << (vmas ? "" : vmas.error().message));
    BOOST_TEST_REQUIRE(vmas->size() == 1u);
    BOOST_TEST(vmas->front().policy_mode == r.mode, r.line);
    BOOST_TEST((vmas->front().policy_nodes == r.nodes), r.line);
    // No maps line: the size is unknown.
    BOOST_TEST(vmas->front().size_bytes() == 0u);
  }
}

BOOST_AUTO_TEST_CASE(pages_on_several_nodes_are_summed_per_node) {
  auto vmas = parse_numa_maps("7f7d37a00000 bind:1 anon=32768 dirty=32768 N1=30000 N2=2768 kernelpagesize_kB=4\n",
                              "7f7d37a00000-7f7d3fa00000 rw-p 00000000 00:00 0 \n");
  BOOST_TEST_REQUIRE(vmas.has_value());
  const auto& v = vmas->front();
  BOOST_TEST(v.pages.at(1) == 30000u);
  BOOST_TEST(v.pages.at(2) == 2768u);
  BOOST_TEST(v.resident_bytes() == 32768u * 4096u);
}

BOOST_AUTO_TEST_CASE(malformed_lines_are_errors_naming_the_line) {
  for (const char* text : {"zz bind:0\n", "7f0000000000\n", "7f0000000000 bind:x anon=1\n",
                           "7f0000000000 default N0=abc kernelpagesize_kB=4\n",
                           "7f0000000000 default N0=1 kernelpagesize_kB=0\n"}) {
    auto vmas = parse_numa_maps(text, "");
    BOOST_TEST_REQUIRE(!vmas.has_value(), text);
    BOOST_TEST(vmas.error().message.find("numa_maps line 1") != std::string::npos, vmas.error().message);
  }
  BOOST_TEST(parse_numa_maps("", "")->empty());
}

BOOST_AUTO_TEST_CASE(proc_path_escapes) {
  BOOST_TEST(unescape_proc_path("/a\\040b\\012c") == "/a b\nc");
  BOOST_TEST(unescape_proc_path("trailing\\04") == "trailing\\04");
  BOOST_TEST(unescape_proc_path("\\134") == "\\");
}
