#define BOOST_TEST_MODULE config_domain_xml
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "config/domain_xml.hpp"
#include "config/units.hpp"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
namespace fs = std::filesystem;
using namespace vnumad::config;
using vnumad::errc;

namespace {

const fs::path shared = VNUMAD_REFERENCE_DIR;

// The libvirt cases that libvirt itself rejects (cases.tsv, kind 'neg').
std::set<std::string> negative_cases() {
  std::set<std::string> out;
  std::ifstream in(shared / "conformance/libvirt/cases.tsv");
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name, kind;
    std::getline(fields, name, '\t');
    std::getline(fields, kind, '\t');
    if (kind == "neg") out.insert(name + ".xml");
  }
  return out;
}

std::vector<std::string> all_inputs() {
  std::vector<std::string> out;
  for (const char* dir : {"fixtures/domains", "conformance/libvirt", "conformance/vnuma-rfc"})
    for (const auto& e : fs::directory_iterator(shared / dir))
      if (e.path().extension() == ".xml") out.push_back(e.path().string());
  std::sort(out.begin(), out.end());
  return out;
}

domain parse_ok(const fs::path& p, parse_options o = {}) {
  auto r = parse_domain_file(p, o);
  BOOST_TEST_REQUIRE(r.has_value(), p.string() << ": " << r.error().message);
  return *r;
}

// The model alone, for comparisons that should ignore layout and origin.
domain model_of(domain d) {
  d.xml.clear();
  d.source_file.clear();
  return d;
}

std::string run(const std::string& command) {
  std::string out;
  FILE* pipe = ::popen(command.c_str(), "r");
  BOOST_TEST_REQUIRE(pipe != nullptr);
  char buf[512];
  while (std::fgets(buf, sizeof buf, pipe)) out += buf;
  ::pclose(pipe);
  return out;
}

// libvirt's own schema check; returns its output ("... validates" on success).
std::string virt_xml_validate(const std::string& xml, const std::string& tag) {
  fs::path file = fs::temp_directory_path() / ("vnumad-config-test-" + tag + "-" + std::to_string(::getpid()) + ".xml");
  std::ofstream(file) << xml;
  std::string out = run("virt-xml-validate " + file.string() + " domain 2>&1");
  fs::remove(file);
  return out;
}

bool nv_has_pci(const domain& d) { return d.devices.memory_devices.at(3).pci.has_value(); }

bool contains(const std::string& hay, const std::string& needle) { return hay.find(needle) != std::string::npos; }

// What the vNUMA expansion of the seed (docs/vnuma-spec.md section 4) does to the
// struct: the test stands in for the partitioner here.
void expand_seed_by_hand(domain& d) {
  const std::vector<std::string> node_cpus{"0-14,60-74", "15-29,75-89", "30-44,90-104", "45-59,105-119"};
  d.vnuma.reset();
  d.cpu.topology = cpu_topology{4, 1, 1, 2, 2};
  d.cpu.cells.clear();
  for (unsigned c = 0; c < 4; ++c) {
    numa_cell cell;
    cell.id = c;
    cell.cpus = *parse_id_set(std::to_string(4 * c) + "-" + std::to_string(4 * c + 3));
    cell.memory_bytes = 8 * GiB;
    for (unsigned o = 0; o < 4; ++o) cell.distances[o] = o == c ? 10 : 21;
    d.cpu.cells.push_back(cell);
  }
  d.vcpus.clear();
  cputune_def tune;
  numatune_def numa;
  for (unsigned v = 0; v < 16; ++v) {
    d.vcpus.push_back({v, true, v != 0, std::nullopt});
    tune.vcpupins.push_back({v, *parse_id_set(node_cpus[v / 4])});
  }
  tune.emulatorpin = *parse_id_set("0,15,30,45,60,75,90,105");
  for (unsigned c = 0; c < 4; ++c) numa.memnodes.push_back({c, numa_policy::strict, {c}});
  d.cputune = tune;
  d.numatune = numa;
  if (!d.memory_backing) d.memory_backing = memory_backing_def{};
  d.memory_backing->locked = true;
  d.devices.memballoon_model = "none";
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_corpus_is_there) {
  // Guards the data-driven cases below against an empty directory.
  BOOST_TEST(all_inputs().size() >= 60u);
  BOOST_TEST(negative_cases().size() == 8u);
}

