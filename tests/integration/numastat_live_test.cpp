#define BOOST_TEST_MODULE numastat_live
// `vnumactl numastat` and dominfo's placement line on a real TCG guest started
// by vnumad, checked against /proc/PID/numa_maps read here independently.
//
// The guest runs firmware only (no kernel, no disk: SeaBIOS finds nothing to
// boot and waits) with <memoryBacking><locked/></memoryBacking>, so QEMU's
// mlockall faults every page of both cells at start and of the dimm when it is
// plugged: the resident figures are exact, not whatever the guest touched.
//
// This machine has ONE NUMA node: every cell is bound to node 0 and every
// page is on node 0, so "off node" is 0 here by construction. The two cells
// have the same size and node, so numastat reports them as one group (cells
// 0-1), as it must when their mappings cannot be told apart. The off-node
// arithmetic is covered by tests/vnuma/memory_attribution_test.cpp on
// multi-node samples.
#include "daemon_support.hpp"
#include "proc_mappings.hpp"

#include <map>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

std::string firmware_guest_xml(const std::string& name) {
  return firmware_domain_xml({.name = name, .memory_mib = 256, .max_memory_mib = 1024u, .locked = true, .vcpus = 2,
                              .cells = 2, .features = "<acpi/><apic/>"});
}

}  // namespace

BOOST_AUTO_TEST_CASE(numastat_matches_numa_maps_of_a_locked_guest_and_dominfo_shows_the_line) {
  const fs::path ro_socket = "/tmp/vnumad-numastat-ro-" + std::to_string(::getpid()) + ".sock";
  daemon_fixture d("readonly_socket = " + ro_socket.string() + "\n");
  const std::string name = "nstat";
  write_text(d.domain_file(name), firmware_guest_xml(name));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 30s), d.daemon_log());
  pid_t pid = *d.guest_pid(name);

  // A 256 MiB dimm on cell 1: locked memory faults it at plug time.
  auto attached = d.call("attach-memory", {{"name", name}, {"cell", 1}, {"size", "256MiB"}}, 30s);
  BOOST_TEST_REQUIRE(attached.has_value(), (attached ? "" : attached.error().message) << d.daemon_log());

  auto ctl = [&](const std::string& args, const fs::path& socket) {
    return run_vnumactl(args + " --socket " + socket.string());
  };
  auto json_out = ctl("numastat " + name + " --json", d.socket());
  BOOST_TEST_REQUIRE(json_out.exit_status == 0, json_out.out);
  auto mappings = read_mappings(pid);
  json::object stat = json::parse(json_out.out).as_object();
  BOOST_TEST_MESSAGE("numastat --json: " << json_out.out);
  BOOST_TEST(stat.at("name").as_string() == name);
  BOOST_TEST(stat.at("pid").to_number<std::int64_t>() == pid);
  BOOST_TEST(stat.at("unmatched").as_array().empty(), json::serialize(stat.at("unmatched")));

  // Independently: the guest's RAM is the two 128 MiB cell mappings and the
  // 256 MiB dimm mapping, each fully resident (locked), all on node 0.
  std::uint64_t cells_bytes = 0, dimm_bytes = 0;
  unsigned cell_mappings = 0, dimm_mappings = 0;
  for (const auto& [start, m] : mappings) {
    if (m.perms != "rw-p") continue;
    if (m.size == 128 * MiB) {
      ++cell_mappings;
      cells_bytes += total_of(m.bytes);
      BOOST_TEST(m.bytes.size() == 1u);
      BOOST_TEST(m.bytes.begin()->first == 0u);
    } else if (m.size == 256 * MiB) {
      ++dimm_mappings;
      dimm_bytes += total_of(m.bytes);
    }
  }
  BOOST_TEST_REQUIRE(cell_mappings == 2u);
  BOOST_TEST_REQUIRE(dimm_mappings == 1u);
  BOOST_TEST(cells_bytes == 256 * MiB);
  BOOST_TEST(dimm_bytes == 256 * MiB);

  // Both cells bound to node 0, same size: one group; the dimm (cell 1's)
  // is told apart by its size but belongs to that group's row.
  const auto& rows = stat.at("cells").as_array();
  BOOST_TEST_REQUIRE(rows.size() == 1u, json_out.out);
  const auto& row = rows[0].as_object();
  BOOST_TEST(json::serialize(row.at("cells")) == "[0,1]");
  BOOST_TEST(json::serialize(row.at("bound_nodes")) == "[0]");
  BOOST_TEST(row.at("grouped").as_bool());
  BOOST_TEST(json::serialize(row.at("backends")) == R"(["memdimm0","ram-node0","ram-node1"])");
  BOOST_TEST(row.at("size_bytes").to_number<std::uint64_t>() == 512 * MiB);
  BOOST_TEST(row.at("resident_bytes").to_number<std::uint64_t>() == cells_bytes + dimm_bytes);
  BOOST_TEST(row.at("off_node_bytes").to_number<std::uint64_t>() == 0u);
  BOOST_TEST(json::serialize(row.at("nodes")) ==
             R"([{"node":0,"bytes":536870912,"huge_bytes":0}])");
  BOOST_TEST(stat.at("on_bound_nodes_percent").to_number<double>() == 100.0);

  // The whole process: numastat's total against the test's own sum (QEMU's
  // own memory moves a little between the two reads).
  std::uint64_t independent_total = 0;
  for (const auto& [start, m] : mappings) independent_total += total_of(m.bytes);
  double total = stat.at("total").at("resident_bytes").to_number<double>();
  BOOST_TEST(total > 0.97 * static_cast<double>(independent_total));
  BOOST_TEST(total < 1.03 * static_cast<double>(independent_total));
  BOOST_TEST(stat.at("other").at("resident_bytes").to_number<std::uint64_t>() > 0u);

  // The table and the dominfo line.
  auto table = ctl("numastat " + name, d.socket());
  BOOST_TEST_REQUIRE(table.exit_status == 0, table.out);
  BOOST_TEST_MESSAGE("numastat:\n" << table.out);
  BOOST_TEST(table.out.find("0-1*    node 0     4K") != std::string::npos, table.out);
  BOOST_TEST(table.out.find("Guest memory on its bound nodes: 100%") != std::string::npos, table.out);
  auto info = ctl("dominfo " + name, d.socket());
  BOOST_TEST_REQUIRE(info.exit_status == 0, info.out);
  BOOST_TEST(info.out.find("\nMemory placement: 100% on bound nodes\n") != std::string::npos, info.out);

  // Read-only verb: served on the read-only socket too.
  auto ro = ctl("numastat " + name + " --json", ro_socket);
  BOOST_TEST(ro.exit_status == 0, ro.out);
  auto ro_info = ctl("dominfo " + name + " --json", ro_socket);
  BOOST_TEST_REQUIRE(ro_info.exit_status == 0, ro_info.out);
  BOOST_TEST(json::parse(ro_info.out).at("memory_placement").at("on_bound_nodes_percent").to_number<double>() == 100.0);

  // Not running: a clear error and a failing exit status.
  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", name}}, 30s).has_value());
  auto stopped = ctl("numastat " + name, d.socket());
  BOOST_TEST(stopped.exit_status > 0, stopped.out);
  BOOST_TEST(stopped.out.find("is not running") != std::string::npos, stopped.out);
  std::error_code ec;
  fs::remove(ro_socket, ec);
}
