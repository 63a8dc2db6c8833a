#include "reactor/verbs.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <limits>

namespace vnumad::reactor {

namespace json = boost::json;

namespace {

using k = arg_kind;
using h = verb_handlers;
constexpr auto ro = access_level::read_only;
constexpr auto rw = access_level::read_write;

constexpr arg_spec guest{"name", k::string, true, "NAME", true, {}, "the guest's <name> (see vnumactl list)"};
constexpr arg_spec name_only[] = {guest};
constexpr arg_spec events_args[] = {
    {"name", k::string, false, "NAME", true, "domain", "only this guest's events (as NAME)"}};
constexpr arg_spec shutdown_args[] = {
    guest, {"timeout", k::seconds, false, "S", false, "timeout", "seconds before QEMU is stopped (default: shutdown_timeout)"}};
constexpr arg_spec vcpupin_args[] = {guest,
                                     {"vcpu", k::count, true, "VCPU", true, {}, "the vCPU's id"},
                                     {"cpuset", k::string, true, "CPUSET", true, {}, "host CPUs, e.g. 2-3"}};
constexpr arg_spec unplug_wait{"timeout_ms", k::milliseconds, false, "MS", false, "timeout-ms",
                               "how long to wait for the guest to release (default 10000)"};
constexpr arg_spec setvcpus_args[] = {guest, {"count", k::count, true, "COUNT", true, {}, "vCPUs online afterwards"},
                                      unplug_wait};
constexpr arg_spec attach_args[] = {guest,
                                    {"cell", k::count, true, "K", false, "cell", "the guest cell"},
                                    {"size", k::string, true, "SIZE", false, "size", "size with unit, e.g. 256MiB"}};
constexpr arg_spec detach_args[] = {guest, {"dimm", k::string, true, "DIMM", true, {}, "the dimm's id, e.g. dimm0"},
                                    unplug_wait};

constexpr arg_spec console_args[] = {
    guest, {"force", k::boolean, false, "BOOL", false, "force", "take the console over from the client attached"}};

constexpr std::array<verb, 21> table{{
    {"list", ro, {}, &h::list, "list the guests: pid, name and state (as virsh list --all)",
     "Lists the guests the daemon knows: QEMU's pid (- when not running), the name and the state.\n\n"
     "Examples:\n"
     "  vnumactl list\n"
     "  vnumactl list --json -c /run/vnumad/vnumad.sock\n"},
    {"dominfo", ro, name_only, &h::dominfo, "state, pid, vCPUs, memory, cells -> host nodes, pending changes",
     "State, pid, vCPUs online/max, memory, cells -> host nodes, memory placement, pending cold changes.\n\n"
     "Examples:\n"
     "  vnumactl dominfo web\n"},
    {"domxml", ro, name_only, &h::domxml, "the expanded domain XML the guest runs with",
     "The expanded domain XML the guest runs with (its definition when it is not running).\n"
     "Through the read-only socket (-r) passwords, <description>, <metadata> and comments are left out.\n\n"
     "Examples:\n"
     "  vnumactl domxml web > web-expanded.xml\n"},
    {"vcpuinfo", ro, name_only, &h::vcpuinfo, "per vCPU: host CPU, online state, cell, affinity map",
     "Per vCPU: host CPU it last ran on, online state, cell and affinity map.\n"
     "The affinity map has one character per host CPU (y = allowed), e.g. 'yy--'.\n\n"
     "Examples:\n"
     "  vnumactl vcpuinfo web\n"},
    {"numastat", ro, name_only, &h::numastat, "per cell: the guest memory on each host node (numastat -p)",
     "Per cell: the guest memory on each host node (from QEMU's /proc/PID/numa_maps) and how much\n"
     "is off the node the cell is bound to, huge pages and hot-added dimms included; QEMU's own\n"
     "memory is 'other'. Cells whose backends have the same size and node are shown together.\n"
     "Read-only, as numastat -p.\n\n"
     "Examples:\n"
     "  vnumactl numastat web\n"
     "  vnumactl numastat web --json | jq '.cells[] | {cells, off_node_percent}'\n"},
    {"vcpupin", rw, vcpupin_args, &h::vcpupin, "pin one vCPU to host CPUs now",
     "Pins one vCPU to host CPUs now (checked against CPUs other guests hold dedicated).\n\n"
     "Examples:\n"
     "  vnumactl vcpupin web 3 2-3\n"},
    {"setvcpus", rw, setvcpus_args, &h::setvcpus, "set the number of online vCPUs, balanced across cells",
     "Sets the number of online vCPUs, balanced across cells.\n"
     "Removes from the cell with the most online vCPUs, highest id first; adds in reverse.\n"
     "Added vCPUs are pinned before they run; an unplug waits for the guest to release\n"
     "the vCPU (default 10000 ms).\n\n"
     "Examples:\n"
     "  vnumactl setvcpus web 8     # 4 cells: 2,2,2,2\n"
     "  vnumactl setvcpus web 6     # unplugs vCPUs 7 and 5: 2,2,1,1\n"},
    {"attach-memory", rw, attach_args, &h::attach_memory, "hot-add a dimm to a guest cell, bound to its host node",
     "Hot-adds a pc-dimm to guest cell K, its memory bound to that cell's host node, with the\n"
     "backend a dimm of the domain would get (huge pages, memfd, share). SIZE takes libvirt\n"
     "units: 256MiB, 1GiB, 1G. Needs <maxMemory slots='N'>.\n\n"
     "Examples:\n"
     "  vnumactl attach-memory web --cell 2 --size 256MiB\n"},
    {"detach-memory", rw, detach_args, &h::detach_memory, "remove a hot-added dimm once the guest releases it",
     "Removes a hot-added dimm (its id, e.g. dimm0, from domxml) once the guest releases it.\n\n"
     "Examples:\n"
     "  vnumactl detach-memory web dimm0\n"},
    {"start", rw, name_only, &h::start, "start a defined guest that is shut off",
     "Starts a defined guest that is shut off.\n\n"
     "Examples:\n"
     "  vnumactl start web\n"},
    {"shutdown", rw, shutdown_args, &h::shutdown, "ACPI power button; QEMU stopped after the timeout",
     "ACPI power button; QEMU is stopped after the timeout (default: shutdown_timeout).\n\n"
     "Examples:\n"
     "  vnumactl shutdown web --timeout 60\n"},
    {"destroy", rw, name_only, &h::destroy, "stop QEMU at once",
     "Stops QEMU at once.\n\n"
     "Examples:\n"
     "  vnumactl destroy web\n"},
    {"suspend", rw, name_only, &h::suspend, "pause the guest's vCPUs (QMP stop)",
     "Pauses the guest's vCPUs (QMP stop).\n\n"
     "Examples:\n"
     "  vnumactl suspend web\n"},
    {"resume", rw, name_only, &h::resume, "resume a suspended guest (QMP cont)",
     "Resumes a suspended guest (QMP cont).\n\n"
     "Examples:\n"
     "  vnumactl resume web\n"},
    {"reboot", rw, name_only, &h::reboot, "reset the guest in the same QEMU",
     "Resets the guest in the same QEMU.\n\n"
     "Examples:\n"
     "  vnumactl reboot web\n"},
    {"restart", rw, shutdown_args, &h::restart, "shut down and start again, applying pending changes",
     "Shuts the guest down and starts it again, applying pending cold changes.\n\n"
     "Examples:\n"
     "  vnumactl restart web\n"},
    {"reload", rw, {}, &h::reload, "rescan the config directory (as SIGHUP)",
     "Rescans the config directory (as SIGHUP).\n\n"
     "Examples:\n"
     "  vnumactl reload\n"},
    {"host-shutdown", rw, {}, &h::host_shutdown, "shut every guest down as on_host_shutdown says, and wait",
     "The host is shutting down: acts on every guest as on_host_shutdown in vnumad.conf says and\n"
     "waits until that is done. shutdown: ACPI power button to all guests at once, QEMU ended for\n"
     "those still up after host_shutdown_timeout; destroy: QEMU ended at once; leave: nothing.\n"
     "The ExecStop= of vnumad-guests.service; guests it stopped stay down until started again.\n\n"
     "Examples:\n"
     "  vnumactl host-shutdown\n"},
    {"console", rw, console_args, nullptr, "the guest's serial console (serial port 0), as virsh console",
     "The guest's serial console (serial port 0), as virsh console: Ctrl-] ends the session.\n"
     "One client per guest; --force takes the console over from the one attached. On a terminal\n"
     "the input is raw; from a pipe bytes pass through and the end of input ends the session.\n"
     "--escape ^X sets the key that ends the session (or none). Read-write socket only.\n\n"
     "Examples:\n"
     "  vnumactl console web\n"
     "  vnumactl console web --force --escape ^A\n",
     true, false, &h::console},
    {"events", ro, events_args, &h::events, "follow lifecycle and hotplug events, with times and reasons",
     "Follows the daemon's events until interrupted, one line each: the time (RFC 3339, UTC, in\n"
     "microseconds), the guest, the event and its reason (QEMU's own where it gave one):\n"
     "started, start_failed, crashed, restarted, shutdown, suspended, resumed, reset, panicked,\n"
     "device_deleted, config_applied, vcpus_changed, memory_attached, memory_detached, state, ...\n"
     "With NAME, only that guest's (filtered by the daemon). --json prints the objects.\n\n"
     "Examples:\n"
     "  vnumactl events\n"
     "  vnumactl events web --json | jq -c 'select(.event == \"vcpus_changed\")'\n",
     true, true},
    {"capabilities", ro, {}, &h::capabilities, "the host as the daemon sees it (vnumactl capabilities reads it itself)",
     "The host's NUMA nodes, CPUs, memory and reserved CPUs, as vnumactl capabilities --json.\n", false},
}};

std::string valid_keys(std::span<const arg_spec> args) {
  if (args.empty()) return "none";
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : ", ") + std::string(a.key);
  return out;
}

}  // namespace

