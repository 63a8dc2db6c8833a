#include "cli/commands.hpp"

#include <ostream>
#include <set>

namespace vnumad::cli {

const std::vector<command>& all_commands() {
  static const std::vector<command> commands = [] {
    std::vector<command> all = daemon_commands();
    std::vector<command> offline = {
      {"expand", "print a domain with its <vnuma> expanded (offline)", cmd_expand, false},
      {"argv", "print the QEMU command line for a domain (offline)", cmd_argv, false},
      {"plan", "place several guests on a host and show what fits (offline)", cmd_plan, false},
      {"capabilities", "show the host's NUMA nodes, cores, memory, devices (offline)", cmd_capabilities, false},
    };
    all.insert(all.end(), offline.begin(), offline.end());
    return all;
  }();
  return commands;
}

namespace {

void print_help(std::ostream& out) {
  out << "vnumactl " VNUMAD_VERSION " - control vnumad, the NUMA-first QEMU supervisor\n\n"
         "Usage: vnumactl <command> [options] [arguments]\n"
         "       vnumactl <command> --help     (every command explains itself, with examples)\n\n"
         "Commands:\n";
  for (const auto& c : all_commands()) {
    out << "  " << c.name;
    for (std::size_t i = c.name.size(); i < 14; ++i) out << ' ';
    out << c.summary << "\n";
  }
  out << "\nExamples:\n"
         "  vnumactl capabilities                       what this host looks like\n"
         "  vnumactl expand web.xml                     what <vnuma> becomes on this host\n"
         "  vnumactl plan --topology big.xml *.xml      will these guests fit on that host?\n"
         "  vnumactl argv web.xml                       the QEMU command line vnumad would run\n"
         "  vnumactl list                               guests and their states (daemon)\n"
         "  vnumactl setvcpus web 6                     NUMA-balanced vCPU unplug (daemon)\n\n"
         "Daemon commands take -c/--connect PATH (the control socket; default $VNUMAD_SOCKET, else\n"
         "vnumad.conf's socket, /run/vnumad/vnumad.sock), -r (the read-only socket) and --json,\n"
         "before or after the command.\n"
         "Exit status: 0 ok, 1 runtime failure, 2 invalid input.\n";
}

}  // namespace

int run_vnumactl(const std::vector<std::string>& argv, const cli_io& io) {
  if (argv.size() < 2 || argv[1] == "--help" || argv[1] == "-h" || argv[1] == "help") {
    print_help(argv.size() < 2 ? io.err : io.out);
    return argv.size() < 2 ? exit_invalid : exit_ok;
  }
  if (argv[1] == "--version") {
    io.out << "vnumactl " VNUMAD_VERSION "\n";
    return exit_ok;
  }
  // Global options may come before the command ("vnumactl --socket S list"):
  // they are handed to the command as if given after it.
  std::vector<std::string> leading;
  std::size_t at = 1;
  // Those that take a value (the next word, or after '=').
  const std::set<std::string_view> with_value = {"--socket", "--connect", "-c", "--topology", "--config"};
  while (at < argv.size() && argv[at].size() > 1 && argv[at][0] == '-' && argv[at] != "--help" &&
         argv[at] != "-h" && argv[at] != "--version") {
    leading.push_back(argv[at]);
    if (with_value.contains(argv[at]) && at + 1 < argv.size()) leading.push_back(argv[++at]);
    ++at;
  }
  if (at >= argv.size()) {
    print_help(io.err);
    return exit_invalid;
  }
  if (at > 1) {
    std::vector<std::string> reordered{argv[0], argv[at]};
    reordered.insert(reordered.end(), argv.begin() + static_cast<long>(at) + 1, argv.end());
    reordered.insert(reordered.end(), leading.begin(), leading.end());
    return run_vnumactl(reordered, io);
  }
  std::vector<std::string> rest(argv.begin() + 2, argv.end());
  for (const auto& c : all_commands())
    if (c.name == argv[1]) return c.run ? c.run(rest, io) : run_daemon_verb(c.name, rest, io);
  io.err << "vnumactl: unknown command '" << argv[1] << "' (see vnumactl --help)\n";
  return exit_invalid;
}

}  // namespace vnumad::cli
