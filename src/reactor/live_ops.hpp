// What the live verbs show of a running guest (vcpuinfo). Their arguments
// are read by the verb table (verbs.cpp, control_ops.cpp); each change runs
// as the guest's member (guest_vcpus.cpp, guest_memory.cpp) under the
// guest's job.
#pragma once

#include "reactor/control_protocol.hpp"
#include "reactor/guest.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

namespace vnumad::reactor {

// vcpuinfo: each vCPU's cell, thread, affinity and the host CPU it last ran on.
result<boost::json::value> vcpu_info(guest& g);

// "yyyy----": one character per host CPU (0..max), y where `cpus` has it. The
// affinity map virsh vcpuinfo prints.
std::string affinity_map(const config::id_set& cpus, unsigned host_cpu_count);

}  // namespace vnumad::reactor