std::span<const verb> verbs() { return table; }

const verb* find_verb(std::string_view name) {
  for (const auto& v : table)
    if (v.name == name) return &v;
  return nullptr;
}

std::string verb_names() {
  std::string out;
  for (const auto& v : table) out += (out.empty() ? "" : ", ") + std::string(v.name);
  return out;
}

std::uint64_t arg_max(arg_kind kind) {
  switch (kind) {
    case k::count: return std::numeric_limits<unsigned>::max();
    case k::seconds: return 86'400;
    case k::milliseconds: return 86'400'000;
    case k::string:
    case k::boolean: break;
  }
  return 0;
}

std::string_view arg_unit(arg_kind kind) {
  switch (kind) {
    case k::seconds: return "seconds";
    case k::milliseconds: return "ms";
    default: return "";
  }
}

std::optional<std::span<const arg_spec>> verb_args(std::string_view op) {
  if (const verb* v = find_verb(op)) return v->args;
  return std::nullopt;
}

result<void> check_verb_args(const control_request& request) {
  auto args = verb_args(request.op);
  if (!args) return {};
  for (const auto& kv : request.args) {
    const arg_spec* spec = nullptr;
    for (const auto& a : *args)
      if (a.key == kv.key()) spec = &a;
    const std::string key(kv.key());
    if (!spec)
      return make_error(errc::invalid_value, request.op + ": unknown argument \"" + key +
                                                 "\" (valid: " + valid_keys(*args) + ")");
    if (spec->kind == k::string) {
      if (auto s = arg_string(request.args, key); !s) return s.error();
      continue;
    }
    if (spec->kind == k::boolean) {
      if (!kv.value().is_bool())
        return make_error(errc::invalid_value,
                          "args." + key + ": expected true or false, got " + json::serialize(kv.value()));
      continue;
    }
    if (auto n = arg_uint(request.args, key, arg_max(spec->kind), arg_unit(spec->kind)); !n) return n.error();
  }
  for (const auto& a : *args)
    if (a.required && !request.args.contains(a.key))
      return make_error(errc::invalid_value, request.op + ": missing argument \"" + std::string(a.key) + "\"");
  return {};
}

std::string verb_call::text(std::string_view key) const {
  const json::value* v = request.args.if_contains(key);
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::optional<std::uint64_t> verb_call::number(std::string_view key) const {
  if (!request.args.contains(key)) return std::nullopt;
  auto n = arg_uint(request.args, key);
  return n ? std::optional(*n) : std::nullopt;
}

}  // namespace vnumad::reactor
