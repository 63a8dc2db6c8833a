#define BOOST_TEST_MODULE vnuma_partition
#include <boost/test/unit_test.hpp>

#include "partition_fixtures.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/partition.hpp"

#include <boost/json.hpp>

#include <fstream>
#include <sstream>

using namespace vnumad;
using namespace vnumad::vnuma;
using namespace vnumad::vnuma::testing;
using config::GiB;
using config::MiB;

namespace {

id_set reserved_auto(const host_topology& host) {
  auto r = resolve_reserved_cpus(host, reserved_cpus_setting{});
  BOOST_TEST_REQUIRE(r.has_value());
  return *r;
}

expansion expand_ok(const config::domain& d, const host_topology& host, const ledger& held, expand_options opt) {
  auto e = expand(d, host, held, opt);
  BOOST_TEST_REQUIRE(e.has_value(), (e ? std::string() : e.error().message));
  return std::move(*e);
}

const config::memnode* memnode_of(const config::domain& d, unsigned cell) {
  for (const auto& m : d.numatune->memnodes)
    if (m.cellid == cell) return &m;
  return nullptr;
}

// Spec section 1: the elements every expansion derives, whatever the guest.
void check_derived_shape(const config::domain& out, const placement& p) {
  BOOST_TEST(!out.vnuma.has_value());
  BOOST_TEST_REQUIRE(out.memory_backing.has_value());
  BOOST_TEST(out.memory_backing->locked);
  BOOST_TEST(out.devices.memballoon_model.value_or("") == "none");
  std::uint64_t sum = 0;
  for (const auto& c : out.cpu.cells) sum += c.memory_bytes;
  BOOST_TEST(out.memory_bytes.value_or(0) == sum);
  BOOST_TEST(out.current_memory_bytes.value_or(0) == sum);
  BOOST_TEST(p.total_memory() == sum);
  BOOST_TEST_REQUIRE(out.cputune.has_value());
  BOOST_TEST(out.cputune->vcpupins.size() == out.vcpu.max);
  BOOST_TEST(out.cputune->emulatorpin.has_value());
  BOOST_TEST_REQUIRE(out.numatune.has_value());
  BOOST_TEST(out.numatune->memnodes.size() == out.cpu.cells.size());
  BOOST_TEST_REQUIRE(out.vcpus.size() == out.vcpu.max);
  for (const auto& v : out.vcpus) BOOST_TEST(v.hotpluggable == (v.id != 0));
  BOOST_TEST(out.vcpus[0].enabled);
  for (const auto& m : out.numatune->memnodes) BOOST_TEST((m.mode == config::numa_policy::strict));
}

}  // namespace

// ---- the nine cases of the public vNUMA RFC (spec section 4) ------------------

