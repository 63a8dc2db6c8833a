#define BOOST_TEST_MODULE cli_daemon_verbs
#include <boost/test/unit_test.hpp>

// vnumactl's daemon verbs check their numbers before sending anything: a
// value outside what the daemon takes (vCPU 4294967297 would once have been
// pinned as vCPU 1), a sign (Boost would read "-1" as 4294967295) or a
// non-number is exit 2 naming the option and the range, and no connection is
// made (checked on a real listening socket).
#include "cli_support.hpp"

#include "cli/cli_common.hpp"
#include "cli/daemon_socket.hpp"

#include <boost/json.hpp>

#include <cstdlib>

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace vnumad::cli::testing;

namespace {

struct listening_socket {
  std::string path = "/tmp/vnumactl-numbers-" + std::to_string(::getpid()) + ".sock";
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
  listening_socket() {
    ::unlink(path.c_str());
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::strcpy(addr.sun_path, path.c_str());
    BOOST_TEST_REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    BOOST_TEST_REQUIRE(::listen(fd, 16) == 0);
  }
  ~listening_socket() {
    ::close(fd);
    ::unlink(path.c_str());
  }
  bool anyone_connected() {
    int c = ::accept(fd, nullptr, nullptr);
    if (c < 0) return false;
    ::close(c);
    return true;
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(numbers_outside_their_range_are_refused_before_sending) {
  listening_socket s;
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"vcpupin", "g1", "4294967297", "0-1"}, "vcpu '4294967297' is not valid (a whole number from 0 to 4294967295)"},
      {{"setvcpus", "g1", "4294967297"}, "count '4294967297' is not valid (a whole number from 0 to 4294967295)"},
      {{"setvcpus", "g1", "18446744073709551616"}, "count '18446744073709551616' is not valid"},
      {{"setvcpus", "g1", "+2"}, "count '+2' is not valid"},
      {{"setvcpus", "g1", "0x10"}, "count '0x10' is not valid"},
      {{"setvcpus", "g1", "2", "--timeout-ms", "86400001"}, "--timeout-ms '86400001' is not valid (a whole number from 0 to 86400000)"},
      {{"attach-memory", "g1", "--cell=-1", "--size", "1G"}, "--cell '-1' is not valid"},
      {{"attach-memory", "g1", "--cell", "4294967296", "--size", "1G"}, "--cell '4294967296' is not valid"},
      {{"shutdown", "g1", "--timeout=-1"}, "--timeout '-1' is not valid (a whole number from 0 to 86400)"},
      {{"restart", "g1", "--timeout", "1e3"}, "--timeout '1e3' is not valid"},
  };
  for (auto [args, message] : cases) {
    args.insert(args.end(), {"--socket", s.path});
    auto r = run(args);
    BOOST_TEST(r.code == 2, args[0] << " " << args[2]);
    BOOST_TEST(contains(r.err, message), r.err);
    BOOST_TEST(!s.anyone_connected(), args[0] << " " << args[2] << " connected");
  }
}

BOOST_AUTO_TEST_CASE(numbers_within_range_get_as_far_as_connecting) {
  // No daemon at this path: the error is the connection's, so parsing passed.
  for (const std::vector<std::string> args :
       {std::vector<std::string>{"vcpupin", "g1", "4294967295", "0"}, {"setvcpus", "g1", "2", "--timeout-ms", "86400000"},
        {"shutdown", "g1", "--timeout", "86400"}}) {
    auto with_socket = args;
    with_socket.insert(with_socket.end(), {"--socket", "/nonexistent/vnumad.sock"});
    auto r = run(with_socket);
    BOOST_TEST(!contains(r.err, "is not valid"), r.err);
    BOOST_TEST(contains(r.err, "/nonexistent/vnumad.sock"), r.err);
  }
}