BOOST_DATA_TEST_CASE(every_fixture_and_conformance_file_parses, bdata::make(all_inputs()), file) {
  fs::path p(file);
  auto loose = parse_domain_file(p, {.validate = false});
  BOOST_TEST_REQUIRE(loose.has_value(), loose.error().message);
  auto strict = parse_domain_file(p);
  // Only libvirt's host-independent negative cases fail validation.
  static const std::set<std::string> host_only{"numatune-memnode-unavailable-strict.xml",
                                               "numatune-static-nodeset-exceed-hostnode.xml"};
  std::string name = p.filename().string();
  bool must_fail = negative_cases().count(name) && !host_only.count(name);
  BOOST_TEST(strict.has_value() == !must_fail, name << ": " << (strict ? "accepted" : strict.error().message));
}

BOOST_DATA_TEST_CASE(write_then_parse_keeps_the_model, bdata::make(all_inputs()), file) {
  domain d = parse_ok(file, {.validate = false});
  std::string once = write_domain_xml(d);
  auto again = parse_domain_string(once, file, {.validate = false});
  BOOST_TEST_REQUIRE(again.has_value(), again.error().message);
  BOOST_TEST((model_of(*again) == model_of(d)));
  // Writing is stable: the second write is the first.
  BOOST_TEST(write_domain_xml(*again) == once);
}

BOOST_DATA_TEST_CASE(write_validates_when_the_input_did, bdata::make(all_inputs()), file) {
  std::string before = run("virt-xml-validate " + file + " domain 2>&1");
  domain d = parse_ok(file, {.validate = false});
  if (!contains(before, "validates")) {
    // Only <vnuma> (ours) and syntax newer than the installed libvirt 9.0
    // schema make an input fail; then there is nothing to compare with.
    static const std::set<std::string> newer_syntax{
        "fd-memory-numa-topology2", "memfd-memory-numa", "memory-hotplug-multiple", "memory-hotplug-nvdimm",
        "memory-hotplug-virtio-mem", "vcpu-placement-static"};
    BOOST_TEST((d.vnuma.has_value() || newer_syntax.count(fs::path(file).stem().string()) == 1), before);
    return;
  }
  std::string out = virt_xml_validate(write_domain_xml(d), fs::path(file).stem().string());
  BOOST_TEST(contains(out, "validates"), out);
}

