// How vnumactl prints the daemon's replies as text (--json prints them as
// they are), one formatter per verb that has its own; the others print
// print_generic's lines.
#include "cli/daemon_output.hpp"
#include "cli/numastat_format.hpp"

#include "config/units.hpp"

#include <iomanip>
#include <ostream>

namespace vnumad::cli {

namespace json = boost::json;

namespace {

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

}  // namespace

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


formatter text_formatter(std::string_view verb) {
  static const std::pair<std::string_view, formatter> own[] = {
      {"list", print_list},         {"dominfo", print_dominfo}, {"domxml", print_xml},
      {"vcpuinfo", print_vcpuinfo}, {"numastat", print_numastat}, {"host-shutdown", print_host_shutdown}};
  for (const auto& [name, f] : own)
    if (name == verb) return f;
  return print_generic;
}

void print_event(const json::object& e, std::ostream& out) {
  // TIME GUEST EVENT: REASON (key=value ...), as virsh event prints a line.
  auto field = [&](std::string_view key) {
    const json::value* v = e.if_contains(key);
    return v ? str(*v) : std::string("-");
  };
  out << field("time") << " " << field("guest") << " " << field("event");
  if (e.contains("reason")) out << ": " << field("reason");
  std::string rest;
  for (const auto& kv : e)
    if (kv.key() != "time" && kv.key() != "guest" && kv.key() != "event" && kv.key() != "reason")
      rest += (rest.empty() ? "" : " ") + std::string(kv.key()) + "=" + str(kv.value());
  if (!rest.empty()) out << " (" << rest << ")";
  out << std::endl;  // a follower reads each event as it comes
}

std::string json_error(const error& e) {
  return json::serialize(
      json::object{{"error", json::object{{"code", std::string(to_string(e.code))}, {"message", e.message}}}});
}

}  // namespace vnumad::cli
