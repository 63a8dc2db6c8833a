// Live operations on a running guest: vcpuinfo, vcpupin, NUMA-balanced
// setvcpus (vnuma-spec section 5), attach-memory / detach-memory (pc-dimm bound
// to the cell's host node). Each checks the ledger first and changes nothing
// when a check fails.
#pragma once

#include "reactor/control_protocol.hpp"
#include "reactor/guest.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

namespace vnumad::reactor {

// The operations of the live verbs (their handlers are in control_ops.cpp),
// also used by live config edits.
boost::asio::awaitable<result<boost::json::value>> set_vcpus(guest& g, unsigned target,
                                                             std::chrono::milliseconds unplug_timeout);
boost::asio::awaitable<result<boost::json::value>> attach_memory(guest& g, unsigned cell, std::uint64_t bytes);
boost::asio::awaitable<result<boost::json::value>> detach_memory(guest& g, const std::string& dimm_id,
                                                                 std::chrono::milliseconds timeout);
boost::asio::awaitable<result<boost::json::value>> pin_vcpu(guest& g, unsigned vcpu, const config::id_set& cpus);
result<boost::json::value> vcpu_info(guest& g);

// "yyyy----": one character per host CPU (0..max), y where `cpus` has it. The
// affinity map virsh vcpuinfo prints.
std::string affinity_map(const config::id_set& cpus, unsigned host_cpu_count);

// The vCPUs currently online in a running domain (<vcpus enabled>, or the
// first `current`).
config::id_set online_vcpus(const config::domain& d);

}  // namespace vnumad::reactor