BOOST_AUTO_TEST_CASE(seed_vnuma_host_values) {
  domain d = parse_ok(shared / "fixtures/domains/seed-vnuma-host.xml");
  BOOST_TEST(d.type == "kvm");
  BOOST_TEST(d.name == "OL8-vnuma");
  BOOST_TEST(d.uuid.value() == "2dae4266-6da5-4893-8616-bc2871c4b80f");
  BOOST_TEST(d.memory_bytes.value() == 32 * GiB);
  BOOST_TEST(d.total_memory_bytes() == 32 * GiB);
  BOOST_TEST(d.vcpu.max == 16u);
  BOOST_TEST(d.current_vcpus() == 16u);
  BOOST_TEST(d.vcpu.placement == "static");
  BOOST_TEST_REQUIRE(d.vnuma.has_value());
  BOOST_TEST((d.vnuma->mode == vnuma_mode::host));
  BOOST_TEST((d.vnuma->distribution == vnuma_distribution::contiguous));
  BOOST_TEST(!d.vnuma->memory_bytes.has_value());
  BOOST_TEST(d.cpu.mode == "host-passthrough");
  BOOST_TEST(d.cpu.check.value() == "none");
  BOOST_TEST(!d.cpu.topology.has_value());
  BOOST_TEST(d.os.arch.value() == "x86_64");
  BOOST_TEST(d.os.machine.value() == "q35");
  BOOST_TEST(d.os.boot_devs == std::vector<std::string>{"hd"});
  BOOST_TEST((d.features == std::vector<std::string>{"acpi", "apic"}));
  BOOST_TEST(d.clock_offset.value() == "utc");
  BOOST_TEST((d.on_reboot == lifecycle_action::restart));
  BOOST_TEST(d.devices.emulator.value() == "/usr/bin/qemu-system-x86_64");
  BOOST_TEST_REQUIRE(d.devices.disks.size() == 1u);
  BOOST_TEST(d.devices.disks[0].driver_type == "qcow2");
  BOOST_TEST(d.devices.disks[0].bus == "sata");
  BOOST_TEST(d.devices.disks[0].source == "/var/lib/vnumad/images/OL8-vnuma.qcow2");
  BOOST_TEST(d.devices.controllers.size() == 5u);
  BOOST_TEST_REQUIRE(d.devices.interfaces.size() == 1u);
  BOOST_TEST(d.devices.interfaces[0].type == "bridge");
  BOOST_TEST(d.devices.interfaces[0].source.value() == "uteng0");
  BOOST_TEST(d.devices.interfaces[0].mac.value() == "52:54:00:0f:fb:22");
  BOOST_TEST_REQUIRE(d.devices.serials.size() == 1u);
  BOOST_TEST(d.devices.serials[0].target_type.value() == "isa-serial");
  BOOST_TEST(d.devices.serials[0].model_name.value() == "isa-serial");
  BOOST_TEST(d.devices.consoles.size() == 1u);
  BOOST_TEST(d.devices.inputs.size() == 2u);
  BOOST_TEST(d.devices.memballoon_model.value() == "none");
}

BOOST_AUTO_TEST_CASE(seed_manual_pxb_values) {
  domain d = parse_ok(shared / "fixtures/domains/seed-manual-pxb.xml");
  BOOST_TEST(d.memory_bytes.value() == 32 * GiB);
  BOOST_TEST_REQUIRE(d.cpu.topology.has_value());
  BOOST_TEST(d.cpu.topology->sockets == 4u);
  BOOST_TEST(d.cpu.topology->cores == 2u);
  BOOST_TEST(d.cpu.topology->threads == 2u);
  BOOST_TEST_REQUIRE(d.cpu.cells.size() == 4u);
  BOOST_TEST(format_id_set(*d.cpu.cells[2].cpus) == "8-11");
  BOOST_TEST(d.cpu.cells[2].memory_bytes == 8 * GiB);
  BOOST_TEST(d.cpu.cells[2].distances.at(2) == 10u);
  BOOST_TEST(d.cpu.cells[2].distances.at(3) == 21u);
  BOOST_TEST(d.vcpus.size() == 16u);
  BOOST_TEST(!d.vcpus[0].hotpluggable);
  BOOST_TEST(d.vcpus[1].hotpluggable);
  BOOST_TEST_REQUIRE(d.cputune->vcpupins.size() == 16u);
  BOOST_TEST(format_id_set(d.cputune->vcpupins[5].cpuset) == "15-29,75-89");
  BOOST_TEST_REQUIRE(d.numatune->memnodes.size() == 4u);
  BOOST_TEST(format_id_set(d.numatune->memnodes[3].nodeset) == "3");
  const controller_def& pxb = d.devices.controllers.at(3);
  BOOST_TEST(pxb.model == "pcie-expander-bus");
  BOOST_TEST(pxb.model_name.value() == "pxb-pcie");
  BOOST_TEST(pxb.target_bus_nr.value() == 254u);
  BOOST_TEST(pxb.target_node.value() == 1u);
  const controller_def& port = d.devices.controllers.at(1);
  BOOST_TEST(port.target_chassis.value() == 1u);
  BOOST_TEST(port.target_port.value() == 8u);  // port='0x8'
  BOOST_TEST(port.pci->slot == 1u);
  BOOST_TEST(port.pci->multifunction);
  BOOST_TEST(d.devices.controllers.at(5).target_port.value() == 0xau);
  BOOST_TEST(d.devices.disks.at(0).drive.has_value());
}

