// A guest's XML edited while it runs: what can be applied live is applied
// (<vcpu current> as a NUMA-balanced setvcpus, added or removed
// <memory model='dimm'> devices, <vcpupin> of guests without <vnuma>); every
// other changed element is held as a pending cold change until the next
// restart.
#pragma once

#include "reactor/guest.hpp"

#include <boost/asio/awaitable.hpp>

namespace vnumad::reactor {

struct live_edit_result {
  std::vector<std::string> applied;   // one line per live change
  std::vector<std::string> pending;   // top-level elements held for the restart
  std::vector<std::string> failed;    // live changes QEMU or the ledger refused
};

// Takes the guest's job ("config edit") and waits for it as long as it
// takes: an edit that comes while the guest starts, or while another edit or
// operation runs, is applied after it, never interleaved.
boost::asio::awaitable<live_edit_result> apply_definition(guest& g, config::domain new_definition);

}  // namespace vnumad::reactor