BOOST_AUTO_TEST_CASE(rfc_cases) {
  const auto dir = shared_dir() / "conformance/vnuma-rfc";
  std::ifstream in(dir / "cases.json");
  BOOST_TEST_REQUIRE(in.good());
  std::stringstream text;
  text << in.rdbuf();
  const boost::json::value doc = boost::json::parse(text.str());
  const auto& root = doc.as_object();
  const std::string host_path = std::string(root.at("host").as_string());
  auto host = load_topology_xml(dir / host_path);
  BOOST_TEST_REQUIRE(host.has_value());
  const bool overcommit = root.at("allow_overcommit").as_bool();
  BOOST_TEST(overcommit);
  ledger empty(*host);
  const auto& cases = root.at("cases").as_array();
  BOOST_TEST(cases.size() == 9u);
  for (const auto& c : cases) {
    const auto& cs = c.as_object();
    const std::string name(cs.at("name").as_string());
    BOOST_TEST_CONTEXT("RFC case " << name) {
      auto d = load_domain(dir / std::string(cs.at("domain").as_string()));
      auto e = expand_ok(d, *host, empty, {.allow_overcommit = overcommit, .reserved_cpus = reserved_auto(*host)});
      const auto& out = e.domain;
      check_derived_shape(out, e.place);
      BOOST_TEST(*out.memory_bytes / MiB == cs.at("m_mib").to_number<std::uint64_t>());
      const auto& smp = cs.at("smp").as_object();
      unsigned cur = 0;
      for (const auto& v : out.vcpus) cur += (v.enabled && !v.hotpluggable) ? 1 : 0;
      BOOST_TEST(cur == smp.at("cur").to_number<unsigned>());
      BOOST_TEST(out.vcpu.max == smp.at("maxcpus").to_number<unsigned>());
      BOOST_TEST_REQUIRE(out.cpu.topology.has_value());
      BOOST_TEST(out.cpu.topology->sockets == smp.at("sockets").to_number<unsigned>());
      BOOST_TEST(out.cpu.topology->cores == smp.at("cores").to_number<unsigned>());
      BOOST_TEST(out.cpu.topology->threads == smp.at("threads").to_number<unsigned>());
      const auto& cells = cs.at("cells").as_array();
      BOOST_TEST_REQUIRE(out.cpu.cells.size() == cells.size());
      for (std::size_t i = 0; i < cells.size(); ++i) {
        const auto& want = cells[i].as_object();
        const auto& got = out.cpu.cells[i];
        BOOST_TEST(got.id == want.at("cell").to_number<unsigned>());
        BOOST_TEST(config::format_id_set(got.cpus.value_or(id_set{})) == std::string(want.at("vcpus").as_string()));
        BOOST_TEST(got.memory_bytes == want.at("size_bytes").to_number<std::uint64_t>());
        const auto* m = memnode_of(out, got.id);
        BOOST_TEST_REQUIRE(m != nullptr);
        BOOST_TEST(m->nodeset == id_set{want.at("host_node").to_number<unsigned>()});
        BOOST_TEST(e.place.cells[i].host_node == want.at("host_node").to_number<unsigned>());
      }
    }
  }
}

// ---- the seed's reference expansions (spec section 4) -------------------------

BOOST_AUTO_TEST_CASE(seed_host_mode) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  const auto d = load_domain(domain_file("seed-vnuma-host.xml"));
  ledger empty(host);
  for (bool reserve : {false, true}) {
    BOOST_TEST_CONTEXT("reserved_cpus " << (reserve ? "auto" : "none")) {
      const id_set reserved = reserve ? reserved_auto(host) : id_set{};
      auto e = expand_ok(d, host, empty, {.allow_overcommit = false, .reserved_cpus = reserved});
      const auto& out = e.domain;
      check_derived_shape(out, e.place);
      BOOST_TEST(out.name == "OL8-vnuma");
      BOOST_TEST(out.cpu.mode == "host-passthrough");  // untouched fields stay
      BOOST_TEST(out.devices.disks.size() == d.devices.disks.size());
      BOOST_TEST(out.cpu.topology->sockets == 4u);
      BOOST_TEST(out.cpu.topology->cores == 2u);
      BOOST_TEST(out.cpu.topology->threads == 2u);
      const std::vector<std::string> cell_cpus{"0-3", "4-7", "8-11", "12-15"};
      const std::vector<std::string> pins{"0-14,60-74", "15-29,75-89", "30-44,90-104", "45-59,105-119"};
      BOOST_TEST_REQUIRE(out.cpu.cells.size() == 4u);
      for (unsigned k = 0; k < 4; ++k) {
        const auto& cell = out.cpu.cells[k];
        BOOST_TEST(cell.id == k);
        BOOST_TEST(config::format_id_set(*cell.cpus) == cell_cpus[k]);
        BOOST_TEST(cell.memory_bytes == 8 * GiB);
        for (unsigned j = 0; j < 4; ++j) BOOST_TEST(cell.distances.at(j) == (j == k ? 10u : 21u));
        BOOST_TEST(memnode_of(out, k)->nodeset == id_set{k});
      }
      for (const auto& pin : out.cputune->vcpupins)
        BOOST_TEST(config::format_id_set(pin.cpuset) == pins[pin.vcpu / 4], "vCPU " << pin.vcpu);
      for (const auto& v : out.vcpus) BOOST_TEST(v.enabled);
      BOOST_TEST(*out.memory_bytes == 32 * GiB);
      BOOST_TEST(e.place.dedicated_cpus.empty());
      const std::string emulator = reserve ? "0,15,30,45,60,75,90,105" : "0-119";
      BOOST_TEST(config::format_id_set(*out.cputune->emulatorpin) == emulator);
      // The expansion is plain libvirt XML again: it parses and validates.
      auto again = config::parse_domain_string(config::write_domain_xml(out), "expanded");
      BOOST_TEST_REQUIRE(again.has_value(), (again ? std::string() : again.error().message));
      BOOST_TEST(!again->vnuma.has_value());
      BOOST_TEST(again->cpu.cells.size() == 4u);
      BOOST_TEST(again->cputune->vcpupins.size() == 16u);
    }
  }
}