BOOST_AUTO_TEST_CASE(vnuma_rfc_and_node_mode_values) {
  domain n1 = parse_ok(shared / "fixtures/domains/seed-vnuma-node1.xml");
  BOOST_TEST((n1.vnuma->mode == vnuma_mode::node));
  BOOST_TEST(n1.vnuma->memory_bytes.value() == 32 * GiB);
  BOOST_TEST(format_id_set(n1.vnuma->partition_nodeset.value()) == "1");
  BOOST_TEST(!n1.vnuma->partition_cells.has_value());

  domain nc = parse_ok(shared / "conformance/vnuma-rfc/numa-node-contiguous.xml");
  BOOST_TEST(format_id_set(nc.vnuma->partition_nodeset.value()) == "1-2");
  BOOST_TEST(nc.vnuma->partition_cells.value() == 8u);

  domain rr = parse_ok(shared / "conformance/vnuma-rfc/numa-round-robin.xml");
  BOOST_TEST((rr.vnuma->distribution == vnuma_distribution::round_robin));
  BOOST_TEST(rr.vnuma->memory_bytes.value() == 219100 * KiB);
  // The RFC writes unit='Kib': units are case-insensitive.
  domain ni = parse_ok(shared / "conformance/vnuma-rfc/numa-node-interleave.xml");
  BOOST_TEST(ni.vnuma->memory_bytes.value() == 12345 * KiB);

  domain sib = parse_ok(shared / "fixtures/domains/seed-vnuma-siblings.xml");
  BOOST_TEST((sib.vnuma->distribution == vnuma_distribution::siblings));
}

