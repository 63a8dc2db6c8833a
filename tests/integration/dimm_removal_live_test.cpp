#define BOOST_TEST_MODULE dimm_removal_live
#include <boost/test/unit_test.hpp>

// A late dimm removal (issue 13): detach-memory gives up waiting before the
// guest releases the dimm, and fails unplug_refused; the guest releases it
// afterwards and QEMU's DEVICE_DELETED comes when nobody waits for it. The
// one removal path (guest::on_device_deleted) must then take the dimm out of
// QEMU (its backend), of the ledger and of the record on disk, so that a
// daemon restart re-attaches without it. Before, only vcpu* ids were handled
// there: QEMU kept the backend and the daemon kept counting the memory.
//
// The guest is paused while detach-memory waits (its vCPUs cannot run the
// ACPI eject), so the wait gives up every time, and it releases the dimm once
// resumed. Its memory is file-backed in the state dir, so that QEMU's dimm
// is a mapping of a file named after the backend (<state>/<guest>/memdimm0),
// read here from /proc/<qemu>/maps apart from the daemon.
#include "integration/daemon_support.hpp"

#include <cstdio>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

constexpr std::uint64_t mebibyte = 1024 * 1024;

struct ctl_output {
  int status = -1;
  std::string out;
};

// vnumactl ARGS --json on the daemon's socket: its exit status and stdout.
ctl_output vnumactl_json(daemon_fixture& d, const std::string& args) {
  const std::string line = vnumactl_binary.string() + " " + args + " --json -c " + d.socket().string() + " 2>/dev/null";
  ctl_output r;
  FILE* pipe = ::popen(line.c_str(), "r");
  char buffer[4096];
  for (std::size_t n; (n = std::fread(buffer, 1, sizeof buffer, pipe)) > 0;) r.out.append(buffer, n);
  const int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// QEMU's mappings of the files of the memory backend `backend`, from its
// /proc maps: "<start>-<end> ... /path/<backend>".
std::vector<std::string> backend_mappings(pid_t qemu, const std::string& backend) {
  std::vector<std::string> out;
  std::istringstream maps(read_text("/proc/" + std::to_string(qemu) + "/maps"));
  const std::string suffix = "/" + backend;
  for (std::string line; std::getline(maps, line);)
    if (line.size() > suffix.size() && line.compare(line.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(line);
  return out;
}

// Does QEMU hold an open file named after the backend (/proc/<qemu>/fd)?
bool holds_backend_file(pid_t qemu, const std::string& backend) {
  std::error_code ec;
  for (const auto& fd : fs::directory_iterator("/proc/" + std::to_string(qemu) + "/fd", ec)) {
    std::error_code link_ec;
    const fs::path target = fs::read_symlink(fd.path(), link_ec);
    if (!link_ec && target.filename() == backend) return true;
  }
  return false;
}

// The memory the guest's record on disk holds in the ledger, and whether its
// domain XML still has the dimm.
struct record_view {
  std::uint64_t placement_bytes = 0;
  bool lists_dimm = false;
};

record_view read_record(daemon_fixture& d, const std::string& guest, const std::string& dimm) {
  record_view r;
  const fs::path dir = d.dir / "state" / guest;
  const auto record = json::parse(read_text(dir / "record.json"));
  for (const auto& m : record.at("placement").at("memory_per_node").as_array())
    r.placement_bytes += m.at("bytes").to_number<std::uint64_t>();
  for (const auto& h : record.at("hotplugged_dimms").as_array()) r.lists_dimm = r.lists_dimm || h.as_string() == dimm;
  const std::string xml = read_text(dir / "domain.xml");
  r.lists_dimm = r.lists_dimm || xml.find("<alias name='" + dimm + "'/>") != std::string::npos ||
                 xml.find("<alias name=\"" + dimm + "\"/>") != std::string::npos;
  return r;
}

std::uint64_t ledger_bytes(daemon_fixture& d, const std::string& guest) {
  // dominfo's memory_bytes of a running guest is what the ledger holds for it.
  auto info = d.dominfo(guest);
  return info.contains("memory_bytes") ? info.at("memory_bytes").to_number<std::uint64_t>() : 0;
}

// The guest's own MemTotal of cell `cell` in its latest tick line.
std::uint64_t guest_cell_kb(daemon_fixture& d, const std::string& guest, unsigned cell) {
  auto v = qemu::parse_guest_view(read_text(d.serial(guest)));
  if (!v || v->ticks.empty()) return 0;
  auto it = v->ticks.back().node_memtotal_kb.find(cell);
  return it == v->ticks.back().node_memtotal_kb.end() ? 0 : it->second;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_dimm_released_after_the_wait_leaves_qemu_the_ledger_and_the_record) {
  daemon_fixture d;
  const std::string name = "late-" + std::to_string(::getpid());
  const guest_spec g{.name = name, .vcpus = 2, .cells = 2, .memory_mib = "512", .max_memory_mib = "2048"};
  std::string xml = domain_xml(g, d.serial(name));
  const std::string vcpu_end = "</vcpu>\n";
  BOOST_TEST_REQUIRE(xml.find(vcpu_end) != std::string::npos);
  xml.insert(xml.find(vcpu_end) + vcpu_end.size(), "  <memoryBacking><source type='file'/></memoryBacking>\n");
  write_text(d.dir / (name + ".xml.new"), xml);
  fs::rename(d.dir / (name + ".xml.new"), d.domain_file(name));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  const pid_t qemu = d.guest_pid(name).value_or(0);
  BOOST_TEST_REQUIRE(qemu > 0);
  d.wait_guest_ready(name);
  BOOST_TEST_REQUIRE(wait_until([&] { return guest_cell_kb(d, name, 1) > 0; }, 30s), read_text(d.serial(name)));
  const std::uint64_t cell1_before = guest_cell_kb(d, name, 1);
  // The boot memory of each cell is a file of the state dir too: what is read
  // below would see a dimm.
  BOOST_TEST(backend_mappings(qemu, "ram-node1").size() == 1u, read_text("/proc/" + std::to_string(qemu) + "/maps"));
  BOOST_TEST(ledger_bytes(d, name) == 512 * mebibyte);

  auto attached = vnumactl_json(d, "attach-memory " + name + " --cell 1 --size 128MiB");
  BOOST_TEST_REQUIRE(attached.status == 0, attached.out << d.daemon_log());
  const std::string dimm(json::parse(attached.out).at("dimm").as_string());
  const std::string backend = "mem" + dimm;  // QEMU's backend object of the dimm
  BOOST_TEST_REQUIRE(backend_mappings(qemu, backend).size() == 1u, read_text("/proc/" + std::to_string(qemu) + "/maps"));
  BOOST_TEST(holds_backend_file(qemu, backend));
  BOOST_TEST(ledger_bytes(d, name) == 640 * mebibyte);
  BOOST_TEST(read_record(d, name, dimm).lists_dimm);
  BOOST_TEST(read_record(d, name, dimm).placement_bytes == 640 * mebibyte);
  // The guest onlines it (movable) before it is asked to give it back.
  BOOST_TEST_REQUIRE(wait_until([&] { return guest_cell_kb(d, name, 1) > cell1_before + 120 * 1024; }, 60s),
                     read_text(d.serial(name)));

  // Paused, the guest cannot eject it: the wait gives up, unplug_refused.
  BOOST_TEST_REQUIRE(d.call("suspend", {{"name", name}}).has_value());
  auto refused = vnumactl_json(d, "detach-memory " + name + " " + dimm + " --timeout-ms 1500");
  BOOST_TEST(refused.status == 1, refused.out);
  const auto err = json::parse(refused.out).at("error");
  BOOST_TEST(err.at("code").as_string() == "unplug_refused", refused.out);
  BOOST_TEST(std::string(err.at("message").as_string()).find("did not release " + dimm + " within 1500 ms") !=
                 std::string::npos,
             refused.out);
  // Refused means nothing was released yet.
  BOOST_TEST(backend_mappings(qemu, backend).size() == 1u);
  BOOST_TEST(ledger_bytes(d, name) == 640 * mebibyte);
  BOOST_TEST(read_record(d, name, dimm).lists_dimm);

  // Resumed, the guest offlines and ejects it: DEVICE_DELETED comes late.
  BOOST_TEST_REQUIRE(d.call("resume", {{"name", name}}).has_value());
  const bool guest_let_go = wait_until([&] { return guest_cell_kb(d, name, 1) < cell1_before + 64 * 1024; }, 90s);
  BOOST_TEST_REQUIRE(guest_let_go, read_text(d.serial(name)) << d.daemon_log());
  // QEMU deletes the backend: its file is unmapped and closed.
  BOOST_TEST(wait_until([&] { return backend_mappings(qemu, backend).empty() && !holds_backend_file(qemu, backend); },
                        30s),
             read_text("/proc/" + std::to_string(qemu) + "/maps") << d.daemon_log());
  // The ledger and the record let it go too.
  BOOST_TEST(wait_until([&] { return ledger_bytes(d, name) == 512 * mebibyte; }, 10s), ledger_bytes(d, name));
  BOOST_TEST(wait_until([&] { return !read_record(d, name, dimm).lists_dimm; }, 10s),
             read_text(d.dir / "state" / name / "domain.xml"));
  BOOST_TEST(read_record(d, name, dimm).placement_bytes == 512 * mebibyte);
  BOOST_TEST(d.running_domain(name).devices.memory_devices.empty());
  BOOST_TEST(d.daemon_log().find("QEMU removed " + dimm + " after its unplug wait ended (128 MiB released)") !=
                 std::string::npos,
             d.daemon_log());

  // A restarted daemon re-attaches from the record: without the dimm.
  d.stop(SIGTERM);
  BOOST_TEST_REQUIRE(pid_alive(qemu));
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid(name).value_or(0) == qemu);
  BOOST_TEST(ledger_bytes(d, name) == 512 * mebibyte);
  BOOST_TEST(d.running_domain(name).devices.memory_devices.empty());
  // The same id is free again on both sides: the daemon picks it, and QEMU
  // (which refuses a duplicate backend or device id) takes it.
  auto again = vnumactl_json(d, "attach-memory " + name + " --cell 1 --size 128MiB");
  BOOST_TEST_REQUIRE(again.status == 0, again.out << d.daemon_log());
  BOOST_TEST(json::parse(again.out).at("dimm").as_string() == dimm, again.out);
  BOOST_TEST(backend_mappings(qemu, backend).size() == 1u);
  BOOST_TEST(ledger_bytes(d, name) == 640 * mebibyte);
}