BOOST_AUTO_TEST_CASE(seed_siblings_one_to_one) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  const auto d = load_domain(domain_file("seed-vnuma-siblings.xml"));
  ledger empty(host);
  auto e = expand_ok(d, host, empty, {.allow_overcommit = false, .reserved_cpus = reserved_auto(host)});
  check_derived_shape(e.domain, e.place);
  const std::vector<unsigned> want{1, 61, 2, 62, 16, 76, 17, 77, 31, 91, 32, 92, 46, 106, 47, 107};
  BOOST_TEST_REQUIRE(e.domain.cputune->vcpupins.size() == 16u);
  for (const auto& pin : e.domain.cputune->vcpupins) BOOST_TEST(pin.cpuset == id_set{want[pin.vcpu]}, "vCPU " << pin.vcpu);
  BOOST_TEST(e.place.dedicated_cpus == id_set(want.begin(), want.end()));
  BOOST_TEST(config::format_id_set(*e.domain.cputune->emulatorpin) == "0,15,30,45,60,75,90,105");
  BOOST_TEST(e.domain.cpu.topology->threads == 2u);
}

BOOST_AUTO_TEST_CASE(seed_node1) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  const auto d = load_domain(domain_file("seed-vnuma-node1.xml"));
  ledger empty(host);
  auto e = expand_ok(d, host, empty, {.allow_overcommit = false, .reserved_cpus = reserved_auto(host)});
  const auto& out = e.domain;
  check_derived_shape(out, e.place);
  BOOST_TEST(out.cpu.topology->sockets == 1u);
  BOOST_TEST(out.cpu.topology->cores == 8u);
  BOOST_TEST(out.cpu.topology->threads == 2u);
  BOOST_TEST_REQUIRE(out.cpu.cells.size() == 1u);
  BOOST_TEST(config::format_id_set(*out.cpu.cells[0].cpus) == "0-15");
  BOOST_TEST(out.cpu.cells[0].memory_bytes == 32 * GiB);
  BOOST_TEST(out.cpu.cells[0].distances.at(0) == 10u);
  BOOST_TEST(memnode_of(out, 0)->nodeset == id_set{1});
  for (const auto& pin : out.cputune->vcpupins) BOOST_TEST(config::format_id_set(pin.cpuset) == "15-29,75-89");
  BOOST_TEST(config::format_id_set(*out.cputune->emulatorpin) == "15,75");
}

BOOST_AUTO_TEST_CASE(seed_six_cells_rejected_with_proposals) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  const auto d = load_domain(domain_file("seed-vnuma-six-cells-bad.xml"));
  ledger empty(host);
  auto e = expand(d, host, empty, {});
  BOOST_TEST_REQUIRE(!e.has_value());
  BOOST_TEST((e.error().code == errc::vcpus_not_divisible_by_cells));
  BOOST_TEST(e.error().message ==
             "16 vCPUs cannot be split evenly into 6 cells: use 12 or 18 vCPUs, or 1, 2, 4, 8 or 16 cells");
}