BOOST_AUTO_TEST_CASE(libvirt_conformance_values) {
  const fs::path lv = shared / "conformance/libvirt";
  domain hot = parse_ok(lv / "cpu-hotplug-startup.xml");
  BOOST_TEST(hot.vcpu.max == 6u);
  BOOST_TEST(hot.vcpu.current.value() == 3u);
  BOOST_TEST_REQUIRE(hot.vcpus.size() == 6u);
  BOOST_TEST(hot.vcpus[4].enabled);
  BOOST_TEST(!hot.vcpus[1].enabled);
  BOOST_TEST(hot.vcpus[5].order.value() == 3u);
  BOOST_TEST(hot.cpu.topology->dies == 1u);
  BOOST_TEST(hot.cpu.mode == "custom");

  domain mem = parse_ok(lv / "numatune-memnode.xml");
  BOOST_TEST((mem.numatune->memory->mode == numa_policy::strict));
  BOOST_TEST(format_id_set(*mem.numatune->memory->nodeset) == "0-3");
  BOOST_TEST_REQUIRE(mem.numatune->memnodes.size() == 2u);
  BOOST_TEST((mem.numatune->memnodes[0].mode == numa_policy::preferred));
  BOOST_TEST(mem.numatune->memnodes[1].cellid == 2u);
  BOOST_TEST(format_id_set(mem.numatune->memnodes[1].nodeset) == "0,2");  // '0-2,^1'

  domain ids = parse_ok(lv / "cpu-numa2.xml");  // ids given out of order
  BOOST_TEST(ids.cpu.cells.at(0).id == 1u);
  BOOST_TEST(ids.cpu.cells.at(1).id == 0u);

  domain noid = parse_ok(lv / "cpu-numa1.xml");  // no ids: numbered by position
  BOOST_TEST(noid.cpu.cells.at(1).id == 1u);

  domain nomem = parse_ok(lv / "cpu-numa-no-memory-element.xml");
  BOOST_TEST(!nomem.memory_bytes.has_value());
  BOOST_TEST(nomem.total_memory_bytes() == nomem.cpu.cells[0].memory_bytes + nomem.cpu.cells[1].memory_bytes);

  domain pages = parse_ok(lv / "hugepages-numa-nodeset.xml");
  BOOST_TEST(pages.memory_backing->hugepages);
  BOOST_TEST_REQUIRE(pages.memory_backing->pages.size() == 2u);
  BOOST_TEST(pages.memory_backing->pages[0].size_bytes == 2 * MiB);
  BOOST_TEST(format_id_set(*pages.memory_backing->pages[0].nodeset) == "1");
  BOOST_TEST(pages.memory_backing->pages[1].size_bytes == GiB);
  BOOST_TEST(format_id_set(*pages.memory_backing->pages[1].nodeset) == "0,2-3");

  domain multi = parse_ok(lv / "memory-hotplug-multiple.xml");
  BOOST_TEST(multi.max_memory_slots.value() == 2u);
  BOOST_TEST(multi.max_memory_bytes.value() == 1099511627776ull * KiB);
  BOOST_TEST_REQUIRE(multi.devices.memory_devices.size() == 4u);
  const memory_device_def& vm = multi.devices.memory_devices[2];
  BOOST_TEST(vm.model == "virtio-mem");
  BOOST_TEST(format_id_set(*vm.source_nodemask) == "1-3");
  BOOST_TEST(vm.source_pagesize_bytes.value() == 2 * MiB);
  BOOST_TEST(vm.target_block_bytes.value() == 2 * MiB);
  BOOST_TEST(vm.target_requested_bytes.value() == GiB);
  BOOST_TEST(vm.target_address_base.value() == 0x150000000ull);
  BOOST_TEST(vm.pci.value().bus == 1u);
  BOOST_TEST(multi.devices.memory_devices[1].pci.value().slot == 2u);
  BOOST_TEST(!nv_has_pci(multi));
  const memory_device_def& nv = multi.devices.memory_devices[3];
  BOOST_TEST(nv.source_path.value() == "/tmp/nvdimm");
  BOOST_TEST(nv.address_slot.value() == 0u);

  domain vmem = parse_ok(lv / "memory-hotplug-virtio-mem.xml");
  bool dynamic = false;
  for (const auto& m : vmem.devices.memory_devices) dynamic = dynamic || m.target_dynamic_memslots.value_or(false);
  BOOST_TEST(dynamic);

  domain memfd = parse_ok(lv / "memfd-memory-numa.xml");
  BOOST_TEST(memfd.memory_backing->source_type.value() == "memfd");
  BOOST_TEST(memfd.memory_backing->access_mode.value() == "shared");
  BOOST_TEST(memfd.memory_backing->allocation_threads.value() == 8u);

  domain pxb = parse_ok(lv / "pci-expander-bus.xml");
  BOOST_TEST(pxb.devices.controllers.size() >= 3u);
  bool found = false;
  for (const auto& c : pxb.devices.controllers)
    if (c.model == "pci-expander-bus" && c.target_node) found = *c.target_node == 1u && c.target_bus_nr == 254u;
  BOOST_TEST(found);
}

BOOST_AUTO_TEST_CASE(unknown_elements_survive_an_edit) {
  std::ifstream in(shared / "fixtures/domains/seed-manual-pxb.xml");
  std::stringstream text;
  text << in.rdbuf();
  std::string xml = text.str();
  // Things the model does not describe: metadata in a namespace, a comment,
  // cputune and memballoon children, a device kind.
  xml.replace(xml.find("<memory unit"), 0,
              "<metadata><app:info xmlns:app='http://example.org/app'>keep me</app:info></metadata>\n  "
              "<!-- operator note -->\n  ");
  xml.replace(xml.find("<vcpupin vcpu='0'"), 0, "<shares>2048</shares>\n    ");
  xml.replace(xml.find("<memballoon model='none'/>"), std::string("<memballoon model='none'/>").size(),
              "<memballoon model='virtio'><stats period='10'/></memballoon>\n    <watchdog model='i6300esb'/>");
  auto parsed = parse_domain_string(xml, "edit.xml");
  BOOST_TEST_REQUIRE(parsed.has_value(), parsed.error().message);
  domain d = *parsed;
  BOOST_TEST(d.devices.memballoon_model.value() == "virtio");
  d.cputune->vcpupins.pop_back();
  d.cputune->vcpupins[0].cpuset = {7};

  std::string out = write_domain_xml(d);
  BOOST_TEST(contains(out, "keep me"));
  BOOST_TEST(contains(out, "http://example.org/app"));
  BOOST_TEST(contains(out, "operator note"));
  BOOST_TEST(contains(out, "<shares>2048</shares>"));
  BOOST_TEST(contains(out, "<watchdog model=\"i6300esb\"/>"));
  BOOST_TEST(contains(out, "<stats period=\"10\"/>"));  // balloon kept, not 'none'
  BOOST_TEST(contains(out, "<vcpupin vcpu=\"0\" cpuset=\"7\"/>"));
  BOOST_TEST(!contains(out, "vcpu=\"15\""));
  auto back = parse_domain_string(out, "edit.xml");
  BOOST_TEST_REQUIRE(back.has_value(), back.error().message);
  BOOST_TEST((model_of(*back) == model_of(d)));
  BOOST_TEST(contains(virt_xml_validate(out, "unknown"), "validates"));
}

