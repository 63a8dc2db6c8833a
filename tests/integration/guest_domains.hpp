// Domain XML for the integration tests' guests: the test guest (a Debian
// kernel and busybox initramfs, build/guest, that prints its view of the
// machine on its serial console) and firmware-only guests.
#pragma once

#include <unistd.h>

#include <filesystem>
#include <optional>
#include <sstream>
#include <string>

namespace vnumad::testing {

inline const std::filesystem::path guest_image = std::filesystem::path(VNUMAD_BINARY_DIR) / "guest";

// A guest name of this test run: BASE-PID.
inline std::string unique_name(const std::string& base) { return base + "-" + std::to_string(::getpid()); }

// Options for the test guest's domain XML.
struct guest_spec {
  std::string name;
  unsigned vcpus = 8;
  unsigned cells = 4;
  std::optional<unsigned> current;
  std::string distribution = "contiguous";
  std::string memory_mib = "1024";
  std::string on_crash = "destroy";
  std::string on_poweroff = "destroy";
  std::optional<std::string> max_memory_mib;  // with 4 slots
  std::string kernel = (guest_image / "vmlinuz").string();
  // No 64 MiB swiotlb bounce buffer (it would come out of one node's
  // MemTotal), and no KASLR: the kernel image then always sits in node 0.
  // Hot-added memory goes online movable, so that the guest can always
  // offline it again (detach-memory): kernel allocations in a normal zone
  // would pin it.
  std::string extra_cmdline = "swiotlb=noforce nokaslr memhp_default_state=online_movable";
  std::string cpu = "<cpu mode='custom' match='exact'><model fallback='allow'>max</model><vendor>GenuineIntel</vendor></cpu>";
};

// The test guest at its smallest: two vCPUs in one cell, 256 MiB.
inline guest_spec small_test_guest(const std::string& name) {
  return guest_spec{.name = name, .vcpus = 2, .cells = 1, .memory_mib = "256"};
}

inline std::string domain_xml(const guest_spec& g, const std::filesystem::path& serial_log) {
  std::ostringstream x;
  x << "<domain type='qemu'>\n  <name>" << g.name << "</name>\n"
    << "  <memory unit='MiB'>" << g.memory_mib << "</memory>\n";
  if (g.max_memory_mib) x << "  <maxMemory slots='4' unit='MiB'>" << *g.max_memory_mib << "</maxMemory>\n";
  x << "  <vcpu placement='static'";
  if (g.current) x << " current='" << *g.current << "'";
  x << ">" << g.vcpus << "</vcpu>\n"
    << "  <vnuma mode='node' distribution='" << g.distribution << "'>\n"
    << "    <partition nodeset='0' cells='" << g.cells << "'/>\n  </vnuma>\n"
    << "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n"
    << "    <kernel>" << g.kernel << "</kernel>\n"
    << "    <initrd>" << (guest_image / "initrd.gz").string() << "</initrd>\n"
    << "    <cmdline>console=ttyS0 loglevel=1 " << g.extra_cmdline << "</cmdline>\n"
    << "  </os>\n  <features><acpi/><apic/></features>\n  " << g.cpu << "\n"
    << "  <on_poweroff>" << g.on_poweroff << "</on_poweroff>\n  <on_reboot>restart</on_reboot>\n"
    << "  <on_crash>" << g.on_crash << "</on_crash>\n"
    << "  <devices>\n    <serial type='file'><source path='" << serial_log.string()
    << "'/><target port='0'/></serial>\n  </devices>\n</domain>\n";
  return x.str();
}

// A guest with firmware only: no kernel, no disk, so SeaBIOS finds nothing
// to boot and waits. Real QEMU threads at little cost; no OS answers ACPI.
struct firmware_spec {
  std::string name;
  unsigned memory_mib = 128;
  std::optional<unsigned> max_memory_mib;  // with 2 slots
  bool locked = false;                     // <memoryBacking><locked/>
  unsigned vcpus = 1;
  std::string vcpu_cpuset;                 // <vcpu cpuset=...>; empty: none
  unsigned cells = 0;                      // <vnuma> cells on host node 0; 0: no <vnuma>
  std::string features = "<acpi/>";
  std::string extra_top;                   // elements after <name>
  std::string devices;                     // inside <devices>
};

inline std::string firmware_domain_xml(const firmware_spec& g) {
  std::ostringstream x;
  x << "<domain type='qemu'>\n  <name>" << g.name << "</name>\n" << g.extra_top
    << "  <memory unit='MiB'>" << g.memory_mib << "</memory>\n";
  if (g.max_memory_mib) x << "  <maxMemory slots='2' unit='MiB'>" << *g.max_memory_mib << "</maxMemory>\n";
  if (g.locked) x << "  <memoryBacking><locked/></memoryBacking>\n";
  x << "  <vcpu placement='static'";
  if (!g.vcpu_cpuset.empty()) x << " cpuset='" << g.vcpu_cpuset << "'";
  x << ">" << g.vcpus << "</vcpu>\n";
  if (g.cells)
    x << "  <vnuma mode='node' distribution='contiguous'><partition nodeset='0' cells='" << g.cells
      << "'/></vnuma>\n";
  x << "  <os><type arch='x86_64' machine='q35'>hvm</type></os>\n";
  if (!g.features.empty()) x << "  <features>" << g.features << "</features>\n";
  x << "  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>\n"
    << "  <devices>" << g.devices << "</devices>\n</domain>\n";
  return x.str();
}

}  // namespace vnumad::testing
