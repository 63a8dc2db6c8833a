#define BOOST_TEST_MODULE control_server
#include <boost/test/unit_test.hpp>

#include "reactor/control_client.hpp"
#include "reactor/control_server.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/json.hpp>

#include <atomic>
#include <filesystem>
#include <fcntl.h>
#include <future>
#include <poll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>

namespace asio = boost::asio;
namespace json = boost::json;
using namespace vnumad;
using namespace vnumad::reactor;

namespace {

// A server on a private socket, its io_context on a background thread, with a
// handler that echoes, fails, or sleeps on request.
struct server_fixture {
  std::filesystem::path dir;
  asio::io_context io;
  std::unique_ptr<control_server> server;
  std::thread thread;
  std::atomic<int> handled{0};

  explicit server_fixture(bool with_readonly = false, control_limits limits = {}) {
    dir = std::filesystem::temp_directory_path() / ("vnumad-ctl-" + std::to_string(::getpid()) + "-" +
                                                     std::to_string(reinterpret_cast<std::uintptr_t>(this)));
    std::filesystem::create_directories(dir);
    std::filesystem::permissions(dir, std::filesystem::perms::all);
    control_socket_options options;
    options.path = dir / "rw.sock";
    if (with_readonly) options.readonly_path = dir / "ro.sock";
    options.readonly_ops = {"list", "dominfo", "big", "events"};
    options.limits = limits;
    server = std::make_unique<control_server>(
        io, options, [this](const control_request& r, const control_peer& peer) -> asio::awaitable<result<json::value>> {
          ++handled;
          if (r.op == "echo") co_return json::value(r.args);
          // The daemon's events verb subscribes this way (control_ops.cpp).
          if (r.op == "events") {
            std::optional<std::string> only;
            if (const auto* g = r.args.if_contains("name")) only = std::string(g->as_string());
            peer.subscribe(only);
            co_return json::value(json::object{{"subscribed", true}});
          }
          if (r.op == "list") co_return json::value(json::array{"a", "b"});
          if (r.op == "big") co_return json::value(std::string(1200, 'x'));  // a capabilities-sized reply
          if (r.op == "slow") {
            asio::steady_timer t(co_await asio::this_coro::executor, std::chrono::milliseconds(300));
            co_await t.async_wait(asio::use_awaitable);
            co_return json::value("slept");
          }
          co_return make_error(errc::invalid_value, "unknown op \"" + r.op + "\"");
        });
    BOOST_REQUIRE(server->open());
    server->start();
    thread = std::thread([this] {
      auto guard = asio::make_work_guard(io);
      io.run();
    });
  }
  ~server_fixture() {
    asio::post(io, [this] {
      server->stop();
      io.stop();
    });
    thread.join();
    std::filesystem::remove_all(dir);
  }
  std::string rw() const { return (dir / "rw.sock").string(); }
  std::string ro() const { return (dir / "ro.sock").string(); }
};

// Sends raw bytes and returns the first reply line (or "" on EOF).
std::string raw_exchange(const std::string& path, const std::string& bytes) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  BOOST_REQUIRE(::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) break;  // the server may close on an oversized request
    off += static_cast<std::size_t>(n);
  }
  std::string reply;
  char c;
  while (::read(fd, &c, 1) == 1 && c != '\n') reply += c;
  ::close(fd);
  return reply;
}

int connect_raw(const std::string& path) {
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::strcpy(addr.sun_path, path.c_str());
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

void send_all(int fd, const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return;
    off += static_cast<std::size_t>(n);
  }
}

// One line within `timeout`: the line, "" on EOF, "TIMEOUT" when none came.
std::string read_line_within(int fd, std::chrono::milliseconds timeout) {
  std::string line;
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return "TIMEOUT";
    char c;
    if (::read(fd, &c, 1) != 1) return line;
    if (c == '\n') return line;
    line += c;
  }
}

std::string error_message(const std::string& line) {
  boost::system::error_code ec;
  auto v = json::parse(line, ec);
  if (ec || !v.is_object() || !v.as_object().contains("error")) return "not an error reply: " + line;
  return std::string(v.at("error").at("message").as_string());
}

