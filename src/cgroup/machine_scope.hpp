// Guests as systemd machines (libvirt's virSystemdCreateMachine): under a
// systemd PID 1 on cgroup v2 each QEMU runs in its own scope,
// machine.slice/machine-<guest>.scope, registered with systemd-machined, so
// `machinectl list` and `systemd-cgls` show it and systemd's single-writer
// rule holds: vnumad writes cgroup files only inside the scope, which systemd
// delegated to it (Delegate=yes). The request is plain data
// (machine_request_for), sent over sd-bus by create_machine.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

namespace vnumad::cgroup {

// One unit property of the scope, as systemd's D-Bus API spells it: a(sv)
// with b, s, t or as values.
struct scope_property {
  std::string name;
  std::variant<bool, std::string, std::uint64_t, std::vector<std::string>> value;
  bool operator==(const scope_property&) const = default;
};

// The arguments of org.freedesktop.machine1.Manager.CreateMachine.
struct machine_request {
  std::string name;                     // the guest's name: machinectl shows it
  std::vector<std::uint8_t> id;         // the domain's <uuid> as 16 bytes, or empty
  std::string service = "vnumad";
  std::string machine_class = "vm";
  pid_t leader = 0;
  std::vector<scope_property> properties;
};

// 16 bytes from "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (dashes optional, as
// libvirt's virUUIDParse); std::nullopt for anything else.
std::optional<std::array<std::uint8_t, 16>> parse_uuid(std::string_view text);

// What vnumad asks of each guest's scope:
//   Description  "vnumad guest NAME"
//   Delegate     yes: the scope's subtree is vnumad's (cpuset groups for
//                the emulator and each vCPU, inside the scope)
//   After        vnumad.service: at host shutdown systemd stops the scopes
//                before the daemon, never the daemon first
//   TasksMax     infinity: QEMU has a thread per vCPU plus its I/O threads
//   CollectMode  inactive-or-failed: a scope whose QEMU crashed is removed
//                anyway and the guest can be started again under its name
std::vector<scope_property> scope_properties_for(std::string_view guest);
machine_request machine_request_for(std::string_view guest, const std::optional<std::string>& uuid, pid_t leader);

// True when systemd manages the cgroup tree: PID 1 is systemd (sd_booted) and
// `mount_base` is the cgroup v2 (unified) hierarchy. Otherwise vnumad keeps
// its own tree (<cgroup root>/vnumad/<guest>).
bool systemd_manages_cgroups(const std::filesystem::path& mount_base = "/sys/fs/cgroup");

// Registers the machine and waits until systemd has started its scope with
// the leader in it (machined replies once the scope's start job is done).
// Errors name the guest and the bus error.
result<void> create_machine(const machine_request& request);

// TerminateMachine: ends the scope (SIGTERM to what is left, then the unit
// stops). A machine that is not registered is already gone: success.
result<void> terminate_machine(std::string_view name);

// Whether machined knows a machine of that name (GetMachine).
result<bool> machine_exists(std::string_view name);

// The machine scope a process lives in, from the text of /proc/PID/cgroup:
// the v2 line's path, when it is under /machine.slice, up to its first
// component ending in ".scope", e.g.
// "/machine.slice/machine-app1.scope" for
// "0::/machine.slice/machine-app1.scope/vnumad/emulator". std::nullopt when
// the process is in no machine scope (vnumad's own tree, a service, a login
// session's scope).
std::optional<std::filesystem::path> scope_in_cgroup_file(std::string_view proc_cgroup_text);

// The same for a live process: the scope's directory under `mount_base`.
result<std::optional<std::filesystem::path>> scope_of_process(pid_t pid,
                                                              const std::filesystem::path& mount_base = "/sys/fs/cgroup");

}  // namespace vnumad::cgroup
