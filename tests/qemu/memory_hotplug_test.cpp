#define BOOST_TEST_MODULE memory_hotplug
// A hot-added dimm is built by the boot-time builder: for each kind of guest
// memory the object-add arguments equal the -object of the same dimm written
// in the domain XML (issue 13: hot-added dimms were always plain
// memory-backend-ram, huge pages and memfd ignored).
#include "config/domain_xml.hpp"
#include "qemu/argv.hpp"
#include "qemu/memory_hotplug.hpp"

#include <boost/json.hpp>
#include <boost/test/unit_test.hpp>

using namespace vnumad;
namespace json = boost::json;

namespace {

qemu::host_facts host4() {
  qemu::host_facts h;
  h.host_nodes = {0, 1, 2, 3};
  h.hugetlbfs_mounts = {{2ull << 20, "/dev/hugepages2M"}, {1ull << 30, "/dev/hugepages1G"}};
  h.qmp_socket_path = "/run/vnumad/g/qmp.sock";
  h.state_dir = "/run/vnumad/g";
  return h;
}

// Two cells on host nodes 1 and 3, `backing` inside <memoryBacking>, and
// `dimm` (maybe empty) as a boot-time device.
std::string guest_xml(const std::string& backing, const std::string& dimm) {
  return "<domain type='qemu'><name>g</name><memory unit='MiB'>2048</memory>"
         "<maxMemory slots='4' unit='MiB'>8192</maxMemory><vcpu>2</vcpu>"
         "<memoryBacking>" + backing + "</memoryBacking>"
         "<numatune><memnode cellid='0' mode='strict' nodeset='1'/><memnode cellid='1' mode='strict' nodeset='3'/></numatune>"
         "<cpu mode='maximum'><numa><cell id='0' cpus='0' memory='1024' unit='MiB'/>"
         "<cell id='1' cpus='1' memory='1024' unit='MiB'/></numa></cpu>"
         "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
         "<devices>" + dimm + "<memballoon model='none'/></devices></domain>";
}

config::domain parse(const std::string& xml) {
  auto d = config::parse_domain_string(xml, "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  return *d;
}

// The dimm attach-memory adds: cell 1, bound to host node 3.
config::memory_device_def dimm_on_cell_1(std::uint64_t bytes) {
  config::memory_device_def m;
  m.model = "dimm";
  m.target_size_bytes = bytes;
  m.target_node = 1;
  m.source_nodemask = config::id_set{3};
  m.alias = "dimm0";
  return m;
}

// The -object JSON for `id` in the boot argv.
json::object boot_object(const config::domain& d, const std::string& id) {
  auto argv = qemu::build_argv(d, host4());
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  for (std::size_t i = 0; i + 1 < argv->size(); ++i)
    if ((*argv)[i] == "-object" && (*argv)[i + 1].find("\"id\":\"" + id + "\"") != std::string::npos)
      return json::parse((*argv)[i + 1]).as_object();
  BOOST_FAIL("no -object " << id);
  return {};
}

const std::string boot_dimm =
    "<memory model='dimm'><source><nodemask>3</nodemask></source><target><size unit='MiB'>512</size>"
    "<node>1</node></target><alias name='dimm0'/></memory>";

}  // namespace

BOOST_AUTO_TEST_CASE(each_backing_gets_the_backend_a_boot_time_dimm_would) {
  for (const std::string backing : {"", "<hugepages/>", "<hugepages><page size='1' unit='GiB'/></hugepages>",
                                    "<source type='memfd'/><access mode='shared'/>", "<access mode='shared'/>",
                                    "<allocation mode='immediate'/>"}) {
    auto running = parse(guest_xml(backing, ""));
    const std::uint64_t size = backing.find("GiB") != std::string::npos ? 1ull << 30 : 512ull << 20;
    auto hot = qemu::build_dimm_hotplug(running, host4(), dimm_on_cell_1(size));
    BOOST_TEST_REQUIRE(hot.has_value(), backing << ": " << (hot ? "" : hot.error().message));

    std::string with_dimm = boot_dimm;
    if (size != 512ull << 20) with_dimm.replace(with_dimm.find("<size unit='MiB'>512"), 20, "<size unit='MiB'>1024");
    auto at_boot = boot_object(parse(guest_xml(backing, with_dimm)), "memdimm0");
    BOOST_TEST(json::serialize(hot->object_add) == json::serialize(at_boot), backing);
    BOOST_TEST(hot->object_add.at("host-nodes").as_array() == json::array{3}, backing);
    BOOST_TEST(hot->object_add.at("policy").as_string() == "bind", backing);
    BOOST_TEST(hot->device_add.at("driver").as_string() == "pc-dimm");
    BOOST_TEST(hot->device_add.at("node").to_number<int>() == 1);
    BOOST_TEST(hot->device_add.at("memdev").as_string() == "memdimm0");
    BOOST_TEST(!hot->device_add.contains("slot"), "QEMU picks the free slot");
  }
}

BOOST_AUTO_TEST_CASE(a_huge_page_guest_gets_hugetlbfs_and_the_ledger_its_page_size) {
  auto running = parse(guest_xml("<hugepages/>", ""));
  auto hot = qemu::build_dimm_hotplug(running, host4(), dimm_on_cell_1(512ull << 20));
  BOOST_TEST_REQUIRE(hot.has_value());
  BOOST_TEST(hot->object_add.at("qom-type").as_string() == "memory-backend-file");
  BOOST_TEST(hot->object_add.at("mem-path").as_string() == "/dev/hugepages2M");
  BOOST_TEST(hot->object_add.at("prealloc").as_bool());
  BOOST_TEST(hot->hugepage_bytes == 2ull << 20);

  auto plain = qemu::build_dimm_hotplug(parse(guest_xml("", "")), host4(), dimm_on_cell_1(512ull << 20));
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(plain->object_add.at("qom-type").as_string() == "memory-backend-ram");
  BOOST_TEST(plain->hugepage_bytes == 0u);
}

BOOST_AUTO_TEST_CASE(a_size_that_is_not_whole_pages_is_refused_not_rounded) {
  auto gib = parse(guest_xml("<hugepages><page size='1' unit='GiB'/></hugepages>", ""));
  auto hot = qemu::build_dimm_hotplug(gib, host4(), dimm_on_cell_1(512ull << 20));
  BOOST_TEST_REQUIRE(!hot.has_value());
  BOOST_TEST(hot.error().message ==
             "attach-memory (dimm on cell 1): size 512 MiB must be a non-zero multiple of 1 GiB (the cell's huge page size)");
  auto odd = qemu::build_dimm_hotplug(parse(guest_xml("", "")), host4(), dimm_on_cell_1(3ull << 20));
  BOOST_TEST_REQUIRE(!odd.has_value());
  BOOST_TEST(odd.error().message == "attach-memory (dimm on cell 1): size 3 MiB must be a non-zero multiple of 2 MiB");
}