double cpu_seconds_of_this_process() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

}  // namespace

BOOST_AUTO_TEST_CASE(ok_and_error_replies_carry_the_request_id) {
  server_fixture f;
  control_client c;
  BOOST_REQUIRE(c.connect(f.rw()));
  auto echoed = c.call("echo", json::object{{"x", 1}});
  BOOST_REQUIRE(echoed);
  BOOST_TEST(echoed->as_object().at("x").as_int64() == 1);
  auto unknown = c.call("frobnicate", {});
  BOOST_REQUIRE(!unknown);
  BOOST_TEST(unknown.error().code == errc::invalid_value);
  BOOST_TEST(unknown.error().message.find("frobnicate") != std::string::npos);

  std::string reply = raw_exchange(f.rw(), R"({"id":"abc","op":"list"})" "\n");
  json::value v = json::parse(reply);
  BOOST_TEST(v.at("id").as_string() == "abc");
  BOOST_TEST(v.at("ok").as_bool());
  BOOST_TEST(v.at("result").as_array().size() == 2u);
}

BOOST_AUTO_TEST_CASE(malformed_requests_get_error_replies_and_the_server_lives_on) {
  server_fixture f;
  const std::pair<std::string, std::string> cases[] = {
      {"{not json\n", "malformed JSON"},
      {"[1,2]\n", "must be a JSON object"},
      {R"({"id":7})" "\n", "\"op\""},
      {R"({"id":7,"op":"list","args":[1]})" "\n", "\"args\" must be a JSON object"},
      {R"({"id":7,"op":"list","extra":1})" "\n", "unknown request field"},
  };
  for (const auto& [request, fragment] : cases) {
    json::value v = json::parse(raw_exchange(f.rw(), request));
    BOOST_TEST(!v.at("ok").as_bool());
    BOOST_TEST(std::string(v.at("error").at("message").as_string()).find(fragment) != std::string::npos,
               request << " -> " << v);
  }
  // An id that was readable is echoed even when the request is bad.
  json::value v = json::parse(raw_exchange(f.rw(), R"({"id":7})" "\n"));
  BOOST_TEST(v.at("id").as_int64() == 7);
  control_client c;
  BOOST_REQUIRE(c.connect(f.rw()));
  BOOST_TEST(c.call("list", {}).has_value());
}

BOOST_AUTO_TEST_CASE(oversized_request_is_refused_with_an_error) {
  server_fixture f;
  std::string huge(max_request_bytes + 4096, 'x');
  json::value v = json::parse(raw_exchange(f.rw(), huge));
  BOOST_TEST(!v.at("ok").as_bool());
  BOOST_TEST(std::string(v.at("error").at("message").as_string()).find("over the limit") != std::string::npos);
  BOOST_TEST(f.handled.load() == 0);
  control_client c;
  BOOST_REQUIRE(c.connect(f.rw()));
  BOOST_TEST(c.call("list", {}).has_value());
}

BOOST_AUTO_TEST_CASE(hundred_concurrent_clients_each_get_their_own_answer) {
  server_fixture f;
  std::vector<std::future<bool>> results;
  for (int i = 0; i < 100; ++i)
    results.push_back(std::async(std::launch::async, [&f, i] {
      control_client c;
      if (!c.connect(f.rw())) return false;
      for (int k = 0; k < 5; ++k) {
        auto r = c.call("echo", json::object{{"client", i}, {"k", k}});
        if (!r || r->as_object().at("client").as_int64() != i || r->as_object().at("k").as_int64() != k)
          return false;
      }
      return true;
    }));
  int good = 0;
  for (auto& r : results) good += r.get() ? 1 : 0;
  BOOST_TEST(good == 100);
}

