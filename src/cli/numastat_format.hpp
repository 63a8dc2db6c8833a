// Text for `vnumactl numastat` and dominfo's "Memory placement" line, from
// the daemon's JSON (vnuma/memory_attribution.hpp gives its shape).
#pragma once

#include <boost/json/value.hpp>

#include <ostream>
#include <string>

namespace vnumad::cli {

// A table as `numastat -p` prints one: a row per cell (or group of cells that
// cannot be told apart), a column per host node, MiB, and what is off node.
void print_numastat(const boost::json::value& result, std::ostream& out);

// "100% on bound nodes", "cell 0: 37% off node 1; cells 2-3: 0.5% off node 3",
// from dominfo's "memory_placement" object.
std::string memory_placement_line(const boost::json::value& placement);

}  // namespace vnumad::cli
