// The live verbs of a running guest on the control socket: vcpuinfo,
// vcpupin, setvcpus, attach-memory, detach-memory. Their arguments are read
// here; each change runs as the guest's member (guest_vcpus.cpp,
// guest_memory.cpp) under the guest's job.
#pragma once

#include "reactor/control_protocol.hpp"
#include "reactor/guest.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

namespace vnumad::reactor {

struct live_reply {
  bool handled = false;
  result<boost::json::value> reply = boost::json::value();
};

// Handles the live verbs; `handled` is false for any other op.
boost::asio::awaitable<live_reply> handle_live_op(guest& g, const control_request& request);

// vcpuinfo: each vCPU's cell, thread, affinity and the host CPU it last ran on.
result<boost::json::value> vcpu_info(guest& g);

// "yyyy----": one character per host CPU (0..max), y where `cpus` has it. The
// affinity map virsh vcpuinfo prints.
std::string affinity_map(const config::id_set& cpus, unsigned host_cpu_count);

}  // namespace vnumad::reactor