BOOST_AUTO_TEST_CASE(a_slow_request_does_not_stall_other_clients) {
  server_fixture f;
  control_client slow;
  BOOST_REQUIRE(slow.connect(f.rw()));
  auto slow_reply = std::async(std::launch::async, [&] { return slow.call("slow", {}); });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  // A client that connects and never reads or writes.
  control_client stuck;
  BOOST_REQUIRE(stuck.connect(f.rw()));
  auto start = std::chrono::steady_clock::now();
  control_client quick;
  BOOST_REQUIRE(quick.connect(f.rw()));
  BOOST_TEST(quick.call("list", {}).has_value());
  BOOST_TEST((std::chrono::steady_clock::now() - start < std::chrono::milliseconds(250)));
  BOOST_TEST(slow_reply.get().has_value());
}

BOOST_AUTO_TEST_CASE(events_reach_subscribers_only) {
  server_fixture f;
  control_client sub;
  BOOST_REQUIRE(sub.connect(f.rw()));
  BOOST_REQUIRE(sub.call("events", {}));
  control_client other;
  BOOST_REQUIRE(other.connect(f.rw()));
  asio::post(f.io, [&] { f.server->publish(json::object{{"event", "state"}, {"guest", "g1"}}); });
  auto ev = sub.next_event(std::chrono::seconds(5));
  BOOST_REQUIRE(ev);
  BOOST_TEST(ev->at("guest").as_string() == "g1");
  // The other client gets its replies and no event in between.
  auto r = other.call("list", {});
  BOOST_TEST(r.has_value());
}

