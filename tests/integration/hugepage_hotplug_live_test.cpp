// A dimm hot-added to a huge-page guest is backed by huge pages from
// hugetlbfs on its cell's node, as a boot-time dimm of the same guest would
// be. Issue 13 found hot-added dimms always in plain memory-backend-ram:
// a huge-page guest then got normal pages, unaccounted in the ledger. Checked
// from the kernel: QEMU's numa_maps shows the dimm's mapping as a hugetlbfs
// file with its pages on node 0, and node 0's free 2 MiB pages drop by its
// size. This machine has one NUMA node, so "its node" is node 0 here; the
// binding to other nodes is proven by the NUMA test host (tests/numahost).
#define BOOST_TEST_MODULE hugepage_hotplug_live
#include "daemon_support.hpp"

#include <sys/mount.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

const fs::path node0_free = "/sys/devices/system/node/node0/hugepages/hugepages-2048kB/free_hugepages";
const fs::path nr_hugepages = "/proc/sys/vm/nr_hugepages";

long read_number(const fs::path& p) {
  std::string t = read_text(p);
  return t.empty() ? -1 : std::stol(t);
}

// 2 MiB huge pages and a hugetlbfs at /dev/hugepages for the test, put back
// as they were afterwards.
struct hugepage_pool {
  long before = 0;
  bool mounted = false;
  explicit hugepage_pool(long pages) {
    before = read_number(nr_hugepages);
    write_text(nr_hugepages, std::to_string(before + pages) + "\n");
    if (read_text("/proc/mounts").find(" hugetlbfs ") == std::string::npos) {
      fs::create_directories("/dev/hugepages");
      mounted = ::mount("hugetlbfs", "/dev/hugepages", "hugetlbfs", 0, "pagesize=2M") == 0;
    }
  }
  ~hugepage_pool() {
    if (mounted) ::umount("/dev/hugepages");
    write_text(nr_hugepages, std::to_string(before) + "\n");
  }
};

// The numa_maps lines of QEMU's hugetlbfs mappings.
std::vector<std::string> hugetlbfs_mappings(pid_t qemu) {
  std::vector<std::string> out;
  std::istringstream in(read_text("/proc/" + std::to_string(qemu) + "/numa_maps"));
  for (std::string line; std::getline(in, line);)
    if (line.find(" huge ") != std::string::npos && line.find("file=/dev/hugepages/") != std::string::npos)
      out.push_back(line);
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_hot_added_dimm_of_a_huge_page_guest_is_huge_pages_on_its_node) {
  hugepage_pool pool(128);
  BOOST_TEST_REQUIRE(read_number(node0_free) >= 128, "the kernel did not give 128 huge pages");
  daemon_fixture d("reserved_memory = 0\n");
  const std::string xml =
      "<domain type='qemu'>\n  <name>hp</name>\n  <memory unit='MiB'>64</memory>\n"
      "  <maxMemory slots='2' unit='MiB'>256</maxMemory>\n"
      "  <vcpu placement='static'>1</vcpu>\n"
      "  <vnuma mode='node' distribution='contiguous'><partition nodeset='0' cells='1'/></vnuma>\n"
      "  <memoryBacking><hugepages/></memoryBacking>\n"
      "  <features><acpi/><tcg><tb-cache unit='MiB'>32</tb-cache></tcg></features>\n"
      "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
      "  <devices>\n    <serial type='file'><source path='" + d.serial("hp").string() +
      "'/><target port='0'/></serial>\n  </devices>\n</domain>\n";
  const pid_t qemu = d.run_guest("hp", xml);
  const auto boot_mappings = hugetlbfs_mappings(qemu);
  BOOST_TEST(boot_mappings.size() == 1u, "the guest's RAM in hugetlbfs");
  const long free_before = read_number(node0_free);

  auto attached = d.call("attach-memory", {{"name", "hp"}, {"cell", 0}, {"size", "32MiB"}});
  BOOST_TEST_REQUIRE(attached.has_value(), (attached ? "" : attached.error().message));

  // QEMU preallocates huge-page backends: the 16 pages are taken at once.
  BOOST_TEST(read_number(node0_free) == free_before - 16);
  const auto mappings = hugetlbfs_mappings(qemu);
  BOOST_TEST_REQUIRE(mappings.size() == 2u, read_text("/proc/" + std::to_string(qemu) + "/numa_maps"));
  std::string dimm_line;
  for (const auto& line : mappings)
    if (line.find("memdimm0") != std::string::npos) dimm_line = line;
  BOOST_TEST_REQUIRE(!dimm_line.empty(), "no hugetlbfs mapping for memdimm0");
  BOOST_TEST(dimm_line.find("bind:0") != std::string::npos, dimm_line);
  BOOST_TEST(dimm_line.find("N0=16") != std::string::npos, dimm_line);

  // A size that is not whole huge pages is refused, naming the page size.
  auto odd = d.call("attach-memory", {{"name", "hp"}, {"cell", 0}, {"size", "3MiB"}});
  BOOST_TEST_REQUIRE(!odd.has_value());
  BOOST_TEST(odd.error().message.find("multiple of 2 MiB (the cell's huge page size)") != std::string::npos,
             odd.error().message);
  BOOST_TEST(read_number(node0_free) == free_before - 16);

  BOOST_TEST((d.call("destroy", {{"name", "hp"}}, 30s)).has_value());
}
