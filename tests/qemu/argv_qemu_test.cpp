// The argv against the real QEMU: a small two-cell q35 guest with an expander
// bus on guest node 1 is started (TCG, paused by -S), its hotpluggable vCPUs
// are added with the device_add arguments vcpus_to_hotplug gives, and QMP
// confirms the memory backends, the NUMA placement of the vCPUs and the
// expander bus. Skipped (reported, not passed) when QEMU is not installed.
#define BOOST_TEST_MODULE qemu_argv_qemu
#include <boost/test/unit_test.hpp>

#include "qemu/argv.hpp"

#include "config/domain_xml.hpp"

#include <boost/json.hpp>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char** environ;

namespace {

namespace fs = std::filesystem;
using namespace vnumad;

const char* guest_xml = R"(<domain type='qemu'>
  <name>argv-live</name>
  <uuid>0b7c0e32-3c9a-4f4e-9f0e-5d3a2b1c0d01</uuid>
  <vcpu placement='static'>4</vcpu>
  <vcpus>
    <vcpu id='0' enabled='yes' hotpluggable='no'/>
    <vcpu id='1' enabled='yes' hotpluggable='no'/>
    <vcpu id='2' enabled='yes' hotpluggable='yes' order='1'/>
    <vcpu id='3' enabled='yes' hotpluggable='yes' order='2'/>
  </vcpus>
  <numatune>
    <memnode cellid='0' mode='strict' nodeset='0'/>
    <memnode cellid='1' mode='preferred' nodeset='0'/>
  </numatune>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <features><acpi/></features>
  <cpu mode='maximum'>
    <topology sockets='2' dies='1' clusters='1' cores='2' threads='1'/>
    <numa>
      <cell id='0' cpus='0-1' memory='64' unit='MiB'/>
      <cell id='1' cpus='2-3' memory='64' unit='MiB'/>
    </numa>
  </cpu>
  <devices>
    <controller type='pci' index='0' model='pcie-root'/>
    <controller type='pci' index='1' model='pcie-expander-bus'>
      <model name='pxb-pcie'/>
      <target busNr='200'><node>1</node></target>
    </controller>
    <controller type='pci' index='2' model='pcie-root-port'>
      <address type='pci' domain='0x0000' bus='0x01' slot='0x00' function='0x0'/>
    </controller>
    <interface type='user'>
      <mac address='52:54:00:12:34:56'/>
      <model type='virtio'/>
      <address type='pci' domain='0x0000' bus='0x02' slot='0x00' function='0x0'/>
    </interface>
    <serial type='pty'><target type='isa-serial' port='0'/></serial>
    <memballoon model='virtio'/>
  </devices>
</domain>)";

class qmp_client {
 public:
  explicit qmp_client(const std::string& path) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
    for (int i = 0; i < 200; ++i) {
      if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
        connected_ = true;
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (connected_) read_message();  // greeting
  }
  ~qmp_client() { ::close(fd_); }
  bool connected() const { return connected_; }

  boost::json::object execute(const std::string& command, boost::json::object args = {}) {
    boost::json::object req{{"execute", command}};
    if (!args.empty()) req["arguments"] = std::move(args);
    std::string text = boost::json::serialize(req) + "\n";
    (void)!::write(fd_, text.data(), text.size());
    for (;;) {
      auto msg = read_message();
      if (msg.contains("return") || msg.contains("error") || msg.empty()) return msg;
    }
  }

 private:
  boost::json::object read_message() {
    for (;;) {
      auto nl = buffer_.find('\n');
      if (nl != std::string::npos) {
        std::string line = buffer_.substr(0, nl);
        buffer_.erase(0, nl + 1);
        return boost::json::parse(line).as_object();
      }
      char chunk[4096];
      ssize_t n = ::read(fd_, chunk, sizeof chunk);
      if (n <= 0) return {};
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }
  int fd_ = -1;
  bool connected_ = false;
  std::string buffer_;
};

}  // namespace

BOOST_AUTO_TEST_CASE(qemu_accepts_the_argv_and_hotplugs_the_vcpus) {
  qemu::host_facts host;
  if (!fs::exists(host.qemu_binary)) {
    BOOST_TEST_MESSAGE("SKIPPED (not passed): " << host.qemu_binary << " is not installed");
    return;
  }
  auto d = config::parse_domain_string(guest_xml, "argv-live.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));

  char tmpl[] = "/tmp/vnumad-argv-XXXXXX";
  BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  fs::path dir = tmpl;
  host.host_nodes = {0};
  host.qmp_socket_path = (dir / "qmp,sock").string();  // a comma: the escaping must hold
  host.state_dir = dir.string();
  auto argv = qemu::build_argv(*d, host);
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  auto hotplug = qemu::vcpus_to_hotplug(*d);
  BOOST_TEST_REQUIRE(hotplug.has_value());

  std::vector<char*> cargv;
  for (auto& a : *argv) cargv.push_back(a.data());
  cargv.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  std::string log = (dir / "qemu.log").string();
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  posix_spawn_file_actions_adddup2(&actions, 2, 1);
  pid_t pid = 0;
  int rc = ::posix_spawn(&pid, cargv[0], &actions, nullptr, cargv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  BOOST_TEST_REQUIRE(rc == 0);

  {
    qmp_client qmp(host.qmp_socket_path);
    if (!qmp.connected()) {
      std::string err;
      if (std::FILE* f = std::fopen(log.c_str(), "r")) {
        char buf[2048];
        err.assign(buf, std::fread(buf, 1, sizeof buf, f));
        std::fclose(f);
      }
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      BOOST_FAIL("QEMU did not open its QMP socket; stderr: " << err);
    }
    BOOST_TEST(qmp.execute("qmp_capabilities").contains("return"));

    auto memdevs = qmp.execute("query-memdev")["return"].as_array();
    BOOST_TEST(memdevs.size() == 2u);
    for (auto& m : memdevs) {
      auto& o = m.as_object();
      BOOST_TEST(o["size"].to_number<std::uint64_t>() == 64ull << 20);
      BOOST_TEST(o["host-nodes"].as_array().size() == 1u);
      BOOST_TEST((o["policy"] == "bind" || o["policy"] == "preferred"));
    }

    for (const auto& v : *hotplug) {
      auto r = qmp.execute("device_add", v.device_add_arguments());
      BOOST_TEST(r.contains("return"), "device_add vcpu" << v.id << ": " << boost::json::serialize(r));
    }
    auto cpus = qmp.execute("query-cpus-fast")["return"].as_array();
    BOOST_TEST(cpus.size() == 4u);
    for (auto& c : cpus) {
      auto& props = c.as_object()["props"].as_object();
      auto index = c.as_object()["cpu-index"].to_number<unsigned>();
      BOOST_TEST(props["node-id"].to_number<unsigned>() == (index < 2 ? 0u : 1u), "cpu-index " << index);
    }

    // The expander bus is there with its root port and the NIC behind it.
    auto pci = boost::json::serialize(qmp.execute("query-pci"));
    BOOST_TEST(pci.find("\"bus\":200") != std::string::npos);
    qmp.execute("quit");
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(WIFEXITED(status));
  fs::remove_all(dir);
}