BOOST_AUTO_TEST_CASE(socket_modes_and_unprivileged_peers) {
  server_fixture f(true);
  struct stat st {};
  BOOST_REQUIRE(::stat(f.rw().c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0600u);
  BOOST_REQUIRE(::stat(f.ro().c_str(), &st) == 0);
  BOOST_TEST((st.st_mode & 0777) == 0666u);
  if (::geteuid() != 0) {
    BOOST_TEST_MESSAGE("not root: the unprivileged-peer half needs setuid and is checked in CI as root");
    BOOST_TEST((control_server::decide_access({1, 12345, 12345}, false, std::nullopt) == std::nullopt));
    return;
  }
  // A child process that drops to nobody: refused on the read-write socket,
  // read-only on the read-only socket.
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    std::string out;
    {
      control_client c;
      auto r = c.connect(f.rw());
      out += r ? "rw-connected;" : (r.error().code == errc::permission_denied ? "rw-denied;" : "rw-other;");
    }
    {
      control_client c;
      if (!c.connect(f.ro())) {
        out += "ro-failed;";
      } else {
        auto list = c.call("list", {});
        out += list ? "ro-list-ok;" : "ro-list-failed;";
        auto echo = c.call("echo", {});
        out += (!echo && echo.error().code == errc::permission_denied) ? "ro-echo-denied;" : "ro-echo-allowed;";
      }
    }
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[256];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  int status = 0;
  ::waitpid(pid, &status, 0);
  BOOST_TEST(out == "rw-denied;ro-list-ok;ro-echo-denied;");
  // SO_PEERCRED decisions, independent of file modes.
  BOOST_TEST((control_server::decide_access({1, 12345, 12345}, false, std::nullopt) == std::nullopt));
  BOOST_TEST((control_server::decide_access({1, 12345, 12345}, true, std::nullopt) == access_level::read_only));
  BOOST_TEST((control_server::decide_access({1, 12345, 777}, false, gid_t{777}) == access_level::read_write));
  BOOST_TEST((control_server::decide_access({1, 0, 0}, false, std::nullopt) == access_level::read_write));
}

// Found by the fuzzer (fuzz/regressions/control): Boost.JSON 1.81 reads a
// number beyond the double range as infinity and writes it back as 1e99999,
// which no client can parse. Such a request is refused, its id not echoed.
BOOST_AUTO_TEST_CASE(numbers_beyond_the_double_range_are_refused) {
  for (const std::string line : {"{\"id\":0.5e320,\"op\":\"list\"}", "{\"op\":\"dominfo\",\"args\":{\"name\":1e400}}"}) {
    boost::json::value id;
    auto r = parse_request(line, id);
    BOOST_TEST_REQUIRE(!r.has_value(), line);
    BOOST_TEST((r.error().code == errc::protocol_error));
    BOOST_TEST(id.is_null());
  }
}


// ---- Limits (issue 12): no client can make the server hold without bound. ----

BOOST_AUTO_TEST_CASE(the_client_budget_follows_the_fd_limit) {
  BOOST_TEST(effective_max_clients(128, 20000) == 128u);
  BOOST_TEST(effective_max_clients(128, 400) == 100u);  // two sockets: half the fds at most
  BOOST_TEST(effective_max_clients(128, 2) == 1u);
}

BOOST_AUTO_TEST_CASE(a_uid_over_its_share_is_told_so_and_others_are_not_affected) {
  BOOST_TEST_REQUIRE(::geteuid() == 0, "the limited user is nobody, in a forked child: needs root");
  control_limits limits;
  limits.max_clients_per_uid = 3;
  server_fixture f(true, limits);
  // Root has the socket's whole budget: more than 3 at once is fine.
  std::vector<std::unique_ptr<control_client>> held;
  for (int i = 0; i < 5; ++i) {
    held.push_back(std::make_unique<control_client>());
    BOOST_REQUIRE(held.back()->connect(f.ro()));
    BOOST_REQUIRE(held.back()->call("list", {}));  // admitted
  }
  // nobody, in a child: 3 connections, the 4th is told why and closed, then
  // leaving frees the share.
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(pipefd[0]);
    if (::setgid(65534) != 0 || ::setuid(65534) != 0) ::_exit(10);
    std::string out;
    std::vector<int> fds;
    auto attempt = [&] {
      int c = connect_raw(f.ro());
      send_all(c, "{\"id\":1,\"op\":\"list\"}\n");
      std::string line = read_line_within(c, std::chrono::seconds(5));
      bool refused = line.find("uid 65534 already has 3 connections to this socket") != std::string::npos;
      out += line.find("\"ok\":true") != std::string::npos ? "ok;" : refused ? "refused;" : "other:" + line + ";";
      if (refused) out += read_line_within(c, std::chrono::seconds(5)).empty() ? "closed;" : "open;";
      fds.push_back(c);
    };
    for (int i = 0; i < 4; ++i) attempt();
    // Root's 5 on this socket do not count against nobody's share; leaving
    // frees a place in it.
    ::close(fds.front());
    ::usleep(200 * 1000);
    attempt();
    (void)!::write(pipefd[1], out.data(), out.size());
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string out;
  char buf[512];
  ssize_t n;
  while ((n = ::read(pipefd[0], buf, sizeof buf)) > 0) out.append(buf, static_cast<std::size_t>(n));
  ::close(pipefd[0]);
  ::waitpid(pid, nullptr, 0);
  BOOST_TEST(out == "ok;ok;ok;refused;closed;ok;");
}

BOOST_AUTO_TEST_CASE(a_full_readonly_socket_queues_newcomers_and_never_starves_the_readwrite_one) {
  control_limits limits;
  limits.max_clients = 4;
  limits.max_clients_per_uid = 100;
  server_fixture f(true, limits);
  std::vector<int> held;
  for (int i = 0; i < 4; ++i) {
    held.push_back(connect_raw(f.ro()));
    send_all(held.back(), "{\"op\":\"list\"}\n");
    BOOST_REQUIRE(read_line_within(held.back(), std::chrono::seconds(5)).find("\"ok\":true") != std::string::npos);
  }
  // The fifth waits in the backlog: connected, but not served.
  int waiting = connect_raw(f.ro());
  BOOST_REQUIRE(waiting >= 0);
  send_all(waiting, "{\"id\":5,\"op\":\"list\"}\n");
  BOOST_TEST(read_line_within(waiting, std::chrono::milliseconds(400)) == "TIMEOUT");
  // Meanwhile the read-write socket serves at once, several clients of it.
  for (int i = 0; i < 6; ++i) {
    control_client rw;
    BOOST_REQUIRE(rw.connect(f.rw()));
    BOOST_TEST(rw.call("list", {}, std::chrono::seconds(2)).has_value());
  }
  // One leaves: the waiting one is served.
  ::close(held.back());
  held.pop_back();
  std::string reply = read_line_within(waiting, std::chrono::seconds(5));
  BOOST_TEST(reply.find("\"id\":5") != std::string::npos, reply);
  BOOST_TEST(reply.find("\"ok\":true") != std::string::npos, reply);
  for (int fd : held) ::close(fd);
  ::close(waiting);
}

BOOST_AUTO_TEST_CASE(a_subscriber_to_one_guest_gets_only_its_events) {
  server_fixture f;
  control_client one, all;
  BOOST_REQUIRE(one.connect(f.rw()));
  BOOST_REQUIRE(one.call("events", {{"name", "g2"}}));
  BOOST_REQUIRE(all.connect(f.rw()));
  BOOST_REQUIRE(all.call("events", {}));
  asio::post(f.io, [&] {
    f.server->publish(json::object{{"event", "state"}, {"guest", "g1"}});
    f.server->publish(json::object{{"event", "config_error"}, {"file", "x.xml"}});
    f.server->publish(json::object{{"event", "state"}, {"guest", "g2"}});
  });
  auto first = one.next_event(std::chrono::seconds(5));
  BOOST_REQUIRE(first);
  BOOST_TEST(first->at("guest").as_string() == "g2");
  BOOST_TEST(!one.next_event(std::chrono::milliseconds(300)).has_value());
  for (const char* kind : {"state", "config_error", "state"}) {
    auto ev = all.next_event(std::chrono::seconds(5));
    BOOST_REQUIRE(ev);
    BOOST_TEST(ev->at("event").as_string() == kind);
  }
}

BOOST_AUTO_TEST_CASE(a_silent_client_is_closed_after_the_idle_timeout_but_not_a_subscriber) {
  control_limits limits;
  limits.idle_timeout = std::chrono::milliseconds(400);
  server_fixture f(false, limits);
  int silent = connect_raw(f.rw());
  int chatty = connect_raw(f.rw());
  control_client subscriber;
  BOOST_REQUIRE(subscriber.connect(f.rw()));
  BOOST_REQUIRE(subscriber.call("events", {}));
  auto start = std::chrono::steady_clock::now();
  // A client that keeps asking stays.
  for (int i = 0; i < 6; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    send_all(chatty, "{\"op\":\"list\"}\n");
    BOOST_TEST(read_line_within(chatty, std::chrono::seconds(2)).find("\"ok\":true") != std::string::npos);
  }
  std::string told = read_line_within(silent, std::chrono::seconds(3));
  auto waited = std::chrono::steady_clock::now() - start;
  BOOST_TEST(error_message(told).find("no request for") != std::string::npos, told);
  BOOST_TEST(error_message(told).find("control_idle_timeout") != std::string::npos, told);
  BOOST_TEST(read_line_within(silent, std::chrono::seconds(2)) == "");  // closed
  BOOST_TEST((waited < std::chrono::seconds(3)));
  // The subscriber, silent for longer than the timeout, still gets events.
  asio::post(f.io, [&] { f.server->publish(json::object{{"event", "state"}, {"guest", "g1"}}); });
  auto ev = subscriber.next_event(std::chrono::seconds(5));
  BOOST_TEST(ev.has_value());
  ::close(silent);
  ::close(chatty);
}

BOOST_AUTO_TEST_CASE(a_client_that_does_not_read_is_not_read_from_and_loses_nothing) {
  // 2000 requests whose replies are 1.2 KB each (2.4 MB in all, what made the
  // daemon grow by 1.2 MB per connection), sent without reading the replies.
  control_limits limits;
  limits.max_queued_bytes = 16 * 1024;
  server_fixture f(false, limits);
  int fd = connect_raw(f.rw());
  constexpr int count = 2000;
  std::thread sender([fd] {
    std::string all;
    for (int i = 0; i < count; ++i) all += "{\"id\":" + std::to_string(i) + ",\"op\":\"big\"}\n";
    send_all(fd, all);
  });
  std::this_thread::sleep_for(std::chrono::seconds(1));
  // The server stopped reading once 16 KiB were queued: at most what the
  // kernel's socket buffers hold was answered.
  const int answered_unread = f.handled.load();
  BOOST_TEST(answered_unread < count / 2, answered_unread << " of " << count << " answered without being read");
  BOOST_TEST_MESSAGE("answered before the client read: " << answered_unread);
  // Reading now (in large reads), every reply comes, in order.
  int next = 0;
  std::string pending;
  char chunk[65536];
  for (bool in_order = true; in_order && next < count;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 5000) <= 0) break;
    ssize_t got = ::read(fd, chunk, sizeof chunk);
    if (got <= 0) break;
    pending.append(chunk, static_cast<std::size_t>(got));
    for (std::size_t nl; in_order && (nl = pending.find('\n')) != std::string::npos; pending.erase(0, nl + 1)) {
      const std::string prefix = "{\"id\":" + std::to_string(next) + ",";
      in_order = nl > prefix.size() && pending.compare(0, prefix.size(), prefix) == 0;
      if (in_order) ++next;
    }
  }
  BOOST_TEST(next == count);
  sender.join();
  ::close(fd);
}

