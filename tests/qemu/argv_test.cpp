// build_argv and vcpus_to_hotplug on the seed guest and on small domains
// written inline: accelerator and CPU model, direct kernel boot, escaping,
// PCI placement, devices, and the rejections.
#define BOOST_TEST_MODULE qemu_argv
#include <boost/test/unit_test.hpp>

#include "qemu/argv.hpp"
#include "qemu/argv_compare.hpp"
#include "qemu/qemu_option.hpp"

#include "config/domain_xml.hpp"

#include <algorithm>
#include <string>

using namespace vnumad;
using strings = std::vector<std::string>;

namespace {

const std::string fixtures = std::string(VNUMAD_REFERENCE_DIR) + "/fixtures/domains/";

qemu::host_facts host4() {
  qemu::host_facts h;
  h.host_nodes = {0, 1, 2, 3};
  h.hugetlbfs_mounts = {{2ull << 20, "/dev/hugepages2M"}, {1ull << 30, "/dev/hugepages1G"}};
  h.qmp_socket_path = "/run/vnumad/g/qmp.sock";
  h.state_dir = "/var/lib/vnumad/state/g";
  return h;
}

config::domain parse(const std::string& xml) {
  auto d = config::parse_domain_string(xml, "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  return *d;
}

// A small guest; `extra_devices`, `os_extra`, `cpu` and the domain type vary.
std::string small_xml(const std::string& type = "qemu", const std::string& cpu = "<cpu mode='maximum'/>",
                      const std::string& extra_devices = "", const std::string& os_extra = "") {
  return "<domain type='" + type + "'><name>small</name><uuid>6a1c2c6e-0000-4000-8000-000000000001</uuid>"
         "<memory unit='MiB'>128</memory><vcpu>2</vcpu>"
         "<os><type arch='x86_64' machine='q35'>hvm</type>" + os_extra + "</os>" + cpu +
         "<devices><controller type='pci' index='0' model='pcie-root'/>" + extra_devices +
         "<memballoon model='none'/></devices></domain>";
}

std::string value_of(const strings& argv, const std::string& option) {
  auto v = argv_compare::values_of(argv, option);
  return v.empty() ? "<absent>" : v.front();
}

bool contains(const strings& argv, const std::string& word) {
  return std::find(argv.begin(), argv.end(), word) != argv.end();
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_manual_pxb_matches_the_original_libvirt_argv) {
  auto d = config::parse_domain_file(fixtures + "seed-manual-pxb.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  auto argv = qemu::build_argv(*d, host4());
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  auto expected = argv_compare::read_lines_file(fixtures + "seed-manual-pxb.qemu-argv.txt");
  auto diffs = argv_compare::compare(expected, *argv, {host4().hugetlbfs_mounts, host4().state_dir});
  for (const auto& diff : diffs) BOOST_ERROR(diff);
  // The comparison saw the options (a vacuous compare would pass too).
  BOOST_TEST(argv_compare::memory_objects(*argv).size() == 4u);
  BOOST_TEST(argv_compare::values_of(*argv, "-numa").size() == 4u + 16u);
  auto pxb = argv_compare::numa_devices(*argv);
  BOOST_TEST_REQUIRE(pxb.count("pci.3") == 1u);
  BOOST_TEST(pxb["pci.3"]["numa_node"] == 1);
  BOOST_TEST(pxb["pci.3"]["bus"] == "pcie.0");
  BOOST_TEST(pxb["pci.3"]["addr"] == "0x2");
  // Fixed shape: the seed has no <locked/>, KVM and host CPU, QMP at the given path.
  BOOST_TEST(value_of(*argv, "-overcommit") == "mem-lock=off");
  BOOST_TEST(value_of(*argv, "-accel") == "kvm");
  BOOST_TEST(value_of(*argv, "-cpu") == "host");
  BOOST_TEST(value_of(*argv, "-name") == "guest=OL8-vnuma,debug-threads=on");
  BOOST_TEST(value_of(*argv, "-chardev") == "socket,id=charmonitor,path=/run/vnumad/g/qmp.sock,server=on,wait=off");
  BOOST_TEST(argv->front() == "/usr/bin/qemu-system-x86_64");
  // The NIC sits on the root port behind the expander bus (guest node 1).
  auto devs = argv_compare::values_of(*argv, "-device");
  auto nic = std::find_if(devs.begin(), devs.end(), [](auto& v) { return v.find("virtio-net-pci") != std::string::npos; });
  BOOST_TEST_REQUIRE((nic != devs.end()));
  auto nic_o = boost::json::parse(*nic).as_object();
  BOOST_TEST(nic_o["bus"] == "pci.4");
  BOOST_TEST(nic_o["mac"] == "52:54:00:0f:fb:22");
  BOOST_TEST(value_of(*argv, "-netdev") == R"({"type":"bridge","br":"uteng0","id":"hostnet0"})");
  BOOST_TEST(value_of(*argv, "-sandbox").find("spawn=allow") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(seed_hotplug_vcpus) {
  auto d = config::parse_domain_file(fixtures + "seed-manual-pxb.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  auto cpus = qemu::vcpus_to_hotplug(*d);
  BOOST_TEST_REQUIRE(cpus.has_value(), (cpus ? "" : cpus.error().message));
  BOOST_TEST_REQUIRE(cpus->size() == 15u);
  // sockets=4 cores=2 threads=2: vCPU 5 = socket 1, core 0, thread 1, guest node 1.
  const auto& v5 = (*cpus)[4];
  BOOST_TEST(v5.id == 5u);
  BOOST_TEST(v5.socket_id == 1u);
  BOOST_TEST(v5.core_id == 0u);
  BOOST_TEST(v5.thread_id == 1u);
  BOOST_TEST((v5.node_id == 1u));
  BOOST_TEST(v5.driver == "host-x86_64-cpu");
  auto args = v5.device_add_arguments();
  BOOST_TEST(args["id"] == "vcpu5");
  BOOST_TEST(args["node-id"] == 1);
}

BOOST_AUTO_TEST_CASE(hotplug_order_follows_order_attribute) {
  auto d = config::parse_domain_file(std::string(VNUMAD_REFERENCE_DIR) +
                                     "/conformance/libvirt/cpu-hotplug-startup.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  auto cpus = qemu::vcpus_to_hotplug(*d);
  BOOST_TEST_REQUIRE(cpus.has_value());
  BOOST_TEST_REQUIRE(cpus->size() == 2u);
  BOOST_TEST((*cpus)[0].id == 4u);
  BOOST_TEST((*cpus)[1].id == 5u);
  BOOST_TEST((*cpus)[1].socket_id == 2u);  // sockets=3 cores=2: vCPU 5 = socket 2 core 1
  BOOST_TEST((*cpus)[1].core_id == 1u);
  BOOST_TEST((*cpus)[0].driver == "qemu64-x86_64-cpu");
}

BOOST_AUTO_TEST_CASE(offline_non_hotpluggable_vcpu_is_rejected) {
  auto d = parse(small_xml());
  d.vcpus = {{0, true, false, {}}, {1, false, false, {}}};
  auto r = qemu::vcpus_to_hotplug(d);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find("vcpu id='1'") != std::string::npos, r.error().message);
  BOOST_TEST(!qemu::build_argv(d, host4()));
}

BOOST_AUTO_TEST_CASE(tcg_and_cpu_models) {
  struct row {
    std::string type, cpu, accel, model;
  };
  const std::vector<row> table{
      {"qemu", "<cpu mode='maximum'/>", "tcg", "max"},
      {"kvm", "<cpu mode='host-passthrough'/>", "kvm", "host"},
      {"kvm", "<cpu mode='host-model'/>", "kvm", "host"},
      {"qemu", "<cpu mode='custom'><model>Skylake-Server</model><vendor>Intel</vendor></cpu>", "tcg",
       "Skylake-Server,vendor=Intel"},
      {"qemu", "", "tcg", "qemu64"},
  };
  for (const auto& r : table) {
    auto argv = qemu::build_argv(parse(small_xml(r.type, r.cpu)), host4());
    BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
    BOOST_TEST(value_of(*argv, "-accel") == r.accel, r.cpu);
    BOOST_TEST(value_of(*argv, "-cpu") == r.model, r.cpu);
  }
  auto bad = qemu::build_argv(parse(small_xml("qemu", "<cpu mode='host-passthrough'/>")), host4());
  BOOST_TEST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("mode='maximum'") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_CASE(direct_kernel_boot_passes_values_verbatim) {
  auto argv = qemu::build_argv(parse(small_xml("qemu", "<cpu mode='maximum'/>", "",
                                               "<kernel>/boot/vmlinuz,v1</kernel><initrd>/boot/initrd.img</initrd>"
                                               "<cmdline>console=ttyS0,115200 root=/dev/vda1</cmdline>")),
                               host4());
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  // -kernel/-initrd/-append are not key=value options: no comma doubling.
  BOOST_TEST(value_of(*argv, "-kernel") == "/boot/vmlinuz,v1");
  BOOST_TEST(value_of(*argv, "-initrd") == "/boot/initrd.img");
  BOOST_TEST(value_of(*argv, "-append") == "console=ttyS0,115200 root=/dev/vda1");
}

BOOST_AUTO_TEST_CASE(commas_in_key_value_options_are_escaped) {
  auto host = host4();
  host.qmp_socket_path = "/run/vnumad/a,b/qmp.sock";
  auto d = parse(small_xml("qemu", "<cpu mode='maximum'/>",
                           "<disk type='file' device='disk'><driver name='qemu' type='qcow2'/>"
                           "<source file='/images/a,b.qcow2'/><target dev='vda' bus='virtio'/></disk>"
                           "<serial type='file'><source path='/var/log/g,1.log'/><target port='0'/></serial>"));
  auto argv = qemu::build_argv(d, host);
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  auto chardevs = argv_compare::values_of(*argv, "-chardev");
  BOOST_TEST_REQUIRE(chardevs.size() == 2u);
  BOOST_TEST(chardevs[0] == "socket,id=charmonitor,path=/run/vnumad/a,,b/qmp.sock,server=on,wait=off");
  BOOST_TEST(chardevs[1] == "file,id=charserial0,path=/var/log/g,,1.log");
  // Undoing the escaping gives the path back.
  auto items = qemu::split_option(chardevs[1]);
  BOOST_TEST(items[2].second == "/var/log/g,1.log");
  // JSON values are not escaped.
  auto blockdev = boost::json::parse(value_of(*argv, "-blockdev")).as_object();
  BOOST_TEST(blockdev["filename"] == "/images/a,b.qcow2");
}

BOOST_AUTO_TEST_CASE(unrepresentable_values_are_rejected_naming_the_element) {
  auto d = parse(small_xml("qemu", "<cpu mode='maximum'/>",
                           "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                           "<source file='/images/a.img'/><target dev='vda' bus='virtio'/></disk>"));
  d.devices.disks[0].source = std::string("/images/a\nb.img");
  auto r = qemu::build_argv(d, host4());
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().message.find("<disk><target dev='vda'><source>") != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find("newline") != std::string::npos, r.error().message);

  auto host = host4();
  host.qmp_socket_path = std::string("/run/q\0mp", 9);
  auto r2 = qemu::build_argv(parse(small_xml()), host);
  BOOST_TEST_REQUIRE(!r2);
  BOOST_TEST(r2.error().message.find("NUL") != std::string::npos, r2.error().message);
}

BOOST_AUTO_TEST_CASE(host_nodes_must_exist) {
  auto d = config::parse_domain_file(fixtures + "seed-manual-pxb.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  auto host = host4();
  host.host_nodes = {0, 1};
  auto r = qemu::build_argv(*d, host);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::node_unavailable));
  BOOST_TEST(r.error().message.find("NUMA node 2 is unavailable") != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find("seed-manual-pxb.xml") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(huge_pages_need_a_mount) {
  auto d = parse(small_xml());
  d.memory_backing.emplace();
  d.memory_backing->hugepages = true;
  d.memory_backing->pages = {{1ull << 30, std::nullopt}};
  auto host = host4();
  auto ok = qemu::build_argv(d, host);
  BOOST_TEST_REQUIRE(ok.has_value());
  auto ram = argv_compare::memory_objects(*ok);
  BOOST_TEST(ram["pc.ram"]["mem-path"] == "/dev/hugepages1G");
  BOOST_TEST(ram["pc.ram"]["prealloc"] == true);
  host.hugetlbfs_mounts.erase(1ull << 30);
  auto r = qemu::build_argv(d, host);
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST((r.error().code == errc::insufficient_hugepages));
  BOOST_TEST(r.error().message.find("1 GiB") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(locked_memory_and_no_self_drop) {
  auto d = parse(small_xml());
  d.memory_backing.emplace();
  d.memory_backing->locked = true;
  auto host = host4();
  auto argv = qemu::build_argv(d, host);
  BOOST_TEST_REQUIRE(argv.has_value());
  BOOST_TEST(value_of(*argv, "-overcommit") == "mem-lock=on");
  // vnumad starts QEMU as its user already: QEMU never changes credentials,
  // so the sandbox denies it.
  BOOST_TEST(!contains(*argv, "-run-with"));
  BOOST_TEST(value_of(*argv, "-sandbox") == "on,obsolete=deny,elevateprivileges=deny,spawn=deny,resourcecontrol=deny");
}

BOOST_AUTO_TEST_CASE(q35_endpoints_get_root_ports) {
  auto d = parse(small_xml("qemu", "<cpu mode='maximum'/>",
                           "<disk type='file' device='disk'><driver name='qemu' type='raw'/>"
                           "<source file='/images/a.img'/><target dev='vda' bus='virtio'/></disk>"
                           "<interface type='user'><mac address='52:54:00:00:00:01'/><model type='virtio'/></interface>"
                           "<serial type='pty'><target type='isa-serial' port='0'/></serial>"
                           "<console type='pty'><target type='serial' port='0'/></console>"));
  auto argv = qemu::build_argv(d, host4());
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  std::vector<boost::json::object> devs;
  for (auto& v : argv_compare::values_of(*argv, "-device")) devs.push_back(boost::json::parse(v).as_object());
  auto find = [&](const std::string& driver, unsigned nth = 0) -> boost::json::object {
    for (auto& o : devs)
      if (o["driver"] == driver.c_str() && nth-- == 0) return o;
    return {};
  };
  auto port0 = find("pcie-root-port", 0), port1 = find("pcie-root-port", 1);
  BOOST_TEST(port0["addr"] == "0x1");
  BOOST_TEST(port0["multifunction"] == true);
  BOOST_TEST(port1["addr"] == "0x1.0x1");
  BOOST_TEST(!port1.contains("multifunction"));
  BOOST_TEST(port1["port"] == 9);
  BOOST_TEST(find("virtio-blk-pci")["bus"] == port0["id"]);
  BOOST_TEST(find("virtio-net-pci")["bus"] == port1["id"]);
  BOOST_TEST(find("virtio-blk-pci")["drive"] == "libvirt-1-format");
  // One serial port for <serial> + its <console> alias.
  BOOST_TEST(argv_compare::values_of(*argv, "-chardev").size() == 2u);
  BOOST_TEST(find("isa-serial")["chardev"] == "charserial0");
  // Root ports come before the devices that plug into them.
  auto pos = [&](const std::string& needle) {
    for (std::size_t i = 0; i < argv->size(); ++i)
      if ((*argv)[i].find(needle) != std::string::npos) return i;
    return argv->size();
  };
  BOOST_TEST(pos("pcie-root-port") < pos("virtio-blk-pci"));
}

BOOST_AUTO_TEST_CASE(comparator_detects_differences) {
  // Guards the conformance test against passing vacuously.
  auto d = config::parse_domain_file(fixtures + "seed-manual-pxb.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  d->numatune->memnodes[2].nodeset = {3};
  d->cpu.cells[0].memory_bytes += 1u << 20;
  auto argv = qemu::build_argv(*d, host4());
  BOOST_TEST_REQUIRE(argv.has_value());
  auto expected = argv_compare::read_lines_file(fixtures + "seed-manual-pxb.qemu-argv.txt");
  auto diffs = argv_compare::compare(expected, *argv, {host4().hugetlbfs_mounts, host4().state_dir});
  auto has = [&](const std::string& s) {
    return std::any_of(diffs.begin(), diffs.end(), [&](auto& x) { return x.find(s) != std::string::npos; });
  };
  BOOST_TEST(has("-object ram-node2: key 'host-nodes'"));
  BOOST_TEST(has("-object ram-node0: key 'size'"));
  BOOST_TEST(has("-m:"));
}

// libvirt's <features><tcg><tb-cache>: QEMU's TCG translation cache size. A
// guest with locked memory faults in the whole cache (1 GiB by default).
BOOST_AUTO_TEST_CASE(tcg_translation_cache_size) {
  auto with_features = [](const std::string& type, const std::string& features) {
    std::string xml = small_xml(type);
    xml.insert(xml.find("<cpu"), "<features>" + features + "</features>");
    return xml;
  };
  auto argv = qemu::build_argv(parse(with_features("qemu", "<acpi/><tcg><tb-cache unit='MiB'>16</tb-cache></tcg>")), host4());
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  BOOST_TEST(value_of(*argv, "-accel") == "tcg,tb-size=16");
  // Round trip: the expanded XML keeps it.
  auto d = parse(with_features("qemu", "<tcg><tb-cache unit='KiB'>32768</tb-cache></tcg>"));
  BOOST_TEST((d.tcg_tb_cache_bytes == std::uint64_t{32} << 20));
  auto again = parse(config::write_domain_xml(d));
  BOOST_TEST((again.tcg_tb_cache_bytes == d.tcg_tb_cache_bytes));
  // KVM has no translation cache; a size that is not whole MiB is refused.
  auto kvm = qemu::build_argv(parse(with_features("kvm", "<tcg><tb-cache unit='MiB'>16</tb-cache></tcg>")), host4());
  BOOST_TEST_REQUIRE(!kvm);
  BOOST_TEST(kvm.error().message.find("<features><tcg><tb-cache>") != std::string::npos, kvm.error().message);
  auto odd = config::parse_domain_string(with_features("qemu", "<tcg><tb-cache unit='KiB'>1000</tb-cache></tcg>"), "odd.xml");
  BOOST_TEST_REQUIRE(!odd);
  BOOST_TEST(odd.error().message.find("whole number of MiB") != std::string::npos, odd.error().message);
}