BOOST_AUTO_TEST_CASE(expanded_seed_writes_and_validates) {
  domain d = parse_ok(shared / "fixtures/domains/seed-vnuma-host.xml");
  expand_seed_by_hand(d);
  std::string out = write_domain_xml(d);
  BOOST_TEST(!contains(out, "<vnuma"));
  // Memory is written in KiB, as libvirt does.
  BOOST_TEST(contains(out, "<memory unit=\"KiB\">33554432</memory>"));
  BOOST_TEST(contains(out, "<cell id=\"3\" cpus=\"12-15\" memory=\"8388608\" unit=\"KiB\">"));
  BOOST_TEST(contains(out, "<locked/>"));
  BOOST_TEST(contains(out, "<emulatorpin cpuset=\"0,15,30,45,60,75,90,105\"/>"));
  std::string validation = virt_xml_validate(out, "expanded");
  BOOST_TEST(contains(validation, "validates"), validation);

  auto back = parse_domain_string(out, "expanded.xml");
  BOOST_TEST_REQUIRE(back.has_value(), back.error().message);
  BOOST_TEST((model_of(*back) == model_of(d)));
  // The hand-written reference expansion carries the same derived elements.
  domain ref = parse_ok(shared / "fixtures/domains/seed-manual-pxb.xml");
  BOOST_TEST((back->cpu.cells == ref.cpu.cells));
  BOOST_TEST((back->cpu.topology == ref.cpu.topology));
  BOOST_TEST((back->vcpus == ref.vcpus));
  BOOST_TEST((back->cputune->vcpupins == ref.cputune->vcpupins));
  BOOST_TEST((back->numatune == ref.numatune));
}

