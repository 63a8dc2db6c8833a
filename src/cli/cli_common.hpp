// What every vnumactl subcommand shares: exit codes, output streams, option
// parsing with teaching --help, and loading the host topology.
#pragma once

#include "config/daemon_config.hpp"
#include "config/domain.hpp"
#include "util/error.hpp"
#include "vnuma/host_topology.hpp"

#include <boost/program_options.hpp>

#include <cstdint>
#include <iosfwd>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::cli {

// 0 ok, 1 runtime failure, 2 invalid input (the message is on stderr).
enum exit_code : int { exit_ok = 0, exit_failure = 1, exit_invalid = 2 };

struct cli_io {
  std::ostream& out;
  std::ostream& err;
};

// Maps an error to the exit code the CLI promises: input errors are 2.
int exit_code_for(const error& e);
// Prints "vnumactl: <message>" on err and returns exit_code_for(e).
int report(const cli_io& io, const error& e);

namespace po = boost::program_options;

// What `vnumactl CMD --help` prints: the usage line, what the command does,
// its options (only those a user types: not --help, not the positional
// words), then the examples.
struct command_help {
  std::string usage;
  std::string description;
  std::string examples;
};

// A positional word of a command: its key in the variables_map and how usage
// names it (DOMAIN.xml, NAME), so that a missing one says "missing NAME".
struct positional_arg {
  std::string key;
  std::string value_name;
  bool required = true;
  bool many = false;  // every remaining word (a vector<string>)
};

// Parses `args` (without the subcommand word) against `options` and the
// positional words. Returns nullopt after printing help (exit 0) or a usage
// error (exit 2); the exit code is stored in `exit`.
struct parsed_args {
  po::variables_map vm;
};
std::optional<parsed_args> parse_args(const std::vector<std::string>& args, const po::options_description& options,
                                      const std::vector<positional_arg>& positionals, const command_help& help,
                                      const cli_io& io, int& exit);

// The options as --help lists them: "  -c, --connect PATH   description".
std::string format_options(const po::options_description& options);

// A file named on the command line that does not exist is invalid input
// (exit 2, the user mistyped it), not a runtime failure: not_found naming
// `what` and the path. A file that exists but cannot be read stays io_error.
result<void> require_input_file(const std::string& path, std::string_view what);

// The host: from an hwloc XML export when `topology_file` is set, else live.
result<vnuma::host_topology> load_host(const std::optional<std::string>& topology_file);

// A domain file that must exist (exit 2 otherwise), parsed and validated.
result<config::domain> load_domain(const std::string& file);

// The options every planning command shares: --topology, --config,
// --reserved-cpus, --reserved-memory.
void add_planning_options(po::options_description& options);

// vnumad.conf for a planning command: --config, else /etc/vnumad/vnumad.conf
// when it exists, else the daemon's defaults.
inline constexpr const char* default_config_file = "/etc/vnumad/vnumad.conf";
result<config::daemon_config> load_planning_config(const po::variables_map& vm);

// The host a command plans for (--topology, else live), counted as the
// daemon counts it: reserved CPUs (--reserved-cpus, else the config's) and
// memory kept from guests per node (--reserved-memory, else the config's
// reserved_memory).
struct planning_host {
  vnuma::host_topology host;
  config::id_set reserved;
  std::map<unsigned, std::uint64_t> reserved_memory;
  config::daemon_config cfg;
};
result<planning_host> load_planning_host(const po::variables_map& vm);

}  // namespace vnumad::cli
