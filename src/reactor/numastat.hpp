// `numastat`: where a running guest's memory is, per cell and host node, read
// from /proc/PID/numa_maps of its QEMU (as `numastat -p` does) and matched to
// the memory backends QEMU reports over QMP (vnuma/memory_attribution.hpp).
// Read-only: it changes nothing in the guest or on the host.
#pragma once

#include "reactor/guest.hpp"
#include "vnuma/memory_attribution.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

namespace vnumad::reactor {

// The backends (query-memdev, with query-memory-devices for the dimms' cells)
// and the attribution of the QEMU's mappings to them.
boost::asio::awaitable<result<vnuma::memory_report>> read_memory_report(guest& g);

// The numastat verb: {"name", "pid", ...vnuma::to_json(report)}.
boost::asio::awaitable<result<boost::json::value>> numastat(guest& g);

// dominfo's "memory_placement": the summary, or {"error": "..."} when it
// cannot be read (the line is informative; dominfo itself never fails on it).
// Absent (nullopt) for a guest that is not running.
boost::asio::awaitable<std::optional<boost::json::object>> memory_placement(guest& g);

}  // namespace vnumad::reactor
