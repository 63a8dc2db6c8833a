// vnumactl subcommands. Each takes its arguments (without the subcommand word)
// and returns the process exit code, so tests can run them in-process.
#pragma once

#include "cli/cli_common.hpp"

#include <string>
#include <string_view>
#include <vector>

namespace vnumad::cli {

using command_fn = int (*)(const std::vector<std::string>& args, const cli_io& io);

struct command {
  std::string_view name;
  std::string_view summary;
  command_fn run;
  bool needs_daemon;
};

// Offline verbs: no daemon needed.
int cmd_expand(const std::vector<std::string>& args, const cli_io& io);
int cmd_capabilities(const std::vector<std::string>& args, const cli_io& io);
int cmd_plan(const std::vector<std::string>& args, const cli_io& io);
int cmd_argv(const std::vector<std::string>& args, const cli_io& io);

// Verbs served by the daemon over its control socket (cmd_daemon.cpp); their
// `run` is null and run_daemon_verb dispatches them.
std::vector<command> daemon_commands();
int run_daemon_verb(std::string_view name, const std::vector<std::string>& args, const cli_io& io);

// All commands, in the order --help lists them.
const std::vector<command>& all_commands();

// The whole program: `vnumactl <command> [args]`.
int run_vnumactl(const std::vector<std::string>& argv, const cli_io& io);

}  // namespace vnumad::cli
