#include "reactor/metrics_server.hpp"

#include "metrics/exposition.hpp"
#include "metrics/http.hpp"
#include "reactor/control_server.hpp"
#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <map>

namespace vnumad::reactor {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using tcp = asio::ip::tcp;
using stream = asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

// Held by every coroutine of the server, so that none touches a server that
// is gone by the time it resumes.
struct metrics_server::shared {
  shared(asio::io_context& i, metrics_server_options o, collector c)
      : io(i), options(std::move(o)), collect(std::move(c)), slot_freed(i), collected(i) {
    slot_freed.expires_at(std::chrono::steady_clock::time_point::max());
    collected.expires_at(std::chrono::steady_clock::time_point::max());
  }
  asio::io_context& io;
  metrics_server_options options;
  collector collect;
  std::unique_ptr<stream::acceptor> unix_acceptor;
  std::unique_ptr<tcp::acceptor> tcp_acceptor;
  bool stopped = false;
  std::size_t clients = 0;
  asio::steady_timer slot_freed;  // cancelled when a connection ends (condition variable)
  std::uint64_t next_id = 0;
  std::map<std::uint64_t, std::function<void()>> open;  // connection -> closes it
  // The last figures, shared by the scrapes that come within max_age.
  std::optional<result<std::string>> body;
  std::chrono::steady_clock::time_point body_at;
  bool collecting = false;
  asio::steady_timer collected;  // cancelled when a gathering ends
};

namespace {

using shared_ptr = std::shared_ptr<metrics_server::shared>;

awaitable<result<std::string>> figures(shared_ptr st) {
  const auto now = std::chrono::steady_clock::now();
  if (st->body && !st->collecting && now - st->body_at < st->options.max_age) co_return *st->body;
  if (!st->collecting) {
    st->collecting = true;
    asio::co_spawn(
        st->io,
        [st]() -> awaitable<void> {
          result<std::string> r = std::string();
          try {
            r = co_await st->collect();
          } catch (const std::exception& e) {
            r = make_error(errc::io_error, std::string("gathering the metrics failed: ") + e.what());
          }
          if (!r) log(log_level::warning, "metrics: " + r.error().message);
          st->body = std::move(r);
          st->body_at = std::chrono::steady_clock::now();
          st->collecting = false;
          st->collected.cancel();
        },
        asio::detached);
  }
  while (st->collecting) {
    co_await st->collected.async_wait(asio::as_tuple(use_awaitable));
    // Woken because the client's time is up (the || in serve), not because
    // the figures are in: the gathering goes on without it.
    auto cs = co_await asio::this_coro::cancellation_state;
    if (cs.cancelled() != asio::cancellation_type::none) co_return make_error(errc::cancelled, "scrape abandoned");
  }
  co_return *st->body;
}

template <class Socket>
awaitable<void> exchange(shared_ptr st, Socket& socket) {
  std::string buffer;
  auto [ec, n] = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer, st->options.max_request_bytes),
                                                 "\r\n\r\n", asio::as_tuple(use_awaitable));
  metrics::http_answer answer;
  if (ec == asio::error::not_found) {
    answer = metrics::error_answer(431, "request head over " + std::to_string(st->options.max_request_bytes) + " bytes");
  } else if (ec) {
    co_return;
  } else {
    const std::string head = buffer.substr(0, n);
    if (metrics::wants_metrics(head)) {
      auto body = co_await figures(st);
      if (!body && body.error().code == errc::cancelled) co_return;
      answer = body ? metrics::answer_request(head, *body, metrics::content_type)
                    : metrics::error_answer(500, body.error().message);
    } else {
      answer = metrics::answer_request(head, {}, {});
    }
  }
  const std::string reply = metrics::serialize(answer);
  co_await asio::async_write(socket, asio::buffer(reply), asio::as_tuple(use_awaitable));
}

