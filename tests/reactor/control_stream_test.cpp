// Stream verbs of the control server (reactor/control_stream.cpp): after the
// OK reply the connection is a raw byte stream to the far end both ways; a
// refused stream leaves the connection serving requests; the far end closing
// ends the stream; the read-only socket refuses it; a client that does not
// read holds a bounded amount, loses nothing, and stalls nobody else.
#define BOOST_TEST_MODULE control_stream
#include <boost/test/unit_test.hpp>

#include "reactor/control_client.hpp"
#include "reactor/control_server.hpp"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace vnumad;
using namespace vnumad::reactor;
using stream = asio::local::stream_protocol;

namespace {

// A server whose "console" stream goes to one end of a socketpair; the test
// holds the other end (`guest`), as QEMU would.
struct stream_fixture {
  std::filesystem::path dir;
  asio::io_context io;
  std::unique_ptr<control_server> server;
  std::thread thread;
  std::atomic<int> guest{-1};

  stream_fixture() {
    dir = std::filesystem::temp_directory_path() / ("vnumad-stream-" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    control_socket_options options;
    options.path = dir / "rw.sock";
    options.readonly_path = dir / "ro.sock";
    options.readonly_ops = {"list"};
    options.stream_ops = {"console"};
    server = std::make_unique<control_server>(
        io, options, [](const control_request&, const control_peer&) -> asio::awaitable<result<json::value>> {
          co_return json::value(json::array{"a"});
        });
    server->set_stream_handler([this](const control_request& r, const control_peer&) -> asio::awaitable<result<byte_stream>> {
      if (r.args.contains("refuse")) co_return make_error(errc::busy, "console attached");
      int fds[2];
      BOOST_REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == 0);
      guest = fds[1];
      co_return byte_stream{std::make_shared<stream::socket>(io, stream(), fds[0]), json::object{{"console", "x"}}};
    });
    BOOST_REQUIRE(server->open());
    server->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~stream_fixture() {
    asio::post(io, [this] {
      server->stop();
      io.stop();
    });
    thread.join();
    if (guest >= 0) ::close(guest);
    std::filesystem::remove_all(dir);
  }
};

int connect_to(const std::filesystem::path& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  return fd;
}

void send_text(int fd, const std::string& text) {
  BOOST_REQUIRE(::send(fd, text.data(), text.size(), MSG_NOSIGNAL) == ssize_t(text.size()));
}

// Reads until `want` bytes came, EOF, or `timeout` without data.
std::string read_some(int fd, std::size_t want, int timeout_ms = 2000) {
  std::string out;
  char buf[65536];
  while (out.size() < want) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, timeout_ms) <= 0) break;
    ssize_t n = ::read(fd, buf, std::min(sizeof buf, want - out.size()));
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  return out;
}

// The reply line, byte by byte (nothing of the stream after it is consumed).
std::string reply_line(int fd) {
  std::string line;
  for (;;) {
    std::string c = read_some(fd, 1);
    if (c.empty() || c == "\n") return line;
    line += c;
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(after_the_ok_reply_bytes_flow_both_ways_and_end_with_the_far_side) {
  stream_fixture f;
  int client = connect_to(f.dir / "rw.sock");
  // Bytes right after the request line belong to the stream.
  send_text(client, "{\"id\":7,\"op\":\"console\",\"args\":{}}\nearly");
  auto reply = json::parse(reply_line(client)).as_object();
  BOOST_TEST(reply.at("id") == 7);
  BOOST_TEST(reply.at("ok").as_bool());
  BOOST_TEST(reply.at("result").at("console") == "x");
  BOOST_REQUIRE(f.guest >= 0);
  BOOST_TEST(read_some(f.guest, 5) == "early");
  // Raw bytes, newlines and non-JSON included, both ways.
  send_text(client, "ls\r\n\x01{");
  BOOST_TEST(read_some(f.guest, 6) == "ls\r\n\x01{");
  send_text(f.guest, "answer\n");
  BOOST_TEST(read_some(client, 7) == "answer\n");
  // The far side closing ends the stream: the client sees EOF.
  ::close(f.guest.exchange(-1));
  BOOST_TEST(read_some(client, 1, 5000).empty());
  ::close(client);
}

BOOST_AUTO_TEST_CASE(a_refused_stream_leaves_the_connection_serving_requests) {
  stream_fixture f;
  int client = connect_to(f.dir / "rw.sock");
  send_text(client, "{\"id\":1,\"op\":\"console\",\"args\":{\"refuse\":true}}\n{\"id\":2,\"op\":\"list\"}\n");
  auto refused = json::parse(reply_line(client)).as_object();
  BOOST_TEST(!refused.at("ok").as_bool());
  BOOST_TEST(refused.at("error").at("code") == "busy");
  auto listed = json::parse(reply_line(client)).as_object();
  BOOST_TEST(listed.at("id") == 2);
  BOOST_TEST(listed.at("ok").as_bool());
  ::close(client);
}

BOOST_AUTO_TEST_CASE(the_readonly_socket_refuses_a_stream) {
  stream_fixture f;
  control_client c;
  BOOST_REQUIRE(c.connect((f.dir / "ro.sock").string()));
  auto r = c.call("console", {});
  BOOST_REQUIRE(!r);
  BOOST_TEST(r.error().code == errc::permission_denied);
  BOOST_TEST(f.guest == -1, "the stream handler ran");
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_holds_a_bounded_amount_and_loses_nothing) {
  stream_fixture f;
  int client = connect_to(f.dir / "rw.sock");
  send_text(client, "{\"id\":1,\"op\":\"console\"}\n");
  BOOST_TEST(json::parse(reply_line(client)).at("ok").as_bool());
  // The guest writes until the stream takes no more: bounded by the socket
  // buffers and the server's queue, far below what was offered.
  const int guest = f.guest;
  BOOST_REQUIRE(::fcntl(guest, F_SETFL, O_NONBLOCK) == 0);
  std::string chunk(4096, 'a');
  std::size_t written = 0;
  for (int quiet = 0; quiet < 20 && written < (64u << 20);) {
    for (std::size_t i = 0; i < chunk.size(); ++i) chunk[i] = static_cast<char>('a' + (written + i) % 26);
    ssize_t n = ::send(guest, chunk.data(), chunk.size(), MSG_NOSIGNAL);
    if (n > 0) {
      written += static_cast<std::size_t>(n);
      quiet = 0;
    } else {
      ++quiet;
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  BOOST_TEST(written < std::size_t(8u << 20), written << " bytes taken for a client that reads nothing");
  BOOST_TEST_MESSAGE("a client that reads nothing held " << written << " bytes");
  // Others are served meanwhile.
  control_client other;
  BOOST_REQUIRE(other.connect((f.dir / "rw.sock").string()));
  BOOST_TEST(other.call("list", {}, std::chrono::seconds(2)).has_value());
  // Once it reads, it gets every byte, in order.
  std::string got = read_some(client, written, 2000);
  BOOST_TEST(got.size() == written);
  bool in_order = true;
  for (std::size_t i = 0; i < got.size(); ++i) in_order = in_order && got[i] == static_cast<char>('a' + i % 26);
  BOOST_TEST(in_order);
  ::close(client);
}
