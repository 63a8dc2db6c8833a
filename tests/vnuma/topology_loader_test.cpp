#define BOOST_TEST_MODULE topology_loader
#include <boost/test/unit_test.hpp>

#include "config/cpuset.hpp"
#include "vnuma/topology_loader.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <sstream>

namespace vnumad {
// Boost.Test finds this by argument-dependent lookup to print error kinds.
inline std::ostream& boost_test_print_type(std::ostream& os, errc code) { return os << to_string(code); }
}  // namespace vnumad

namespace fs = std::filesystem;
using namespace vnumad;
using namespace vnumad::vnuma;
using config::id_set;

namespace {

const fs::path hosts_dir = fs::path(VNUMAD_REFERENCE_DIR) / "fixtures" / "hosts";
constexpr std::uint64_t GiB = 1024ull * 1024 * 1024;
constexpr std::uint64_t two_mib = 2ull * 1024 * 1024;

std::string fmt(const id_set& ids) { return config::format_id_set(ids); }
std::string fmt(const std::vector<id_set>& cores) {
  std::string out;
  for (const auto& core : cores) out += (out.empty() ? "" : " ") + fmt(core);
  return out;
}

host_topology load(const std::string& name) {
  auto host = load_topology_xml(hosts_dir / name);
  BOOST_TEST_REQUIRE(host.has_value(), name << ": " << (host ? "" : host.error().message));
  return *host;
}

// The shapes the fixtures README describes. Node k (k-th node with CPUs) has
// cores k*cores_per_node ... (k+1)*cores_per_node-1; core c has the PUs
// {c, c+stride} (stride = total cores), {2c, 2c+1} when siblings are numbered
// adjacently, or {c} without SMT.
struct shape {
  std::string file;
  std::string description;
  std::vector<unsigned> node_ids;
  unsigned cores_per_node;
  unsigned threads;
  bool adjacent_siblings;
  unsigned nodes_per_package;
  std::uint64_t memory_per_node;
  std::uint64_t hugepages_2m_per_node;
  // expected distance between node positions a and b (same package or not)
  unsigned local, same_package, remote;
  bool has_matrix;
};

const std::vector<shape> shapes = {
    {"seed-e7-8895v2-4s.xml", "4-socket Xeon E7-8895 v2 (seed host)", {0, 1, 2, 3}, 15, 2, false, 1, 128 * GiB, 4096, 10, 21, 21, true},
    {"rfc-4n-2c-nosmt.xml", "4 nodes x 2 CPUs x 2 GiB, no SMT", {0, 1, 2, 3}, 2, 1, false, 1, 2 * GiB, 0, 10, 20, 20, true},
    {"epyc-2s-nps4.xml", "2-socket EPYC, NPS4", {0, 1, 2, 3, 4, 5, 6, 7}, 16, 2, false, 4, 64 * GiB, 8192, 10, 12, 32, true},
    {"small-2s.xml", "2-socket, 4 cores x 2 threads, sequential numbering", {0, 1}, 4, 2, true, 1, 16 * GiB, 0, 10, 21, 21, true},
    {"uma-1s.xml", "single node", {0}, 8, 2, false, 1, 32 * GiB, 0, 10, 20, 20, false},
    {"big-16n.xml", "8 sockets x 2 nodes", {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, 8, 2, false, 2, 64 * GiB, 0, 10, 16, 32, true},
};

std::vector<id_set> expected_cores(const shape& s, unsigned position) {
  const unsigned total_cores = s.cores_per_node * static_cast<unsigned>(s.node_ids.size());
  std::vector<id_set> cores;
  for (unsigned c = position * s.cores_per_node; c < (position + 1) * s.cores_per_node; ++c) {
    if (s.threads == 1)
      cores.push_back({c});
    else if (s.adjacent_siblings)
      cores.push_back({2 * c, 2 * c + 1});
    else
      cores.push_back({c, c + total_cores});
  }
  return cores;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_fixture_has_its_documented_shape) {
  for (const auto& s : shapes) {
    BOOST_TEST_CONTEXT(s.file) {
      const host_topology host = load(s.file);
      BOOST_TEST(host.description == s.description);
      BOOST_TEST(host.threads_per_core == s.threads);
      BOOST_TEST(host.default_hugepage_bytes == two_mib);
      BOOST_TEST_REQUIRE(host.nodes.size() == s.node_ids.size());
      BOOST_TEST(host.distances.empty() == !s.has_matrix);
      for (unsigned k = 0; k < host.nodes.size(); ++k) {
        const host_node& node = host.nodes[k];
        BOOST_TEST_CONTEXT("node " << node.id) {
          BOOST_TEST(node.id == s.node_ids[k]);
          const auto cores = expected_cores(s, k);
          BOOST_TEST(fmt(node.cores) == fmt(cores));
          id_set cpus;
          for (const auto& core : cores) cpus.insert(core.begin(), core.end());
          BOOST_TEST(fmt(node.cpus) == fmt(cpus));
          BOOST_TEST_REQUIRE(node.package.has_value());
          BOOST_TEST(*node.package == k / s.nodes_per_package);
          BOOST_TEST(node.memory_bytes == s.memory_per_node);
          BOOST_TEST(node.free_bytes == node.memory_bytes);
          // Every fixture lists a 2 MiB page type; 4 KiB pages are not huge pages.
          BOOST_TEST(node.hugepages_total.size() == 1u);
          BOOST_TEST(node.hugepages_total.at(two_mib) == s.hugepages_2m_per_node);
          BOOST_TEST(node.hugepages_free.at(two_mib) == s.hugepages_2m_per_node);
          BOOST_TEST(!node.hugepages_total.contains(4096));
          for (unsigned j = 0; j < host.nodes.size(); ++j) {
            const unsigned want = j == k ? s.local
                                  : (j / s.nodes_per_package == k / s.nodes_per_package) ? s.same_package
                                                                                        : s.remote;
            BOOST_TEST(host.distance(node.id, host.nodes[j].id) == want, "to node " << host.nodes[j].id);
            if (s.has_matrix) BOOST_TEST(host.distances[k][j] == want);
          }
          for (unsigned cpu : node.cpus) BOOST_TEST(host.node_of_cpu(cpu).value_or(~0u) == node.id);
        }
      }
      // Fixtures carry no I/O objects.
      BOOST_TEST(host.unattached_pci.empty());
    }
  }
}

BOOST_AUTO_TEST_CASE(seed_node0_matches_the_spec_example) {
  const host_topology host = load("seed-e7-8895v2-4s.xml");
  BOOST_TEST(config::format_id_set(host.nodes.at(0).cpus) == "0-14,60-74");
  BOOST_TEST(config::format_id_set(host.nodes.at(3).cpus) == "45-59,105-119");
  BOOST_TEST(fmt(host.nodes.at(0).cores.at(1)) == "1,61");
}

BOOST_AUTO_TEST_CASE(sparse_ids_and_a_memory_only_node) {
  const host_topology host = load("sparse-cxl.xml");
  BOOST_TEST(fmt(host.node_ids()) == "0,2,4");
  BOOST_TEST(fmt(host.nodes_with_cpus()) == "0,2");
  const host_node* cxl = host.find_node(4);
  BOOST_TEST_REQUIRE(cxl != nullptr);
  BOOST_TEST(!cxl->has_cpus());
  BOOST_TEST(cxl->cores.empty());
  BOOST_TEST(cxl->memory_bytes == 64 * GiB);
  BOOST_TEST(!cxl->package.has_value());
  BOOST_TEST(cxl->hugepages_total.empty());  // only 4 KiB pages
  BOOST_TEST(fmt(host.find_node(0)->cpus) == "0-3,8-11");
  BOOST_TEST(fmt(host.find_node(2)->cpus) == "4-7,12-15");
  BOOST_TEST(fmt(host.find_node(2)->cores) == "4,12 5,13 6,14 7,15");
  BOOST_TEST(host.find_node(0)->memory_bytes == 16 * GiB);
  BOOST_TEST(host.distance(0, 2) == 21u);
  BOOST_TEST(host.distance(2, 4) == 40u);
  BOOST_TEST(host.distance(4, 0) == 40u);
  BOOST_TEST(host.distance(4, 4) == 10u);
  BOOST_TEST(host.threads_per_core == 2u);
  BOOST_TEST(host.find_node(1) == nullptr);
}

BOOST_AUTO_TEST_CASE(missing_file_is_an_error_naming_it) {
  const fs::path file = fs::temp_directory_path() / "vnumad-no-such-topology.xml";
  fs::remove(file);
  auto host = load_topology_xml(file);
  BOOST_TEST_REQUIRE(!host.has_value());
  BOOST_TEST(host.error().code == errc::io_error);
  BOOST_TEST(host.error().message.find(file.string()) != std::string::npos, host.error().message);
  BOOST_TEST(host.error().message.find("No such file or directory") != std::string::npos, host.error().message);
}

BOOST_AUTO_TEST_CASE(malformed_files_are_errors_naming_them) {
  const std::vector<std::string> bodies = {
      "<topology version=\"2.0\"><object type=\"Machine\"",  // truncated
      "not xml at all\n",
      "<?xml version=\"1.0\"?><domain type='kvm'><name>x</name></domain>\n",  // XML, not hwloc
      "",
  };
  for (std::size_t i = 0; i < bodies.size(); ++i) {
    BOOST_TEST_CONTEXT("body " << i) {
      const fs::path file = fs::temp_directory_path() / ("vnumad-bad-topology-" + std::to_string(::getpid()) + "-" +
                                                         std::to_string(i) + ".xml");
      std::ofstream(file) << bodies[i];
      auto host = load_topology_xml(file);
      fs::remove(file);
      BOOST_TEST_REQUIRE(!host.has_value());
      BOOST_TEST(host.error().code == errc::xml_malformed);
      BOOST_TEST(host.error().message.find(file.string()) != std::string::npos, host.error().message);
    }
  }
}

// ---- the machine the tests run on, checked against what Linux says ----

namespace {

std::string read_text(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

id_set read_list(const fs::path& file) {
  const std::string text = read_text(file);
  if (text.empty()) return {};
  auto ids = config::parse_id_set(text);
  BOOST_TEST_REQUIRE(ids.has_value(), file);
  return *ids;
}

const fs::path sys_nodes = "/sys/devices/system/node";

id_set sysfs_node_ids() {
  id_set ids;
  for (const auto& e : fs::directory_iterator(sys_nodes)) {
    unsigned id = 0;
    if (std::sscanf(e.path().filename().c_str(), "node%u", &id) == 1) ids.insert(id);
  }
  return ids;
}

}  // namespace

BOOST_AUTO_TEST_CASE(live_topology_matches_sysfs) {
  BOOST_TEST_REQUIRE(fs::exists(sys_nodes), "this test needs Linux sysfs");
  // This VM's memory can grow or shrink while the test runs (virtio-mem,
  // balloon): hwloc's view must lie between two readings taken around it.
  const auto mem_totals = [] {
    std::map<unsigned, std::uint64_t> totals;
    for (unsigned id : sysfs_node_ids()) {
      std::istringstream meminfo(read_text(sys_nodes / ("node" + std::to_string(id)) / "meminfo"));
      for (std::string line; std::getline(meminfo, line);) {
        unsigned long kib = 0;
        if (std::sscanf(line.c_str(), "Node %*u MemTotal: %lu kB", &kib) == 1) totals[id] = kib * 1024ull;
      }
    }
    return totals;
  };
  const auto mem_before = mem_totals();
  auto loaded = load_live_topology();
  const auto mem_after = mem_totals();
  BOOST_TEST_REQUIRE(loaded.has_value(), (loaded ? "" : loaded.error().message));
  const host_topology& host = *loaded;

  BOOST_TEST(fmt(host.node_ids()) == fmt(sysfs_node_ids()));
  BOOST_TEST(host.all_cpus().size() == static_cast<std::size_t>(::sysconf(_SC_NPROCESSORS_ONLN)));
  BOOST_TEST(!host.description.empty());

  unsigned widest_core = 1;
  for (const auto& node : host.nodes) {
    BOOST_TEST_CONTEXT("node " << node.id) {
      const fs::path dir = sys_nodes / ("node" + std::to_string(node.id));
      BOOST_TEST(fmt(node.cpus) == fmt(read_list(dir / "cpulist")));

      // Cores: each group is exactly the kernel's thread_siblings_list.
      id_set covered;
      for (const auto& core : node.cores) {
        const unsigned first = *core.begin();
        const id_set siblings =
            read_list("/sys/devices/system/cpu/cpu" + std::to_string(first) + "/topology/thread_siblings_list");
        BOOST_TEST(fmt(core) == fmt(siblings));
        widest_core = std::max<unsigned>(widest_core, siblings.size());
        covered.insert(core.begin(), core.end());
      }
      BOOST_TEST(fmt(covered) == fmt(node.cpus));

      // Memory: the node's MemTotal from its meminfo.
      const std::uint64_t low = std::min(mem_before.at(node.id), mem_after.at(node.id));
      const std::uint64_t high = std::max(mem_before.at(node.id), mem_after.at(node.id));
      BOOST_TEST(low > 0u);
      BOOST_TEST((node.memory_bytes >= low && node.memory_bytes <= high),
                 node.memory_bytes << " outside [" << low << ", " << high << "]");
      BOOST_TEST(node.free_bytes > 0u);
      BOOST_TEST(node.free_bytes <= node.memory_bytes);

      // Huge pages: every size sysfs lists, with its counts.
      std::size_t sizes = 0;
      for (const auto& e : fs::directory_iterator(dir / "hugepages")) {
        unsigned long kib = 0;
        BOOST_TEST_REQUIRE(std::sscanf(e.path().filename().c_str(), "hugepages-%lukB", &kib) == 1);
        const std::uint64_t size = kib * 1024ull;
        ++sizes;
        BOOST_TEST_REQUIRE(node.hugepages_total.contains(size));
        BOOST_TEST(node.hugepages_total.at(size) == std::stoull(read_text(e.path() / "nr_hugepages")));
        BOOST_TEST(node.hugepages_free.at(size) <= node.hugepages_total.at(size));
      }
      BOOST_TEST(node.hugepages_total.size() == sizes);

      // Distances: the kernel's row for this node, in node id order.
      std::istringstream row(read_text(dir / "distance"));
      for (unsigned other : sysfs_node_ids()) {
        unsigned want = 0;
        row >> want;
        BOOST_TEST(host.distance(node.id, other) == want, "to node " << other);
      }
    }
  }
  BOOST_TEST(host.threads_per_core == widest_core);

  // Every network interface and disk backed by a PCI function shows up under
  // that function, on some node or among the unattached devices.
  std::vector<const pci_device*> devices;
  for (const auto& node : host.nodes)
    for (const auto& d : node.pci_devices) {
      BOOST_TEST(d.node.value_or(~0u) == node.id);
      devices.push_back(&d);
    }
  for (const auto& d : host.unattached_pci) devices.push_back(&d);
  const std::regex bus_re("[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\\.[0-7]");
  std::size_t checked = 0;
  for (const char* cls : {"/sys/class/net", "/sys/class/block"}) {
    if (!fs::exists(cls)) continue;
    for (const auto& e : fs::directory_iterator(cls)) {
      std::error_code ec;
      const fs::path dev = fs::canonical(e.path() / "device", ec);
      if (ec) continue;  // virtual interface, partition
      std::string bus;
      for (const auto& part : dev)
        if (std::regex_match(part.string(), bus_re)) bus = part.string();
      if (bus.empty()) continue;
      const std::string name = e.path().filename().string();
      BOOST_TEST_CONTEXT(name << " on " << bus) {
        auto it = std::find_if(devices.begin(), devices.end(), [&](const pci_device* d) { return d->bus_id == bus; });
        BOOST_TEST_REQUIRE((it != devices.end()));
        BOOST_TEST(std::count((*it)->os_names.begin(), (*it)->os_names.end(), name) == 1);
        BOOST_TEST(!(*it)->description.empty());
        ++checked;
      }
    }
  }
  BOOST_TEST_MESSAGE("checked " << checked << " PCI-backed interfaces/disks against sysfs");
}