// Spec section 1: with 4 cells of 2 and current=4, vCPUs 0, 2, 4 and 6.
BOOST_AUTO_TEST_CASE(current_vcpus_balanced) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  auto d = load_domain(domain_file("seed-vnuma-host.xml"));
  d.vcpu.max = 8;
  d.vcpu.current = 4;
  ledger empty(host);
  auto e = expand_ok(d, host, empty, {});
  id_set enabled;
  for (const auto& v : e.domain.vcpus)
    if (v.enabled) enabled.insert(v.id);
  BOOST_TEST(enabled == (id_set{0, 2, 4, 6}));
}

// The hand-written seed guest holds exactly what the <vnuma> one does.
BOOST_AUTO_TEST_CASE(explicit_seed_matches_expansion) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  auto manual = placement_of_explicit(load_domain(domain_file("seed-manual-pxb.xml")), host);
  BOOST_TEST_REQUIRE(manual.has_value(), (manual ? std::string() : manual.error().message));
  ledger empty(host);
  auto e = expand_ok(load_domain(domain_file("seed-vnuma-host.xml")), host, empty, {});
  BOOST_TEST_REQUIRE(manual->cells.size() == e.place.cells.size());
  for (std::size_t k = 0; k < manual->cells.size(); ++k) {
    BOOST_TEST(manual->cells[k].host_node == e.place.cells[k].host_node);
    BOOST_TEST(manual->cells[k].vcpus == e.place.cells[k].vcpus);
    BOOST_TEST(manual->cells[k].memory_bytes == e.place.cells[k].memory_bytes);
  }
  BOOST_TEST_REQUIRE(manual->vcpus.size() == 16u);
  for (unsigned v = 0; v < 16; ++v) BOOST_TEST(manual->vcpus[v].host_cpus == e.place.vcpus[v].host_cpus);
  BOOST_TEST((manual->memory_per_node == e.place.memory_per_node));
  BOOST_TEST(manual->dedicated_cpus.empty());
}

// libvirt's negative cases: a memnode or memory nodeset naming a missing node.
BOOST_AUTO_TEST_CASE(explicit_unavailable_nodes) {
  const auto host = load_host("rfc-4n-2c-nosmt.xml");
  const std::vector<std::pair<std::string, std::string>> cases{
      {"numatune-memnode-unavailable-strict", "NUMA node 999 is unavailable"},
      {"numatune-static-nodeset-exceed-hostnode", "NUMA node 4 is unavailable"},
  };
  for (const auto& [name, message] : cases) {
    BOOST_TEST_CONTEXT(name) {
      auto d = config::parse_domain_file(shared_dir() / "conformance/libvirt" / (name + ".xml"));
      BOOST_TEST_REQUIRE(d.has_value(), (d ? std::string() : d.error().message));
      auto p = placement_of_explicit(*d, host);
      BOOST_TEST_REQUIRE(!p.has_value());
      BOOST_TEST((p.error().code == errc::node_unavailable));
      BOOST_TEST(p.error().message.find(message) != std::string::npos, p.error().message);
    }
  }
}

// Spec section 2: a memory-only node (CXL) never receives a cell.
BOOST_AUTO_TEST_CASE(sparse_cxl) {
  const auto host = load_host("sparse-cxl.xml");
  ledger empty(host);
  using config::vnuma_distribution;
  using config::vnuma_mode;
  auto e = expand_ok(make_guest("g", 8, 8 * GiB, vnuma_mode::host, vnuma_distribution::contiguous), host, empty, {});
  BOOST_TEST_REQUIRE(e.place.cells.size() == 2u);
  BOOST_TEST(e.place.cells[0].host_node == 0u);
  BOOST_TEST(e.place.cells[1].host_node == 2u);
  BOOST_TEST(e.domain.cpu.cells[0].distances.at(1) == host.distance(0, 2));
  auto wide = expand_ok(make_guest("g", 8, 8 * GiB, vnuma_mode::node, vnuma_distribution::round_robin, std::nullopt, 4),
                        host, empty, {});
  for (const auto& c : wide.place.cells) BOOST_TEST(c.host_node != 4u);
  for (std::string_view nodeset : {"4", "0-4", "1"}) {
    auto bad = expand(make_guest("g", 8, 8 * GiB, vnuma_mode::node, vnuma_distribution::contiguous, ids(nodeset)),
                      host, empty, {});
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST((bad.error().code == errc::node_unavailable));
    const std::string named = nodeset == "4" ? "node 4" : "node 1";
    BOOST_TEST(bad.error().message.find(named) != std::string::npos, bad.error().message);
  }
}

