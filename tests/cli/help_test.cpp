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

// Issue 14, the CLI's surface: a command's --help says what it does before
// its options, and lists only options a user types: no "-h [ --help ]", no
// positional word dressed as an option ("--domain arg", "--name arg"), no
// value left as "arg".
BOOST_DATA_TEST_CASE(help_lists_only_real_options_after_the_description, bdata::make(command_names()), name) {
  auto r = run({name, "--help"});
  BOOST_TEST_REQUIRE(r.code == 0, name);
  const auto options_at = r.out.find("\nOptions:\n");
  const auto description_at = r.out.find("\n\n");  // after the usage line
  BOOST_TEST((description_at != std::string::npos && r.out.size() > description_at + 2 &&
              r.out[description_at + 2] != '\n' && r.out.compare(description_at + 2, 8, "Options:") != 0),
             name << ": no description after the usage line:\n" << r.out);
  if (options_at != std::string::npos) BOOST_TEST(description_at < options_at, name);
  for (const auto& line : lines_of(r.out)) {
    if (line.rfind("  -", 0) != 0) continue;
    BOOST_TEST(line.find("[ --") == std::string::npos, name << ": " << line);
    BOOST_TEST(line.find("--help") == std::string::npos, name << ": " << line);
    BOOST_TEST((line.find(" arg ") == std::string::npos && !line.ends_with(" arg")), name << ": " << line);
    for (const std::string internal : {"--name ", "--vcpu ", "--cpuset ", "--count ", "--dimm ", "--domains "})
      BOOST_TEST(line.find(internal) == std::string::npos, name << ": " << line);
    if (name != "events") BOOST_TEST(line.find("--domain ") == std::string::npos, name << ": " << line);
  }
}

BOOST_AUTO_TEST_CASE(a_missing_positional_word_is_named_as_usage_names_it) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"expand"}, "vnumactl: missing DOMAIN.xml\n"},
      {{"argv", "--qmp", "/tmp/q.sock"}, "vnumactl: missing DOMAIN.xml\n"},
      {{"plan"}, "vnumactl: missing DOMAIN.xml files\n"},
      {{"dominfo"}, "vnumactl: missing NAME\n"},
      {{"vcpupin", "web", "3"}, "vnumactl: missing CPUSET\n"},
      {{"setvcpus", "web"}, "vnumactl: missing COUNT\n"},
      {{"attach-memory", "web", "--size", "1G"}, "vnumactl: missing --cell K\n"},
      {{"events", "web", "--domain", "db"}, "vnumactl: give NAME or --domain NAME, not both\n"},
  };
  for (const auto& [args, message] : cases) {
    auto r = run(args);
    BOOST_TEST(r.code == 2, args[0]);
    BOOST_TEST(r.err.rfind(message, 0) == 0, args[0] << ": " << r.err);
    BOOST_TEST(!contains(r.err, "is required"), r.err);
    BOOST_TEST(contains(r.err, "Usage: vnumactl " + args[0]), r.err);
  }
}
