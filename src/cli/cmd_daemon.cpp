// vnumactl's commands that ask the running daemon, over its control socket:
// one per verb of the daemon's table (reactor/verbs.hpp), whose row gives the
// command its arguments (positional words and options), usage and help.
#include "cli/cmd_console.hpp"
#include "cli/commands.hpp"
#include "cli/daemon_output.hpp"
#include "cli/daemon_socket.hpp"

#include "config/xml_util.hpp"
#include "reactor/control_client.hpp"
#include "reactor/verbs.hpp"

#include <algorithm>
#include <ostream>

namespace vnumad::cli {

namespace json = boost::json;
using reactor::arg_spec;

namespace {

// A number option or argument: decimal digits only (no sign: Boost's own
// conversion would read "-1" as 4294967295), at most what the daemon accepts
// for that argument (reactor/verbs.hpp), never truncated.
result<std::uint64_t> number_arg(const std::string& option, const std::string& value, reactor::arg_kind kind) {
  const std::uint64_t max = reactor::arg_max(kind);
  const bool digits = !value.empty() && std::all_of(value.begin(), value.end(), [](char c) { return c >= '0' && c <= '9'; });
  auto n = digits ? config::xml::parse_u64(value, option) : result<std::uint64_t>(error{errc::invalid_value, ""});
  if (!n || *n > max)
    return make_error(errc::invalid_value, option + " '" + value + "' is not valid (a whole number from 0 to " +
                                               std::to_string(max) + ")");
  return n;
}

std::string option_text(const arg_spec& a) {
  if (a.kind == reactor::arg_kind::boolean) return "--" + std::string(a.option);
  return "--" + std::string(a.option) + " " + std::string(a.value_name);
}

// A stream verb's client is its own command (console: cmd_console.cpp); it
// prints no JSON reply.
bool is_console(const reactor::verb& v) { return v.opens_stream != nullptr; }

std::string usage_of(const reactor::verb& v) {
  std::string usage = "vnumactl " + std::string(v.name);
  for (const auto& a : v.args) {
    const std::string shown = a.positional ? std::string(a.value_name) : option_text(a);
    usage += a.required ? " " + shown : " [" + shown + "]";
  }
  return usage + (is_console(v) ? " [--escape ^X] [-c PATH | -r]" : " [-c PATH | -r] [--json]");
}

command_help help_of(const reactor::verb& v) {
  const std::string text(v.help);
  const auto examples = text.find("Examples:\n");
  std::string description = text.substr(0, examples);
  while (description.ends_with("\n\n")) description.pop_back();
  command_help help{usage_of(v), std::move(description), {}};
  if (examples != std::string::npos) help.examples = text.substr(examples);
  help.examples += "\nExit status: 0 ok, 1 runtime failure, 2 invalid input.\n";
  return help;
}

// The word given for `a`: its positional word or its option, not both.
result<std::optional<std::string>> given(const po::variables_map& vm, const arg_spec& a) {
  std::optional<std::string> word, option;
  if (a.positional && vm.count(std::string(a.key))) word = vm[std::string(a.key)].as<std::string>();
  if (!a.option.empty() && vm.count(std::string(a.option))) option = vm[std::string(a.option)].as<std::string>();
  if (word && option)
    return make_error(errc::invalid_value, "give " + std::string(a.value_name) + " or " + option_text(a) + ", not both");
  if (!word && !option && a.required)
    return make_error(errc::invalid_value, "missing " + (a.positional ? std::string(a.value_name) : option_text(a)));
  return word ? word : option;
}

int run_verb(const reactor::verb& verb, const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  std::vector<positional_arg> positionals;
  for (const auto& a : verb.args) {
    if (a.positional) positionals.push_back({std::string(a.key), std::string(a.value_name), false});
    if (a.kind == reactor::arg_kind::boolean)
      options.add_options()(std::string(a.option).c_str(), po::bool_switch(), std::string(a.help).c_str());
    else if (!a.option.empty())
      options.add_options()(std::string(a.option).c_str(),
                            po::value<std::string>()->value_name(std::string(a.value_name)), std::string(a.help).c_str());
  }
  options.add_options()
      ("connect,c", po::value<std::string>()->value_name("PATH"),
       "the control socket (default: $VNUMAD_SOCKET, else vnumad.conf's socket)")
      ("socket", po::value<std::string>()->value_name("PATH"), "the same as --connect")
      ("readonly,r", po::bool_switch(),
       "the read-only socket (vnumad.conf's readonly_socket, else /run/vnumad/vnumad-ro.sock)");
  if (is_console(verb))
    options.add_options()("escape", po::value<std::string>()->value_name("^X")->default_value("^]"),
                          "the key that ends the session (^X, one character, or none)");
  else
    options.add_options()("json", po::bool_switch(), "print the JSON reply; an error as {\"error\":{\"code\",\"message\"}}");
  int exit = exit_ok;
  auto parsed = parse_args(args, options, positionals, help_of(verb), io, exit);
  if (!parsed) return exit;
  const auto& vm = parsed->vm;
  const bool json_out = vm.count("json") && vm["json"].as<bool>();
  auto fail = [&](const error& e) {
    if (!json_out) return report(io, e);
    io.out << json_error(e) << "\n";
    return exit_code_for(e);
  };

  json::object request_args;
  for (const auto& a : verb.args) {
    if (a.kind == reactor::arg_kind::boolean) {
      if (vm[std::string(a.option)].as<bool>()) request_args[a.key] = true;
      continue;
    }
    auto value = given(vm, a);
    if (!value) {
      io.err << "vnumactl: " << value.error().message << "\nUsage: " << usage_of(verb) << "\n(see --help)\n";
      return exit_invalid;
    }
    if (!*value) continue;
    if (a.kind == reactor::arg_kind::string) {
      request_args[a.key] = **value;
      continue;
    }
    const bool as_option = !a.option.empty() && vm.count(std::string(a.option));
    const std::string label = as_option ? "--" + std::string(a.option) : std::string(a.key);
    auto n = number_arg(label, **value, a.kind);
    if (!n) return fail(n.error());
    request_args[a.key] = *n;
  }

  std::optional<std::string> connect;
  for (const char* option : {"connect", "socket"})
    if (vm.count(option)) {
      if (connect && *connect != vm[option].as<std::string>())
        return fail(make_error(errc::invalid_value, "--connect and --socket name different sockets: give one"));
      connect = vm[option].as<std::string>();
    }
  std::optional<char> escape;
  if (is_console(verb)) {
    auto parsed_escape = parse_escape(vm["escape"].as<std::string>());
    if (!parsed_escape) return fail(parsed_escape.error());
    escape = *parsed_escape;
  }
  auto socket = choose_socket(connect, vm["readonly"].as<bool>());
  if (!socket) return fail(socket.error());
  reactor::control_client client;
  if (auto connected = client.connect(*socket); !connected) return fail(connected.error());
  if (is_console(verb))
    return run_console(client, std::string(request_args.at("name").as_string()), request_args, escape,
                       vm["escape"].as<std::string>(), io);
  auto reply = client.call(std::string(verb.name), request_args, std::chrono::minutes(10));
  if (!reply) return fail(reply.error());
  if (verb.streams_events) {
    if (const auto* known = reply->as_object().if_contains("defined"); known && !known->as_bool())
      io.err << "vnumactl: note: no guest named '" << request_args.at("name").as_string()
             << "' is defined yet; waiting for its events\n";
    for (;;) {
      auto ev = client.next_event();
      if (!ev) return fail(ev.error());
      if (json_out)
        io.out << json::serialize(*ev) << std::endl;
      else
        print_event(*ev, io.out);
    }
  }
  if (json_out)
    io.out << json::serialize(*reply) << "\n";
  else
    text_formatter(verb.name)(*reply, io.out);
  return exit_ok;
}

}  // namespace

std::vector<command> daemon_commands() {
  std::vector<command> out;
  for (const auto& v : reactor::verbs())
    if (v.in_vnumactl) out.push_back({v.name, v.summary, nullptr, true});
  return out;
}

int run_daemon_verb(std::string_view name, const std::vector<std::string>& args, const cli_io& io) {
  const reactor::verb* v = reactor::find_verb(name);
  return v && v->in_vnumactl ? run_verb(*v, args, io) : exit_invalid;
}

}  // namespace vnumad::cli
