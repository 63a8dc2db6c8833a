#include "metrics/snapshot.hpp"

#include "config/cpuset.hpp"

namespace vnumad::metrics {

namespace {

family gauge(std::string name, std::string help) { return family{std::move(name), std::move(help), metric_type::gauge, {}}; }
family counter(std::string name, std::string help) {
  return family{std::move(name), std::move(help), metric_type::counter, {}};
}

void add(family& f, label_set labels, double value) { f.samples.push_back(sample{std::move(labels), value}); }

std::string str(unsigned n) { return std::to_string(n); }

void node_families(const snapshot& s, std::vector<family>& out) {
  family total = gauge("vnumad_node_memory_total_bytes", "Memory of the host NUMA node (MemTotal, huge page pools included).");
  family reserved = gauge("vnumad_node_memory_reserved_bytes", "Memory of the node kept from guests (vnumad.conf reserved_memory).");
  family capacity = gauge("vnumad_node_memory_capacity_bytes",
                          "Normal-page memory the node offers guests: MemTotal minus the huge page pools minus the reserve.");
  family held = gauge("vnumad_node_memory_held_bytes", "Memory guests hold on the node per the ledger, normal and huge pages.");
  family free = gauge("vnumad_node_memory_free_bytes", "Normal-page memory the ledger has left for guests on the node.");
  family hp_total = gauge("vnumad_node_hugepages_pool", "Huge pages in the node's pool of a size (sysfs nr_hugepages).");
  family hp_free = gauge("vnumad_node_hugepages_free", "Free huge pages in the node's pool of a size (sysfs free_hugepages).");
  family hp_held = gauge("vnumad_node_hugepages_held", "Huge pages of the node's pool that guests hold per the ledger.");
  family cpus = gauge("vnumad_node_cpus", "Host CPUs (hardware threads) of the node.");
  family cpus_reserved = gauge("vnumad_node_cpus_reserved", "CPUs of the node kept from dedicated pinning (reserved_cpus).");
  family cpus_dedicated = gauge("vnumad_node_cpus_dedicated", "CPUs of the node that guests hold dedicated.");
  for (const auto& n : s.nodes) {
    const label_set node{{"node", str(n.node)}};
    add(total, node, double(n.memory_total_bytes));
    add(reserved, node, double(n.memory_reserved_bytes));
    add(capacity, node, double(n.memory_capacity_bytes));
    add(held, node, double(n.memory_held_bytes));
    add(free, node, double(n.memory_free_bytes));
    for (const auto& [page_bytes, pool] : n.hugepages) {
      const label_set size{{"node", str(n.node)}, {"page_size_bytes", std::to_string(page_bytes)}};
      add(hp_total, size, double(pool.total));
      add(hp_free, size, double(pool.free));
      add(hp_held, size, double(pool.held));
    }
    add(cpus, node, n.cpus);
    add(cpus_reserved, node, n.cpus_reserved);
    add(cpus_dedicated, node, n.cpus_dedicated);
  }
  for (auto* f : {&total, &reserved, &capacity, &held, &free, &hp_total, &hp_free, &hp_held, &cpus, &cpus_reserved,
                  &cpus_dedicated})
    out.push_back(std::move(*f));
}

// numastat's reading (vnuma/memory_attribution.hpp): rows are cells, or
// cells whose backends cannot be told apart ("0-1").
void placement_families(const guest_snapshot& g, family& resident, family& off_node, family& size, family& other,
                        family& on_bound, family& unmatched) {
  if (!g.memory) return;
  const vnuma::memory_report& r = *g.memory;
  for (const auto& row : r.cells) {
    const std::string cells = config::format_id_set(row.cells);
    for (const auto& [node, bytes] : row.resident.bytes)
      add(resident, {{"guest", g.name}, {"cell", cells}, {"node", str(node)}}, double(bytes));
    add(off_node, {{"guest", g.name}, {"cell", cells}}, double(row.off_node_bytes()));
    add(size, {{"guest", g.name}, {"cell", cells}, {"bound_nodes", config::format_id_set(row.bound_nodes)}},
        double(row.size_bytes));
  }
  for (const auto& [node, bytes] : r.other.bytes) add(other, {{"guest", g.name}, {"node", str(node)}}, double(bytes));
  // As numastat's on_bound_nodes_percent, as a ratio: nothing resident is all in place.
  const std::uint64_t guest = r.guest_resident_bytes();
  add(on_bound, {{"guest", g.name}}, guest == 0 ? 1.0 : double(guest - r.off_node_bytes()) / double(guest));
  add(unmatched, {{"guest", g.name}}, double(r.unmatched.size()));
}

void guest_families(const snapshot& s, std::vector<family>& out) {
  family state = gauge("vnumad_guest_state", "1 for the guest's state, 0 for the others (the words of vnumactl list).");
  family vcpus = gauge("vnumad_guest_vcpus", "vCPUs the guest may have (<vcpu>).");
  family online = gauge("vnumad_guest_vcpus_online", "vCPUs plugged in the running guest.");
  family cell_memory = gauge("vnumad_guest_cell_memory_bytes", "Boot memory of a guest cell, on the host node it is bound to.");
  family cell_vcpus = gauge("vnumad_guest_cell_vcpus", "vCPUs of a guest cell, on the host node it is placed on.");
  family held = gauge("vnumad_guest_memory_held_bytes", "Memory the guest holds on a host node per the ledger (boot and hot-added).");
  family resident = gauge("vnumad_guest_memory_resident_bytes",
                          "Guest RAM resident on a host node, per cell, from the QEMU's numa_maps (vnumactl numastat).");
  family off_node = gauge("vnumad_guest_memory_off_node_bytes", "Guest RAM of a cell resident outside the nodes it is bound to.");
  family size = gauge("vnumad_guest_memory_backend_bytes", "Size of a cell's memory backends, with the host nodes they are bound to.");
  family other = gauge("vnumad_guest_qemu_memory_resident_bytes", "QEMU's own resident memory (not guest RAM) on a host node.");
  family on_bound = gauge("vnumad_guest_memory_on_bound_nodes_ratio",
                          "Share of the guest's resident RAM that is on the nodes its cells are bound to (1: all).");
  family unmatched = gauge("vnumad_guest_memory_unmatched_backends", "Memory backends numastat could not find in numa_maps.");
  family restarts = counter("vnumad_guest_restarts_total",
                            "Times the guest started again after it had been up, in this daemon's life.");
  for (const auto& g : s.guests) {
    const label_set guest{{"guest", g.name}};
    for (const auto& word : s.states) add(state, {{"guest", g.name}, {"state", word}}, word == g.state ? 1 : 0);
    add(vcpus, guest, g.vcpus_max);
    add(online, guest, g.vcpus_online);
    if (g.placement) {
      for (const auto& c : g.placement->cells) {
        const label_set cell{{"guest", g.name}, {"cell", str(c.cell)}, {"node", str(c.host_node)}};
        add(cell_memory, cell, double(c.memory_bytes));
        add(cell_vcpus, cell, double(c.vcpus.size()));
      }
      for (const auto& [node, bytes] : g.placement->memory_per_node)
        add(held, {{"guest", g.name}, {"node", str(node)}}, double(bytes));
    }
    placement_families(g, resident, off_node, size, other, on_bound, unmatched);
    add(restarts, guest, double(g.restarts));
  }
  for (auto* f : {&state, &vcpus, &online, &cell_memory, &cell_vcpus, &held, &resident, &off_node, &size, &other,
                  &on_bound, &unmatched, &restarts})
    out.push_back(std::move(*f));
}

void daemon_families(const snapshot& s, std::vector<family>& out) {
  family guests = gauge("vnumad_guests", "Guests defined, by state.");
  std::map<std::string, unsigned> by_state;
  for (const auto& word : s.states) by_state[word] = 0;
  for (const auto& g : s.guests) ++by_state[g.state];
  for (const auto& [word, n] : by_state) add(guests, {{"state", word}}, n);
  family queued = gauge("vnumad_guests_queued", "Guests waiting in the start queue (start_concurrency).");
  add(queued, {}, double(s.guests_queued));
  family requests = counter("vnumad_control_requests_total",
                            "Control requests answered, by verb and outcome (ok or the error code).");
  for (const auto& [key, n] : s.requests) add(requests, {{"verb", key.first}, {"code", key.second}}, double(n));
  family build = gauge("vnumad_build_info", "Always 1; the version of the running vnumad.");
  add(build, {{"version", s.version}}, 1);
  family took = gauge("vnumad_metrics_collection_seconds", "Time the daemon took to gather this scrape's figures.");
  add(took, {}, s.collection_seconds);
  for (auto* f : {&guests, &queued, &requests, &build, &took}) out.push_back(std::move(*f));
}

}  // namespace

node_snapshot node_snapshot_of(const vnuma::host_node& node, const vnuma::ledger& ledger, const config::id_set& reserved_cpus,
                               const vnuma::hugepage_counts& live) {
  node_snapshot n;
  n.node = node.id;
  n.memory_total_bytes = node.memory_bytes;
  n.memory_reserved_bytes = ledger.reserved_memory(node.id);
  n.memory_capacity_bytes = ledger.capacity_memory(node.id);
  n.memory_held_bytes = ledger.held_memory(node.id);
  n.memory_free_bytes = ledger.free_memory(node.id);
  for (const auto& [page_bytes, pages] : live.total) {
    hugepage_pool& pool = n.hugepages[page_bytes];
    pool.total = pages;
    if (auto f = live.free.find(page_bytes); f != live.free.end()) pool.free = f->second;
    const std::uint64_t capacity = ledger.capacity_hugepages(node.id, page_bytes);
    const std::uint64_t free = ledger.free_hugepages(node.id, page_bytes);
    pool.held = capacity > free ? capacity - free : 0;
  }
  n.cpus = static_cast<unsigned>(node.cpus.size());
  for (unsigned cpu : node.cpus) {
    n.cpus_reserved += reserved_cpus.contains(cpu) ? 1 : 0;
    n.cpus_dedicated += ledger.dedicated_holder(cpu) ? 1 : 0;
  }
  return n;
}

std::vector<family> to_families(const snapshot& s) {
  std::vector<family> out;
  node_families(s, out);
  guest_families(s, out);
  daemon_families(s, out);
  return out;
}

}  // namespace vnumad::metrics