template <class Socket>
awaitable<void> serve(shared_ptr st, Socket socket) {
  const std::uint64_t id = ++st->next_id;
  st->open[id] = [&socket] {
    boost::system::error_code ignored;
    socket.close(ignored);
  };
  asio::steady_timer deadline(socket.get_executor(), st->options.timeout);
  try {
    co_await (exchange(st, socket) || deadline.async_wait(asio::as_tuple(use_awaitable)));
  } catch (const std::exception& e) {
    // A bug, not the client's doing; the slot must be given back all the same.
    log(log_level::error, std::string("metrics: a scrape failed: ") + e.what());
  }
  boost::system::error_code ignored;
  socket.shutdown(asio::socket_base::shutdown_both, ignored);
  socket.close(ignored);
  st->open.erase(id);
  --st->clients;
  st->slot_freed.cancel();
}

template <class Acceptor>
awaitable<void> accept_loop(shared_ptr st, Acceptor& acceptor, std::string where) {
  auto backoff = 50ms;
  bool failing = false;
  asio::steady_timer pause(st->io);
  while (!st->stopped) {
    if (st->clients >= st->options.max_clients) {
      // Full: new clients wait in the backlog until one leaves.
      co_await st->slot_freed.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
    if (st->stopped) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted) co_return;
      if (!failing) log(log_level::error, "metrics " + where + ": accept failed: " + ec.message() + "; retrying with back-off");
      failing = true;
      pause.expires_after(backoff);
      co_await pause.async_wait(asio::as_tuple(use_awaitable));
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, 1s);
      continue;
    }
    failing = false;
    backoff = 50ms;
    ++st->clients;
    asio::co_spawn(st->io, serve(st, std::move(socket)), asio::detached);
  }
}

result<std::unique_ptr<tcp::acceptor>> bind_tcp(asio::io_context& io, const config::listen_address& where) {
  const std::string what = "metrics_listen = " + where.to_string();
  boost::system::error_code ec;
  const auto address = asio::ip::make_address(where.address, ec);
  if (ec) return make_error(errc::invalid_value, what + ": " + ec.message());
  const tcp::endpoint endpoint(address, where.port);
  auto acceptor = std::make_unique<tcp::acceptor>(io);
  acceptor->open(endpoint.protocol(), ec);
  // A restarted daemon binds again while the last one's connections linger.
  if (!ec) acceptor->set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor->bind(endpoint, ec);
  if (!ec) acceptor->listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return make_error(errc::io_error, what + ": cannot listen: " + ec.message());
  return acceptor;
}

}  // namespace

metrics_server::metrics_server(asio::io_context& io, metrics_server_options options, collector collect)
    : shared_(std::make_shared<shared>(io, std::move(options), std::move(collect))) {}

metrics_server::~metrics_server() { stop(); }

result<void> metrics_server::open() {
  auto& st = *shared_;
  if (st.options.socket) {
    auto bound = bind_socket(st.io, *st.options.socket, 0666, std::nullopt);
    if (!bound) return make_error(bound.error().code, "metrics_socket = " + bound.error().message);
    st.unix_acceptor = std::move(*bound);
  }
  if (st.options.listen) {
    auto bound = bind_tcp(st.io, *st.options.listen);
    if (!bound) return bound.error();
    st.tcp_acceptor = std::move(*bound);
  }
  return {};
}

void metrics_server::start() {
  auto st = shared_;
  std::string where;
  if (st->unix_acceptor) {
    where = "unix socket " + st->options.socket->string();
    asio::co_spawn(st->io, accept_loop(st, *st->unix_acceptor, where), asio::detached);
  }
  if (st->tcp_acceptor) {
    const std::string url = "http://" + st->options.listen->to_string() + "/metrics";
    asio::co_spawn(st->io, accept_loop(st, *st->tcp_acceptor, url), asio::detached);
    where += (where.empty() ? "" : " and ") + url;
  }
  if (where.empty()) return;
  log(log_level::info, "metrics: " + where + "; at most " + std::to_string(st->options.max_clients) +
                           " clients, " + std::to_string(st->options.timeout.count() / 1000) + " s each");
}

void metrics_server::stop() {
  auto& st = *shared_;
  if (st.stopped) return;
  st.stopped = true;
  boost::system::error_code ignored;
  if (st.unix_acceptor) st.unix_acceptor->close(ignored);
  if (st.tcp_acceptor) st.tcp_acceptor->close(ignored);
  st.slot_freed.cancel();
  for (auto& [id, close] : st.open) close();
}

}  // namespace vnumad::reactor