// Two cells on one node: distance 11 (spec "Distances"); without a matrix 10/20.
BOOST_AUTO_TEST_CASE(distances_same_node_and_default) {
  auto host = make_host({0, 1}, 4, 1, 8);
  host.distances.clear();
  ledger empty(host);
  auto e = expand_ok(make_guest("g", 8, 4 * GiB, config::vnuma_mode::node, config::vnuma_distribution::contiguous,
                                std::nullopt, 4),
                     host, empty, {});
  const auto& cells = e.domain.cpu.cells;
  BOOST_TEST(cells[0].distances.at(0) == 10u);
  BOOST_TEST(cells[0].distances.at(1) == 11u);  // both on node 0
  BOOST_TEST(cells[0].distances.at(2) == 20u);  // node 0 -> node 1 without a matrix
  BOOST_TEST(cells[3].distances.at(2) == 11u);
}

BOOST_AUTO_TEST_CASE(hugepages_rounding_and_ledger) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  auto d = load_domain(domain_file("seed-vnuma-host.xml"));
  d.memory_bytes = 4 * GiB + 3 * MiB;  // 1024.75 MiB per cell
  d.memory_backing = config::memory_backing_def{};
  d.memory_backing->hugepages = true;  // <hugepages/>: the host's default size
  ledger held(host);
  auto e = expand_ok(d, host, held, {});
  for (const auto& c : e.place.cells) {
    BOOST_TEST(c.hugepage_bytes == 2 * MiB);
    BOOST_TEST(c.memory_bytes == 1026 * MiB);  // 1025 MiB, then a whole 2 MiB page
    BOOST_TEST(e.place.hugepages_per_node.at({c.host_node, 2 * MiB}) == 513u);
  }
  BOOST_TEST(e.domain.memory_backing->hugepages);  // kept
  BOOST_TEST(*e.domain.memory_bytes == 4 * 1026 * MiB);
  d.memory_bytes = 4 * GiB;
  auto normal = expand_ok(load_domain(domain_file("seed-vnuma-host.xml")), host, held, {});
  BOOST_TEST(normal.place.hugepages_per_node.empty());

  // 4096 free pages per node: a 32 GiB guest takes them all, a second is refused.
  d.memory_bytes = 32 * GiB;
  auto first = expand_ok(d, host, held, {});
  BOOST_TEST(first.place.hugepages_per_node.at({0, 2 * MiB}) == 4096u);
  BOOST_TEST_REQUIRE(held.add(first.place).has_value());
  d.name = "second";
  auto second = expand(d, host, held, {});
  BOOST_TEST_REQUIRE(!second.has_value());
  BOOST_TEST((second.error().code == errc::insufficient_hugepages));
  BOOST_TEST(second.error().message ==
             "node 0 has 0 free 2 MiB huge pages, guest 'second' needs 4096 for cell 0");
  auto forced = expand(d, host, held, {.allow_overcommit = true, .reserved_cpus = {}});
  BOOST_TEST_REQUIRE(forced.has_value());
  BOOST_TEST(!forced->place.warnings.empty());
}

