// What `vnumactl capabilities` shows: the host as vnumad sees it, in the shape
// of `numactl -H` plus what placing a guest needs (SMT sibling groups, the
// reserved CPUs, and which node each NIC/disk controller hangs off). Pure
// rendering, no I/O.
#pragma once

#include "vnuma/host_topology.hpp"

#include <boost/json/value.hpp>

#include <string>

namespace vnumad::vnuma {

// numactl -H style text, one fact per line, ending in a newline.
std::string render_capabilities_text(const host_topology& host, const id_set& reserved);

// The same facts as JSON:
// { "description", "threads_per_core", "default_hugepage_bytes", "node_ids": [..],
//   "reserved_cpus": "0,60", "reserved_cpu_ids": [..],
//   "nodes": [ { "id", "cpus": "0-14,60-74", "cpu_ids": [..], "cores": [[0,60],..],
//               "package": n|null, "memory_bytes", "free_bytes",
//               "hugepages": [{"size_bytes","total","free"}],
//               "pci_devices": [{"bus_id","description","os_names":[..],"node"}],
//               "reserved_cpus": "0,60", "reserved_cpu_ids": [..] } ],
//   "distances": [[..]] (always complete; 10/20 when the host reports none),
//   "distances_reported": bool, "unattached_pci_devices": [..] }
boost::json::value capabilities_json(const host_topology& host, const id_set& reserved);

}  // namespace vnumad::vnuma