BOOST_AUTO_TEST_CASE(out_of_fds_the_server_turns_clients_away_backs_off_and_recovers) {
  control_limits limits;
  limits.max_clients = 1000;
  limits.max_clients_per_uid = 1000;
  server_fixture f(false, limits);
  rlimit saved{};
  BOOST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Room for about 10 more fds in this process, server included.
  int probe = ::open("/dev/null", O_RDONLY);
  ::close(probe);
  rlimit low = saved;
  low.rlim_cur = static_cast<rlim_t>(probe + 10);
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &low) == 0);

  // A child (with its own limit restored) opens 60 connections and holds them.
  int pipefd[2];
  BOOST_REQUIRE(::pipe(pipefd) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setrlimit(RLIMIT_NOFILE, &saved);
    ::close(pipefd[0]);
    std::vector<int> fds;
    for (int i = 0; i < 60; ++i) fds.push_back(connect_raw(f.rw()));
    int out_of_fds = 0, closed = 0;
    for (int fd : fds) {
      std::string line = read_line_within(fd, std::chrono::milliseconds(200));
      if (line.find("out of file descriptors") != std::string::npos) ++out_of_fds;
      else if (line.empty()) ++closed;
    }
    std::string report = std::to_string(out_of_fds) + " " + std::to_string(closed);
    (void)!::write(pipefd[1], report.data(), report.size());
    ::close(pipefd[1]);
    ::pause();  // keep holding them until the parent is done measuring
    ::_exit(0);
  }
  ::close(pipefd[1]);
  std::string report;
  char buf[64];
  ssize_t n;
  while (report.find(' ') == std::string::npos && (n = ::read(pipefd[0], buf, sizeof buf)) > 0)
    report.append(buf, static_cast<std::size_t>(n));
  // While fds stay exhausted (the child holds its connections), the server
  // does not spin: this process uses far less than a core.
  const double cpu_before = cpu_seconds_of_this_process();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  const double cpu_used = cpu_seconds_of_this_process() - cpu_before;
  BOOST_TEST(cpu_used < 0.3, "CPU seconds in 2 s with fds exhausted: " << cpu_used);
  int out_of_fds = 0, closed = 0;
  std::sscanf(report.c_str(), "%d %d", &out_of_fds, &closed);
  BOOST_TEST_MESSAGE("turned away with a reply: " << out_of_fds << ", closed: " << closed);
  BOOST_TEST(out_of_fds > 0, report);

  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  ::close(pipefd[0]);
  BOOST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &saved) == 0);
  // Served again once fds are back (the back-off is at most a second).
  std::this_thread::sleep_for(std::chrono::milliseconds(1200));
  control_client c;
  BOOST_REQUIRE(c.connect(f.rw()));
  BOOST_TEST(c.call("list", {}, std::chrono::seconds(5)).has_value());
}
