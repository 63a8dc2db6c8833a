#define BOOST_TEST_MODULE cli_help
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "cli_support.hpp"

// Every command explains itself: `vnumactl --help` lists them all, and each
// command's --help prints a usage line and at least one example command line.
// The list comes from all_commands(), so a new verb is covered by adding it.

namespace bdata = boost::unit_test::data;
using namespace vnumad::cli;
using namespace vnumad::cli::testing;

namespace {

std::vector<std::string> command_names() {
  std::vector<std::string> names;
  for (const auto& c : all_commands()) names.emplace_back(c.name);
  return names;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_offline_and_daemon_verbs_are_there) {
  auto names = command_names();
  for (const std::string verb : {"expand", "argv", "plan", "capabilities", "list", "numastat"})
    BOOST_TEST((std::find(names.begin(), names.end(), verb) != names.end()), verb);
  std::set<std::string> unique(names.begin(), names.end());
  BOOST_TEST(unique.size() == names.size(), "a command is listed twice");
}

BOOST_AUTO_TEST_CASE(top_level_help_lists_every_command) {
  for (const std::string flag : {"--help", "-h", "help"}) {
    auto r = run({flag});
    BOOST_TEST(r.code == 0, flag);
    BOOST_TEST(r.err.empty(), flag << ": " << r.err);
    BOOST_TEST(contains(r.out, "Usage: vnumactl <command>"), r.out);
    for (const auto& c : all_commands()) {
      BOOST_TEST(contains(r.out, "\n  " + std::string(c.name) + " "), c.name);
      BOOST_TEST(contains(r.out, std::string(c.summary)), c.name);
    }
    BOOST_TEST(contains(r.out, "Exit status: 0 ok, 1 runtime failure, 2 invalid input."), r.out);
  }
}

BOOST_DATA_TEST_CASE(every_command_help_has_usage_and_an_example, bdata::make(command_names()), name) {
  auto r = run({name, "--help"});
  BOOST_TEST(r.code == 0, name << ": " << r.err);
  BOOST_TEST(contains(r.out, "Usage:"), name << ":\n" << r.out);
  BOOST_TEST(contains(r.out, "vnumactl " + name), name << ":\n" << r.out);
  std::size_t examples = 0;
  for (const auto& line : lines_of(r.out))
    if (line.rfind("  vnumactl " + name, 0) == 0) ++examples;
  BOOST_TEST(examples >= 1u, name << " --help has no example line:\n" << r.out);
  // -h is the same.
  auto short_flag = run({name, "-h"});
  BOOST_TEST(short_flag.code == 0, name);
  BOOST_TEST(short_flag.out == r.out, name);
}

BOOST_AUTO_TEST_CASE(unknown_command_is_invalid_input) {
  auto r = run({"frobnicate"});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(contains(r.err, "unknown command 'frobnicate'"), r.err);
  BOOST_TEST(contains(r.err, "vnumactl --help"), r.err);
}

BOOST_AUTO_TEST_CASE(no_arguments_is_invalid_input_with_help_on_stderr) {
  auto r = run({});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(r.out.empty());
  BOOST_TEST(contains(r.err, "Usage: vnumactl <command>"), r.err);
}

BOOST_AUTO_TEST_CASE(unknown_option_of_a_command_is_invalid_input) {
  for (const std::string verb : {"expand", "argv", "plan", "capabilities"}) {
    auto r = run({verb, "--no-such-option"});
    BOOST_TEST(r.code == 2, verb);
    BOOST_TEST(contains(r.err, "Usage: vnumactl " + verb), verb << ": " << r.err);
  }
}

BOOST_AUTO_TEST_CASE(version_is_printed) {
  auto r = run({"--version"});
  BOOST_TEST(r.code == 0);
  BOOST_TEST(r.out == "vnumactl " VNUMAD_VERSION "\n");
}

BOOST_AUTO_TEST_CASE(global_options_may_come_before_the_command) {
  // "vnumactl --socket S list" is "vnumactl list --socket S": the socket named
  // before the command is the one it tries.
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--socket", "/nonexistent/vnumad.sock", "list"},
        std::vector<std::string>{"--socket=/nonexistent/vnumad.sock", "list"},
        std::vector<std::string>{"list", "--socket", "/nonexistent/vnumad.sock"}}) {
    auto r = run(args);
    BOOST_TEST(r.code == 1, r.err);
    BOOST_TEST(contains(r.err, "/nonexistent/vnumad.sock"), r.err);
  }
  auto bogus = run({"--bogus"});
  BOOST_TEST(bogus.code == 2);
}
