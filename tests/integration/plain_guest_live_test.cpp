// A hand-written libvirt guest, the most common domain of all: no <vnuma>, no
// <cpu><topology>, one <vcpupin> per vCPU. Issue 13 found vCPU 1 of such a
// guest unpinned: argv gave QEMU one socket per vCPU while the pinning read
// QEMU's slots back as cores of one socket, so vCPU 1 had no thread. The
// threads are found here from /proc (QEMU names them "CPU N/TCG"), not from
// vnumad's reports.
#define BOOST_TEST_MODULE plain_guest_live
#include "daemon_support.hpp"

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// vCPU id -> Cpus_allowed_list of QEMU's "CPU N/TCG" thread.
std::map<unsigned, std::string> vcpu_thread_affinity_from_proc(pid_t qemu) {
  std::map<unsigned, std::string> out;
  for (const auto& [vcpu, task] : vcpu_thread_dirs(qemu))
    if (auto list = status_value(task / "status", "Cpus_allowed_list"); !list.empty()) out[vcpu] = list;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_vcpu_of_a_plain_guest_gets_its_vcpupin) {
  daemon_fixture d;
  const std::string xml =
      "<domain type='qemu'>\n  <name>plain</name>\n  <memory unit='MiB'>128</memory>\n"
      "  <vcpu placement='static'>2</vcpu>\n"
      "  <cputune>\n    <vcpupin vcpu='0' cpuset='0'/>\n    <vcpupin vcpu='1' cpuset='1'/>\n  </cputune>\n"
      "  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
      "  <devices>\n    <serial type='file'><source path='" + d.serial("plain").string() +
      "'/><target port='0'/></serial>\n  </devices>\n</domain>\n";
  const pid_t qemu = d.run_guest("plain", xml);

  // QEMU runs the topology vnumad gave it: one socket per vCPU, as libvirt
  // passes for a domain without <topology>.
  const std::string cmdline = command_line(qemu);
  BOOST_TEST(cmdline.find(" 2,sockets=2,cores=1,threads=1 ") != std::string::npos, cmdline);

  auto affinity = vcpu_thread_affinity_from_proc(qemu);
  BOOST_TEST_REQUIRE(affinity.size() == 2u, "QEMU's vCPU threads: " << affinity.size());
  BOOST_TEST(affinity[0] == "0");
  BOOST_TEST(affinity[1] == "1");

  // vcpuinfo knows both threads (vCPU 1 had no host CPU before).
  auto info = d.call("vcpuinfo", {{"name", "plain"}});
  BOOST_TEST_REQUIRE(info.has_value());
  for (const auto& v : info->at("vcpus").as_array()) {
    const auto& o = v.as_object();
    BOOST_TEST(o.contains("thread_id"), json::serialize(o));
    BOOST_TEST(o.contains("host_cpu"), json::serialize(o));
    if (o.contains("affinity"))
      BOOST_TEST(std::string(o.at("affinity").as_string()) == std::to_string(o.at("vcpu").to_number<int>()));
  }
}
