// Every deadline vnumad gives a QMP command of a running guest, from one
// vnumad.conf key (qmp_command_timeout, default 10 s); each kind of command is
// a fixed multiple of it, here and nowhere else. Start-up's connect and
// greeting have their own key (qmp_timeout): they wait for QEMU to fault in
// the guest's memory.
#pragma once

#include "config/daemon_config.hpp"

#include <chrono>

namespace vnumad::reactor {

struct qmp_timeouts {
  // Most commands: query-hotpluggable-cpus, query-cpus-fast, device_add of
  // a vCPU, device_del, object-del, cont at the end of a start.
  std::chrono::milliseconds command;
  // Quick ones, where silence means QEMU is stopped or hung: query-status
  // before an operation, stop, cont, system_reset, system_powerdown, quit,
  // the re-attach to a running QEMU, numastat's queries. Half.
  std::chrono::milliseconds quick;
  // object-add and device_add of a dimm: the backend may preallocate. Triple.
  std::chrono::milliseconds memory;
  // How long setvcpus and detach-memory wait by default for the guest to
  // release a vCPU or dimm (their timeout_ms overrides it). Same as command.
  std::chrono::milliseconds unplug;
};

inline qmp_timeouts qmp_timeouts_for(const config::daemon_config& cfg) {
  const std::chrono::milliseconds base = cfg.qmp_command_timeout;
  return {.command = base, .quick = base / 2, .memory = base * 3, .unplug = base};
}

}  // namespace vnumad::reactor
