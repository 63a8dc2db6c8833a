// Host-independent semantic checks of a parsed domain: what libvirt rejects at
// define time (cell ids, memnodes, hotplug without NUMA...) plus the <vnuma>
// rules of docs/vnuma-spec.md section 1. Checks that need the host (does node 7
// exist? do 16 vCPUs split into 6 cells?) belong to the partitioner.
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"

namespace vnumad::config {

inline constexpr unsigned max_vcpus = 4096;

// The first violation found; the message starts with d.source_file (or the
// guest name when built in memory).
result<void> validate_domain(const domain& d);

}  // namespace vnumad::config