BOOST_AUTO_TEST_CASE(memory_refusal_names_node) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  ledger held(host);
  placement big;
  big.guest = "big";
  big.memory_per_node[0] = 124 * GiB;
  BOOST_TEST_REQUIRE(held.add(big).has_value());
  const auto d = load_domain(domain_file("seed-vnuma-host.xml"));
  auto e = expand(d, host, held, {});
  BOOST_TEST_REQUIRE(!e.has_value());
  BOOST_TEST((e.error().code == errc::insufficient_memory));
  BOOST_TEST(e.error().message == "node 0 has 4 GiB free, guest 'OL8-vnuma' needs 8 GiB for cell 0");
  auto over = expand(d, host, held, {.allow_overcommit = true, .reserved_cpus = {}});
  BOOST_TEST_REQUIRE(over.has_value());
  BOOST_TEST_REQUIRE(over->place.warnings.size() == 1u);
  BOOST_TEST(over->place.warnings[0].find("node 0 has 4 GiB free") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(cpu_refusal_names_node) {
  const auto host = load_host("rfc-4n-2c-nosmt.xml");
  ledger empty(host);
  auto d = make_guest("wide", 16, 1 * GiB, config::vnuma_mode::host, config::vnuma_distribution::contiguous);
  auto e = expand(d, host, empty, {});
  BOOST_TEST_REQUIRE(!e.has_value());
  BOOST_TEST((e.error().code == errc::insufficient_cpus));
  BOOST_TEST(e.error().message ==
             "node 0 has 2 CPUs not dedicated to other guests, guest 'wide' needs 4 for cell 0");
  d.vnuma->distribution = config::vnuma_distribution::siblings;
  auto s = expand(d, host, empty, {.allow_overcommit = false, .reserved_cpus = reserved_auto(host)});
  BOOST_TEST_REQUIRE(!s.has_value());
  BOOST_TEST(s.error().message.find("node 0 has 1 free threads for dedicated pinning") == 0u, s.error().message);
  BOOST_TEST(s.error().message.find("needs 4 for cell 0") != std::string::npos);
  // Overcommit wraps around the free thread, with a warning.
  auto w = expand(d, host, empty, {.allow_overcommit = true, .reserved_cpus = reserved_auto(host)});
  BOOST_TEST_REQUIRE(w.has_value());
  BOOST_TEST(w->place.vcpus[0].host_cpus == id_set{1});
  BOOST_TEST(w->place.vcpus[3].host_cpus == id_set{1});
  BOOST_TEST(!w->place.warnings.empty());
}

// Two guests never share a dedicated thread; the second walks past the first's cores.
BOOST_AUTO_TEST_CASE(second_siblings_guest_skips_held_cores) {
  const auto host = load_host("seed-e7-8895v2-4s.xml");
  ledger held(host);
  const id_set reserved = reserved_auto(host);
  auto first = expand_ok(load_domain(domain_file("seed-vnuma-siblings.xml")), host, held,
                         {.allow_overcommit = false, .reserved_cpus = reserved});
  BOOST_TEST_REQUIRE(held.add(first.place).has_value());
  auto d = load_domain(domain_file("seed-vnuma-siblings.xml"));
  d.name = "other";
  auto second = expand_ok(d, host, held, {.allow_overcommit = false, .reserved_cpus = reserved});
  BOOST_TEST(second.place.vcpus[0].host_cpus == id_set{3});
  BOOST_TEST(second.place.vcpus[1].host_cpus == id_set{63});
  for (unsigned cpu : second.place.dedicated_cpus) BOOST_TEST(!first.place.dedicated_cpus.contains(cpu));
  BOOST_TEST_REQUIRE(held.add(second.place).has_value());
  // A shared guest now avoids both guests' dedicated threads.
  auto shared = expand_ok(make_guest("shared", 4, 4 * GiB, config::vnuma_mode::node,
                                     config::vnuma_distribution::contiguous, id_set{0}),
                          host, held, {});
  const id_set pins = shared.place.vcpus[0].host_cpus;
  BOOST_TEST(pins.size() == 30u - 8u);
  BOOST_TEST(!pins.contains(1));
  BOOST_TEST(!pins.contains(63));
  BOOST_TEST(pins.contains(0));
}
