// Helpers for the partitioner tests: fixture paths, loaders that fail the
// test with the loader's message, and small hosts and guests built in code
// (random ones for the property tests, from a seeded generator).
#pragma once

#include "config/domain.hpp"
#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <random>
#include <string>

namespace vnumad::vnuma::testing {

inline std::filesystem::path shared_dir() { return VNUMAD_REFERENCE_DIR; }
inline std::filesystem::path host_file(const std::string& name) { return shared_dir() / "fixtures/hosts" / name; }
inline std::filesystem::path domain_file(const std::string& name) { return shared_dir() / "fixtures/domains" / name; }

inline host_topology load_host(const std::string& name) {
  auto host = load_topology_xml(host_file(name));
  BOOST_TEST_REQUIRE(host.has_value(), (host ? std::string() : host.error().message));
  return std::move(*host);
}

inline config::domain load_domain(const std::filesystem::path& path) {
  auto d = config::parse_domain_file(path);
  BOOST_TEST_REQUIRE(d.has_value(), (d ? std::string() : d.error().message));
  return std::move(*d);
}

inline id_set ids(std::string_view text) {
  if (text.empty()) return {};
  auto s = config::parse_id_set(text);
  BOOST_TEST_REQUIRE(s.has_value(), (s ? std::string() : s.error().message));
  return *s;
}

// A host built in code: `node_ids` nodes, each with `cores` cores of
// `threads` threads, PUs numbered node-major with siblings adjacent, memory
// per node in GiB, `pages` free 2 MiB pages per node.
inline host_topology make_host(const std::vector<unsigned>& node_ids, unsigned cores, unsigned threads,
                               std::uint64_t gib, std::uint64_t pages = 0) {
  host_topology h;
  h.description = "built in code";
  h.threads_per_core = threads;
  unsigned pu = 0;
  for (unsigned id : node_ids) {
    host_node n;
    n.id = id;
    for (unsigned c = 0; c < cores; ++c) {
      id_set core;
      for (unsigned t = 0; t < threads; ++t) core.insert(pu++);
      n.cpus.insert(core.begin(), core.end());
      n.cores.push_back(core);
    }
    n.memory_bytes = n.free_bytes = gib * config::GiB;
    if (pages) n.hugepages_total[2 * config::MiB] = n.hugepages_free[2 * config::MiB] = pages;
    h.nodes.push_back(std::move(n));
  }
  h.distances.assign(node_ids.size(), std::vector<unsigned>(node_ids.size(), 20));
  for (std::size_t i = 0; i < node_ids.size(); ++i) h.distances[i][i] = 10;
  return h;
}

// A guest built in code with a <vnuma> element.
inline config::domain make_guest(std::string name, unsigned vcpus, std::uint64_t memory_bytes,
                                 config::vnuma_mode mode, config::vnuma_distribution dist,
                                 std::optional<id_set> nodeset = std::nullopt,
                                 std::optional<unsigned> cells = std::nullopt) {
  config::domain d;
  d.type = "qemu";
  d.name = std::move(name);
  d.memory_bytes = memory_bytes;
  d.vcpu.max = vcpus;
  config::vnuma_def v;
  v.mode = mode;
  v.distribution = dist;
  v.partition_nodeset = std::move(nodeset);
  v.partition_cells = cells;
  d.vnuma = v;
  return d;
}

// Random small host: 1..max_nodes nodes with sparse ids, 1..4 cores of 1..2
// threads, 1..8 GiB, random symmetric distances (local 10, remote 11..40).
inline host_topology random_host(std::mt19937& rng, unsigned max_nodes) {
  auto pick = [&](unsigned lo, unsigned hi) { return std::uniform_int_distribution<unsigned>(lo, hi)(rng); };
  unsigned count = pick(1, max_nodes);
  std::vector<unsigned> node_ids;
  unsigned id = 0;
  for (unsigned i = 0; i < count; ++i) {
    id += pick(0, 1);  // sometimes sparse
    node_ids.push_back(id++);
  }
  host_topology h = make_host(node_ids, pick(1, 4), pick(1, 2), pick(1, 8), pick(0, 1) ? 512 : 0);
  for (std::size_t i = 0; i < count; ++i)
    for (std::size_t j = i + 1; j < count; ++j) h.distances[i][j] = h.distances[j][i] = pick(11, 40);
  return h;
}

}  // namespace vnumad::vnuma::testing
