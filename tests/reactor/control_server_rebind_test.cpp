// control_server::rebind_missing with real sockets: a deleted socket file is
// bound again and serves requests, a client connected before keeps its
// session, and sockets still there are left alone.
#define BOOST_TEST_MODULE control_server_rebind
#include <boost/test/unit_test.hpp>

#include "reactor/control_client.hpp"
#include "reactor/control_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include <unistd.h>

#include <filesystem>
#include <future>
#include <thread>

using namespace vnumad;
using namespace vnumad::reactor;
namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

struct fixture {
  fs::path dir;
  asio::io_context io;
  std::unique_ptr<control_server> server;
  std::thread thread;

  fixture() {
    dir = fs::temp_directory_path() / ("vnumad-rebind-" + std::to_string(::getpid()));
    fs::create_directories(dir);
    control_socket_options options;
    options.path = dir / "rw.sock";
    options.readonly_path = dir / "ro.sock";
    options.readonly_ops = {"list"};
    server = std::make_unique<control_server>(io, options, [](const control_request&, const control_peer&) -> asio::awaitable<result<json::value>> {
      co_return json::value(json::array{"a"});
    });
    BOOST_REQUIRE(server->open());
    server->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~fixture() {
    asio::post(io, [this] {
      server->stop();
      io.stop();
    });
    thread.join();
    fs::remove_all(dir);
  }
  // rebind_missing on the server's own thread.
  std::vector<fs::path> rebind() {
    std::promise<std::vector<fs::path>> done;
    asio::post(io, [&] { done.set_value(server->rebind_missing()); });
    return done.get_future().get();
  }
  bool answers(const fs::path& socket) {
    control_client c;
    if (!c.connect(socket.string())) return false;
    auto r = c.call("list", {}, std::chrono::seconds(5));
    return r.has_value();
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(nothing_missing_nothing_rebound) {
  fixture f;
  BOOST_TEST(f.rebind().empty());
  BOOST_TEST(f.answers(f.dir / "rw.sock"));
}

BOOST_AUTO_TEST_CASE(a_deleted_socket_is_bound_again_and_old_clients_keep_their_session) {
  fixture f;
  control_client before;
  BOOST_TEST_REQUIRE(before.connect((f.dir / "rw.sock").string()).has_value());
  // A session the server has accepted (one still in the old socket's backlog
  // goes with it).
  BOOST_TEST_REQUIRE(before.call("list", {}, std::chrono::seconds(5)).has_value());
  fs::remove(f.dir / "rw.sock");
  fs::remove(f.dir / "ro.sock");
  BOOST_TEST(!f.answers(f.dir / "rw.sock"));
  auto rebound = f.rebind();
  BOOST_TEST_REQUIRE(rebound.size() == 2u);
  BOOST_TEST(rebound[0] == f.dir / "rw.sock");
  BOOST_TEST(rebound[1] == f.dir / "ro.sock");
  BOOST_TEST(f.answers(f.dir / "rw.sock"));
  BOOST_TEST(f.answers(f.dir / "ro.sock"));
  const auto mode = fs::status(f.dir / "rw.sock").permissions() & fs::perms::all;
  BOOST_TEST((mode == (fs::perms::owner_read | fs::perms::owner_write)), "the read-write socket is 0600 again");
  BOOST_TEST(before.call("list", {}, std::chrono::seconds(5)).has_value());
  // A second time, nothing is missing.
  BOOST_TEST(f.rebind().empty());
}
