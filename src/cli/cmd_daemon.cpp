// vnumactl verbs that talk to the running daemon over its control socket.
#include "cli/cmd_console.hpp"
#include "cli/commands.hpp"
#include "cli/numastat_format.hpp"

#include "config/units.hpp"
#include "config/xml_util.hpp"
#include "reactor/control_args.hpp"
#include "reactor/control_client.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <iomanip>
#include <ostream>

namespace vnumad::cli {

namespace json = boost::json;

namespace {

using formatter = void (*)(const json::value& result, std::ostream& out);

struct daemon_verb {
  std::string_view name;
  std::string_view usage;
  std::string_view help;
  std::vector<std::string_view> positional;  // argument keys, in order
  formatter text;
};

std::string str(const json::value& v) {
  if (v.is_string()) return std::string(v.as_string());
  return json::serialize(v);
}

void print_list(const json::value& r, std::ostream& out) {
  out << " " << std::left << std::setw(9) << "Id" << std::setw(24) << "Name" << "State\n";
  out << "-----------------------------------------------\n";
  for (const auto& g : r.as_array()) {
    const auto& o = g.as_object();
    out << " " << std::left << std::setw(9) << (o.contains("pid") ? str(o.at("pid")) : "-") << std::setw(24)
        << str(o.at("name")) << str(o.at("state")) << "\n";
  }
}

void print_dominfo(const json::value& r, std::ostream& out) {
  const auto& o = r.as_object();
  auto line = [&](std::string_view key, const std::string& value) {
    out << std::left << std::setw(16) << (key.empty() ? std::string() : std::string(key) + ":") << value << "\n";
  };
  line("Name", str(o.at("name")));
  if (o.contains("uuid")) line("UUID", str(o.at("uuid")));
  line("State", str(o.at("state")));
  line("PID", o.contains("pid") ? str(o.at("pid")) : "-");
  line("vCPUs", str(o.at("vcpus_online")) + " online of " + str(o.at("vcpus_max")));
  line("Memory", config::format_size(o.at("memory_bytes").to_number<std::uint64_t>()));
  const auto& cells = o.at("cells").as_array();
  if (cells.empty()) line("Cells", "-");
  for (std::size_t i = 0; i < cells.size(); ++i) {
    const auto& c = cells[i].as_object();
    line(i == 0 ? "Cells" : "", "cell " + str(c.at("cell")) + " -> host node " + str(c.at("host_node")) +
                                    ": vCPUs " + str(c.at("vcpus")) + ", " +
                                    config::format_size(c.at("memory_bytes").to_number<std::uint64_t>()));
  }
  std::string pending;
  for (const auto& p : o.at("pending_changes").as_array()) pending += (pending.empty() ? "<" : ", <") + str(p) + ">";
  if (const auto* placement = o.if_contains("memory_placement"))
    out << "Memory placement: " << memory_placement_line(*placement) << "\n";
  line("Pending", pending.empty() ? "none" : pending + " (applied on restart)");
  line("On poweroff", str(o.at("on_poweroff")));
  line("On reboot", str(o.at("on_reboot")));
  line("On crash", str(o.at("on_crash")));
  line("Config file", str(o.at("config_file")));
}

void print_vcpuinfo(const json::value& r, std::ostream& out) {
  // One line per vCPU; the affinity map has one character per host CPU
  // (y = the vCPU may run there), as the seed's slides show it.
  out << std::left << std::setw(6) << "VCPU" << std::setw(6) << "Cell" << std::setw(9) << "State" << std::setw(10)
      << "Host CPU" << "Affinity\n";
  for (const auto& v : r.at("vcpus").as_array()) {
    const auto& o = v.as_object();
    out << std::left << std::setw(6) << str(o.at("vcpu")) << std::setw(6)
        << (o.contains("cell") ? str(o.at("cell")) : "-") << std::setw(9)
        << (o.at("online").as_bool() ? "online" : "offline") << std::setw(10)
        << (o.contains("host_cpu") ? str(o.at("host_cpu")) : "-")
        << (o.contains("affinity_map") ? str(o.at("affinity_map")) : "-");
    if (o.contains("affinity")) out << " (" << str(o.at("affinity")) << ")";
    out << "\n";
  }
}

void print_xml(const json::value& r, std::ostream& out) { out << str(r); }

void print_host_shutdown(const json::value& r, std::ostream& out) {
  const auto& o = r.as_object();
  const auto& guests = o.at("guests").as_array();
  out << "host shutdown (on_host_shutdown = " << str(o.at("action")) << ", timeout " << str(o.at("timeout"))
      << " s): " << guests.size() << " guest(s) in " << std::fixed << std::setprecision(1)
      << o.at("seconds").to_number<double>() << " s\n";
  for (const auto& g : guests) {
    const auto& e = g.as_object();
    out << "  " << str(e.at("name")) << ": " << str(e.at("outcome"));
    if (const auto* s = e.if_contains("seconds")) out << " (" << s->to_number<double>() << " s)";
    out << "\n";
  }
}

void print_generic(const json::value& r, std::ostream& out) {
  if (r.is_object() && r.as_object().contains("state") && r.as_object().contains("name")) {
    out << "guest '" << str(r.at("name")) << "': " << str(r.at("state")) << "\n";
    return;
  }
  if (r.is_object()) {
    for (const auto& kv : r.as_object()) out << kv.key() << ": " << str(kv.value()) << "\n";
    return;
  }
  out << str(r) << "\n";
}

const std::vector<daemon_verb>& verbs() {
  static const std::vector<daemon_verb> v = {
      {"list", "vnumactl list [--json]", "Lists guests: pid, name and state (as virsh list --all).\n"
       "  vnumactl list\n"
       "  vnumactl list --json --socket /run/vnumad/vnumad.sock\n",
       {}, print_list},
      {"dominfo", "vnumactl dominfo NAME [--json]",
       "State, pid, vCPUs online/max, memory, cells -> host nodes, pending cold changes.\n"
       "  vnumactl dominfo web\n",
       {"name"}, print_dominfo},
      {"domxml", "vnumactl domxml NAME", "The expanded domain XML the guest runs with.\n"
       "  vnumactl domxml web > web-expanded.xml\n",
       {"name"}, print_xml},
      {"vcpuinfo", "vnumactl vcpuinfo NAME [--json]",
       "Per vCPU: host CPU it last ran on, online state, cell and affinity map.\n"
       "The affinity map has one character per host CPU (y = allowed), e.g. 'yy--'.\n"
       "  vnumactl vcpuinfo web\n",
       {"name"}, print_vcpuinfo},
      {"numastat", "vnumactl numastat NAME [--json]",
       "Per cell: the guest memory on each host node (from QEMU's /proc/PID/numa_maps) and how much\n"
       "is off the node the cell is bound to, huge pages and hot-added dimms included; QEMU's own\n"
       "memory is 'other'. Cells whose backends have the same size and node are shown together.\n"
       "Read-only, as numastat -p.\n"
       "  vnumactl numastat web\n"
       "  vnumactl numastat web --json | jq '.cells[] | {cells, off_node_percent}'\n",
       {"name"}, print_numastat},
      {"vcpupin", "vnumactl vcpupin NAME VCPU CPUSET [--json]",
       "Pins one vCPU to host CPUs now (checked against CPUs other guests hold dedicated).\n"
       "  vnumactl vcpupin web 3 2-3\n",
       {"name", "vcpu", "cpuset"}, print_generic},
      {"setvcpus", "vnumactl setvcpus NAME COUNT [--timeout-ms MS] [--json]",
       "Sets the number of online vCPUs, balanced across cells.\n"
       "Removes from the cell with the most online vCPUs, highest id first; adds in reverse.\n"
       "Added vCPUs are pinned before they run; an unplug waits for the guest to release\n"
       "the vCPU (default 10000 ms).\n"
       "  vnumactl setvcpus web 8     # 4 cells: 2,2,2,2\n"
       "  vnumactl setvcpus web 6     # unplugs vCPUs 7 and 5: 2,2,1,1\n",
       {"name", "count"}, print_generic},
      {"attach-memory", "vnumactl attach-memory NAME --cell K --size SIZE [--json]",
       "Hot-adds a pc-dimm to guest cell K, its memory bound to that cell's host node.\n"
       "SIZE takes libvirt units: 256MiB, 1GiB, 1G. Needs <maxMemory slots='N'>.\n"
       "  vnumactl attach-memory web --cell 2 --size 256MiB\n",
       {"name"}, print_generic},
      {"detach-memory", "vnumactl detach-memory NAME DIMM [--timeout-ms MS] [--json]",
       "Removes a hot-added dimm (its id, e.g. dimm0, from domxml) once the guest releases it.\n"
       "  vnumactl detach-memory web dimm0\n",
       {"name", "dimm"}, print_generic},
      {"start", "vnumactl start NAME", "Starts a defined guest that is shut off.\n  vnumactl start web\n", {"name"},
       print_generic},
      {"shutdown", "vnumactl shutdown NAME [--timeout S]",
       "ACPI power button; QEMU is stopped after the timeout (default: shutdown_timeout).\n"
       "  vnumactl shutdown web --timeout 60\n",
       {"name"}, print_generic},
      {"destroy", "vnumactl destroy NAME", "Stops QEMU at once.\n  vnumactl destroy web\n", {"name"}, print_generic},
      {"suspend", "vnumactl suspend NAME", "Pauses the guest's vCPUs (QMP stop).\n  vnumactl suspend web\n", {"name"},
       print_generic},
      {"resume", "vnumactl resume NAME", "Resumes a suspended guest (QMP cont).\n  vnumactl resume web\n", {"name"},
       print_generic},
      {"reboot", "vnumactl reboot NAME", "Resets the guest in the same QEMU.\n  vnumactl reboot web\n", {"name"},
       print_generic},
      {"restart", "vnumactl restart NAME [--timeout S]",
       "Shuts the guest down and starts it again, applying pending cold changes.\n"
       "  vnumactl restart web\n",
       {"name"}, print_generic},
      {"reload", "vnumactl reload", "Rescans the config directory (as SIGHUP).\n  vnumactl reload\n", {},
       print_generic},
      {"host-shutdown", "vnumactl host-shutdown [--json]",
       "The host is shutting down: acts on every guest as on_host_shutdown in vnumad.conf says and\n"
       "waits until that is done. shutdown: ACPI power button to all guests at once, QEMU ended for\n"
       "those still up after host_shutdown_timeout; destroy: QEMU ended at once; leave: nothing.\n"
       "The ExecStop= of vnumad-guests.service; guests it stopped stay down until started again.\n"
       "  vnumactl host-shutdown\n",
       {},
       print_host_shutdown},
      {"console", "vnumactl console NAME [--force] [--escape ^X]",
       "The guest's serial console (serial port 0), as virsh console: Ctrl-] ends the session.\n"
       "One client per guest; --force takes the console over from the one attached. On a terminal\n"
       "the input is raw; from a pipe bytes pass through and the end of input ends the session.\n"
       "  vnumactl console web\n"
       "  vnumactl console web --force --escape ^A\n",
       {"name"},
       print_generic},
      {"events", "vnumactl events", "Follows guest events (state changes, hotplug, errors) as JSON lines.\n"
       "  vnumactl events | jq -c 'select(.guest == \"web\")'\n",
       {},
       print_generic},
  };
  return v;
}

// A number option or argument: decimal digits only (no sign: Boost's own
// conversion would read "-1" as 4294967295), at most what the daemon accepts
// for that argument (control_args.hpp), never truncated.
result<std::uint64_t> number_arg(const std::string& option, const std::string& value, reactor::arg_kind kind) {
  const std::uint64_t max = reactor::arg_max(kind);
  const bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  auto n = digits ? config::xml::parse_u64(value, option) : result<std::uint64_t>(error{errc::invalid_value, ""});
  if (!n || *n > max)
    return make_error(errc::invalid_value, option + " '" + value + "' is not valid (a whole number from 0 to " +
                                               std::to_string(max) + ")");
  return n;
}

int run_verb(const daemon_verb& verb, const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  options.add_options()("socket", po::value<std::string>()->default_value(reactor::default_socket_path),
                        "vnumad control socket");
  if (verb.name != "console") options.add_options()("json", po::bool_switch(), "print the daemon's JSON reply");
  if (verb.name == "attach-memory")
    options.add_options()("cell", po::value<std::string>()->required(), "guest cell")(
        "size", po::value<std::string>()->required(), "size with unit, e.g. 256MiB");
  if (verb.name == "setvcpus" || verb.name == "detach-memory")
    options.add_options()("timeout-ms", po::value<std::string>(), "how long to wait for the guest to release");
  if (verb.name == "shutdown" || verb.name == "restart")
    options.add_options()("timeout", po::value<std::string>(), "seconds before QEMU is stopped");
  if (verb.name == "console")
    options.add_options()("force", po::bool_switch(), "take the console over from the client attached")(
        "escape", po::value<std::string>()->default_value("^]"), "the key that ends the session (^X, or none)");
  po::positional_options_description positional;
  for (auto key : verb.positional) {
    options.add_options()(std::string(key).c_str(), po::value<std::string>()->required(), "");
    positional.add(std::string(key).c_str(), 1);
  }
  std::string examples = std::string(verb.help) + "\nExit status: 0 ok, 1 runtime failure, 2 invalid input.\n";
  int exit = exit_ok;
  auto parsed = parse_args(args, options, positional, verb.usage, examples, io, exit);
  if (!parsed) return exit;
  const auto& vm = parsed->vm;

  json::object request_args;
  auto add_number = [&](const std::string& option, const std::string& label, std::string_view key,
                        reactor::arg_kind kind) -> result<void> {
    auto n = number_arg(label, vm[option].as<std::string>(), kind);
    if (!n) return n.error();
    request_args[key] = *n;
    return {};
  };
  for (auto key : verb.positional) {
    if (key == "vcpu" || key == "count") {
      if (auto ok = add_number(std::string(key), std::string(key), key, reactor::arg_kind::count); !ok)
        return report(io, ok.error());
    } else {
      request_args[key] = vm[std::string(key)].as<std::string>();
    }
  }
  const std::pair<const char*, std::pair<const char*, reactor::arg_kind>> number_options[] = {
      {"cell", {"cell", reactor::arg_kind::count}},
      {"timeout-ms", {"timeout_ms", reactor::arg_kind::milliseconds}},
      {"timeout", {"timeout", reactor::arg_kind::seconds}}};
  for (const auto& [option, target] : number_options)
    if (vm.count(option))
      if (auto ok = add_number(option, std::string("--") + option, target.first, target.second); !ok)
        return report(io, ok.error());
  if (vm.count("size")) request_args["size"] = vm["size"].as<std::string>();

  std::optional<char> escape;
  if (verb.name == "console") {
    auto parsed_escape = parse_escape(vm["escape"].as<std::string>());
    if (!parsed_escape) return report(io, parsed_escape.error());
    escape = *parsed_escape;
    if (vm["force"].as<bool>()) request_args["force"] = true;
  }

  reactor::control_client client;
  if (auto connected = client.connect(vm["socket"].as<std::string>()); !connected) return report(io, connected.error());
  if (verb.name == "console")
    return run_console(client, vm["name"].as<std::string>(), request_args, escape, vm["escape"].as<std::string>(), io);
  auto reply = client.call(std::string(verb.name), request_args, std::chrono::minutes(10));
  if (!reply) return report(io, reply.error());
  if (verb.name == "events") {
    for (;;) {
      auto ev = client.next_event();
      if (!ev) return report(io, ev.error());
      io.out << json::serialize(*ev) << std::endl;
    }
  }
  if (vm["json"].as<bool>()) io.out << json::serialize(*reply) << "\n";
  else verb.text(*reply, io.out);
  return exit_ok;
}

}  // namespace

std::vector<command> daemon_commands() {
  std::vector<command> out;
  for (const auto& v : verbs()) {
    std::string_view summary = v.help.substr(0, v.help.find('\n'));
    out.push_back({v.name, summary, nullptr, true});
  }
  return out;
}

int run_daemon_verb(std::string_view name, const std::vector<std::string>& args, const cli_io& io) {
  for (const auto& v : verbs())
    if (v.name == name) return run_verb(v, args, io);
  return exit_invalid;
}

}  // namespace vnumad::cli