// Which socket a command talks to (issue 14): -c/--connect or --socket, else
// -r the read-only socket, else $VNUMAD_SOCKET, else vnumad.conf's, else the
// default; each chosen path is the one the connection error names.
BOOST_AUTO_TEST_CASE(the_socket_is_chosen_as_virsh_chooses_its_connection) {
  using vnumad::cli::choose_socket;
  using vnumad::cli::socket_request;
  vnumad::config::daemon_config cfg;
  cfg.socket = "/conf/rw.sock";
  cfg.readonly_socket = "/conf/ro.sock";
  BOOST_TEST(choose_socket(socket_request{"/given.sock", true, "/env.sock"}, cfg) == "/given.sock");
  BOOST_TEST(choose_socket(socket_request{std::nullopt, true, "/env.sock"}, cfg) == "/conf/ro.sock");
  BOOST_TEST(choose_socket(socket_request{std::nullopt, true, std::nullopt}, std::nullopt) == "/run/vnumad/vnumad-ro.sock");
  BOOST_TEST(choose_socket(socket_request{std::nullopt, false, "/env.sock"}, cfg) == "/env.sock");
  BOOST_TEST(choose_socket(socket_request{std::nullopt, false, ""}, cfg) == "/conf/rw.sock");
  BOOST_TEST(choose_socket(socket_request{std::nullopt, false, std::nullopt}, std::nullopt) == "/run/vnumad/vnumad.sock");
}

BOOST_AUTO_TEST_CASE(connect_readonly_and_the_environment_reach_the_connection) {
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"list", "-c", "/nonexistent/c.sock"}, "/nonexistent/c.sock"},
      {{"list", "--connect=/nonexistent/c2.sock"}, "/nonexistent/c2.sock"},
      {{"-c", "/nonexistent/lead.sock", "list"}, "/nonexistent/lead.sock"},
      {{"-r", "list"}, "/run/vnumad/vnumad-ro.sock"},
      {{"dominfo", "web", "--readonly"}, "/run/vnumad/vnumad-ro.sock"},
      {{"list"}, "/nonexistent/env.sock"},
  };
  ::setenv("VNUMAD_SOCKET", "/nonexistent/env.sock", 1);
  for (const auto& [args, path] : cases) {
    auto r = run(args);
    BOOST_TEST(r.code == 1, args[0] << ": " << r.err);
    BOOST_TEST(contains(r.err, "cannot connect to " + path), args[0] << ": " << r.err);
  }
  auto both = run({"list", "--socket", "/a.sock", "--connect", "/b.sock"});
  BOOST_TEST(both.code == 2);
  BOOST_TEST(contains(both.err, "--connect and --socket name different sockets"), both.err);
  ::unsetenv("VNUMAD_SOCKET");
}

BOOST_AUTO_TEST_CASE(json_errors_carry_the_protocol_error_code) {
  auto r = run({"list", "--json", "-c", "/nonexistent/vnumad.sock"});
  BOOST_TEST(r.code == 1);
  auto v = boost::json::parse(r.out);
  BOOST_TEST(v.at("error").at("code").as_string() == "io_error");
  BOOST_TEST(contains(std::string(v.at("error").at("message").as_string()), "/nonexistent/vnumad.sock"));
  BOOST_TEST(r.err.empty(), r.err);
  auto bad = run({"setvcpus", "web", "two", "--json", "-c", "/nonexistent/vnumad.sock"});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(boost::json::parse(bad.out).at("error").at("code").as_string() == "invalid_value");
}

BOOST_AUTO_TEST_CASE(exit_statuses_of_the_codes_that_say_what_happened) {
  // A guest that is not running is a request that cannot apply (2, as no
  // such guest); a full set of slots and a refused unplug are runtime
  // failures (1, as the qmp_error and timeout they were before issue 13).
  using vnumad::errc;
  for (const auto& [code, status] : std::vector<std::pair<errc, int>>{{errc::not_found, 2},
                                                                       {errc::not_running, 2},
                                                                       {errc::no_free_slot, 1},
                                                                       {errc::unplug_refused, 1},
                                                                       {errc::timeout, 1}})
    BOOST_TEST(vnumad::cli::exit_code_for(vnumad::make_error(code, "m")) == status, code);
}