BOOST_AUTO_TEST_CASE(domain_built_in_memory_writes_a_complete_document) {
  domain d;
  d.type = "qemu";
  d.name = "scratch-1";
  d.uuid = "c7a5fdbd-edaf-9455-926a-d65c16db1809";
  d.memory_bytes = 2 * GiB;
  d.vcpu.max = 4;
  d.vcpu.current = 2;
  d.vcpus = {{0, true, false, {}}, {1, true, true, {}}, {2, false, true, {}}, {3, false, true, {}}};
  d.cpu.mode = "maximum";
  d.cpu.topology = cpu_topology{2, 1, 1, 2, 1};
  for (unsigned c = 0; c < 2; ++c) {
    numa_cell cell;
    cell.id = c;
    cell.cpus = id_set{2 * c, 2 * c + 1};
    cell.memory_bytes = GiB;
    cell.distances = {{0, c == 0 ? 10u : 11u}, {1, c == 1 ? 10u : 11u}};
    d.cpu.cells.push_back(cell);
  }
  d.os.arch = "x86_64";
  d.os.machine = "q35";
  d.os.kernel = "/boot/vmlinuz";
  d.os.initrd = "/boot/initrd.img";
  d.os.cmdline = "console=ttyS0 memhp_default_state=online";
  d.features = {"acpi", "apic"};
  d.clock_offset = "utc";
  d.on_reboot = lifecycle_action::destroy;
  d.devices.emulator = "/usr/bin/qemu-system-x86_64";
  d.devices.disks.push_back(disk_def{"file", "disk", "qcow2", std::nullopt, "/var/lib/x.qcow2", "vda", "virtio"});
  controller_def root;
  root.type = "pci";
  root.model = "pcie-root";
  controller_def pxb;
  pxb.type = "pci";
  pxb.index = 1;
  pxb.model = "pcie-expander-bus";
  pxb.model_name = "pxb-pcie";
  pxb.target_bus_nr = 254;
  pxb.target_node = 1;
  d.devices.controllers = {root, pxb};
  d.devices.interfaces.push_back(interface_def{"user", "52:54:00:00:00:01", std::nullopt, "virtio", std::nullopt});
  d.devices.serials.push_back(chardev_def{"serial", "file", "/tmp/serial.log", std::nullopt, "isa-serial", 0u, "isa-serial"});
  d.devices.consoles.push_back(chardev_def{"console", "pty", std::nullopt, std::nullopt, "serial", 0u, std::nullopt});
  d.devices.inputs.push_back({"keyboard", "ps2"});
  d.devices.memballoon_model = "none";

  std::string out = write_domain_xml(d);
  std::string validation = virt_xml_validate(out, "scratch");
  BOOST_TEST(contains(validation, "validates"), validation << "\n" << out);
  auto back = parse_domain_string(out, "scratch.xml");
  BOOST_TEST_REQUIRE(back.has_value(), back.error().message);
  BOOST_TEST((model_of(*back) == model_of(d)));
}

BOOST_AUTO_TEST_CASE(malformed_xml_names_file_and_line) {
  auto r = parse_domain_string("<domain type='kvm'>\n  <name>x</name>\n  <vcpu>2</vcpu\n</domain>\n", "seed.xml");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::xml_malformed));
  BOOST_TEST(r.error().message.rfind("seed.xml:", 0) == 0, r.error().message);
  BOOST_TEST((contains(r.error().message, "seed.xml:3:") || contains(r.error().message, "seed.xml:4:")),
             r.error().message);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_io_error) {
  auto r = parse_domain_file("/nonexistent/vnumad/guest.xml");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::io_error));
  BOOST_TEST(contains(r.error().message, "/nonexistent/vnumad/guest.xml"));
}

BOOST_AUTO_TEST_CASE(vcpu_current_error_reads_like_the_spec) {
  auto r = parse_domain_string(
      "<domain type='kvm'><name>g</name><memory unit='GiB'>1</memory><vcpu current='20'>16</vcpu></domain>",
      "seed.xml");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message == "seed.xml: <vcpu current='20'>: current 20 is larger than the 16 vCPUs of <vcpu> "
                                  "(valid: 1..16)");
}

struct name_case {
  std::string name;
  bool ok;
};
std::ostream& operator<<(std::ostream& os, const name_case& c) { return os << "'" << c.name << "'"; }

BOOST_DATA_TEST_CASE(guest_names, bdata::make(std::vector<name_case>{
                                       {"OL8-vnuma", true},
                                       {"a", true},
                                       {"guest_1.test-2", true},
                                       {std::string(64, 'x'), true},
                                       {std::string(65, 'x'), false},
                                       {"", false},
                                       {"../x", false},
                                       {"a/b", false},
                                       {"/", false},
                                       {".hidden", false},
                                       {"with space", false},
                                       {"tab\there", false},
                                       {"semi;colon", false},
                                       {"ünïcode", false},
                                       {"$(reboot)", false},
                                   }),
                     c) {
  auto r = validate_guest_name(c.name);
  BOOST_TEST(r.has_value() == c.ok);
  if (!r) {
    BOOST_TEST((r.error().code == errc::invalid_name));
    BOOST_TEST(contains(r.error().message, "letters, digits"));
  }
}
