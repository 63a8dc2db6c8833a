#include "qmp/qmp_client.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>
#include <deque>
#include <exception>
#include <iostream>
#include <map>

namespace vnumad::qmp {
namespace asio = boost::asio;
namespace json = boost::json;
using namespace asio::experimental::awaitable_operators;
using asio::as_tuple;
using asio::use_awaitable;
using std::chrono::milliseconds;
using std::chrono::steady_clock;

namespace {

// A steady_timer that never expires is a single-threaded condition variable:
// waiters wait on it, cancel() wakes them all.
asio::steady_timer make_signal(const asio::any_io_executor& ex) {
  return asio::steady_timer(ex, asio::steady_timer::time_point::max());
}

struct pending_request {
  pending_request(const asio::any_io_executor& ex, std::string name) : done(make_signal(ex)), command(std::move(name)) {}
  asio::steady_timer done;
  std::string command;
  std::optional<result<json::value>> reply;
};

// co_spawn completion handler: an exception escaping a connection coroutine
// is a bug, but it must not take the daemon down silently.
auto log_exception(const char* what) {
  return [what](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      std::cerr << "vnumad: " << what << " failed: " << ex.what() << '\n';
    } catch (...) {
      std::cerr << "vnumad: " << what << " failed with an unknown exception\n";
    }
  };
}

std::string ms_text(milliseconds ms) { return std::to_string(ms.count()) + " ms"; }

}  // namespace

struct qmp_client::state {
  state(asio::any_io_executor ex, std::size_t max_line)
      : executor(ex), socket(ex), framer(max_line), write_signal(make_signal(ex)),
        greeting_signal(make_signal(ex)), event_signal(make_signal(ex)) {}

  asio::any_io_executor executor;
  asio::local::stream_protocol::socket socket;
  line_framer framer;
  std::uint64_t next_id = 1;
  std::map<std::uint64_t, std::shared_ptr<pending_request>> pending;
  std::deque<std::string> write_queue;
  asio::steady_timer write_signal;
  std::optional<qmp_greeting> greeting;
  asio::steady_timer greeting_signal;
  std::deque<qmp_event> events;
  asio::steady_timer event_signal;
  std::size_t dropped_events = 0;
  event_handler on_event;
  close_handler on_close;
  bool connected = false;
  bool closed = false;
  std::optional<error> close_reason;
};

namespace {

using state_ptr = std::shared_ptr<qmp_client::state>;

// Ends the connection once: fails every waiter with the reason and tells the
// owner, unless the owner closed it itself.
void finish(const state_ptr& st, error reason, bool notify) {
  if (st->closed) return;
  st->closed = true;
  st->close_reason = reason;
  boost::system::error_code ignored;
  st->socket.close(ignored);
  auto pending = std::move(st->pending);
  st->pending.clear();
  for (auto& [id, req] : pending) {
    req->reply = make_error(errc::protocol_error,
                            "QMP connection closed while waiting for the reply to " + req->command + ": " + reason.message);
    req->done.cancel();
  }
  st->write_signal.cancel();
  st->greeting_signal.cancel();
  st->event_signal.cancel();
  auto on_close = std::move(st->on_close);
  st->on_close = nullptr;
  st->on_event = nullptr;
  if (notify && on_close) on_close(reason);
}

void dispatch(const state_ptr& st, qmp_message&& message) {
  if (auto* ret = std::get_if<qmp_return>(&message)) {
    if (!ret->id) return;  // not ours: every command we send has an id
    auto it = st->pending.find(*ret->id);
    if (it == st->pending.end()) return;  // its caller timed out already
    it->second->reply = std::move(ret->value);
    it->second->done.cancel();
    st->pending.erase(it);
  } else if (auto* err = std::get_if<qmp_error_reply>(&message)) {
    if (!err->id) return;
    auto it = st->pending.find(*err->id);
    if (it == st->pending.end()) return;
    it->second->reply = make_error(errc::qmp_error, it->second->command + ": " + err->error_class + ": " + err->description);
    it->second->done.cancel();
    st->pending.erase(it);
  } else if (auto* event = std::get_if<qmp_event>(&message)) {
    if (st->on_event) {
      try {
        st->on_event(*event);
      } catch (const std::exception& e) {
        std::cerr << "vnumad: QMP event handler for " << event->name << " threw: " << e.what() << '\n';
      }
    }
    if (st->closed) return;  // the handler may have closed the client
    if (st->events.size() >= qmp_client::max_queued_events) {
      st->events.pop_front();
      ++st->dropped_events;
    }
    st->events.push_back(std::move(*event));
    st->event_signal.cancel();
  } else if (auto* greeting = std::get_if<qmp_greeting>(&message)) {
    st->greeting = std::move(*greeting);
    st->greeting_signal.cancel();
  }
}

asio::awaitable<void> read_loop(state_ptr st) {
  // Lives in every guest's reader coroutine for the guest's lifetime: kept
  // small (QMP lines longer than this simply take several reads).
  std::array<char, 4 * 1024> buffer;
  while (!st->closed) {
    auto [ec, n] = co_await st->socket.async_read_some(asio::buffer(buffer), as_tuple(use_awaitable));
    if (st->closed) co_return;
    if (ec == asio::error::eof) {
      finish(st, make_error(errc::protocol_error, "QMP connection closed by QEMU"), true);
      co_return;
    }
    if (ec) {
      finish(st, make_error(errc::io_error, "QMP connection closed: read failed: " + ec.message()), true);
      co_return;
    }
    st->framer.feed(std::string_view(buffer.data(), n));
    for (;;) {
      auto line = st->framer.next_line();
      if (!line) {
        finish(st, line.error(), true);
        co_return;
      }
      if (!*line) break;
      auto message = decode_message(**line);
      if (!message) {
        finish(st, message.error(), true);
        co_return;
      }
      dispatch(st, std::move(*message));
      if (st->closed) co_return;
    }
  }
}

// One writer per connection, so that concurrent execute() calls never
// interleave their bytes on the socket.
asio::awaitable<void> write_loop(state_ptr st) {
  while (!st->closed) {
    if (st->write_queue.empty()) {
      co_await st->write_signal.async_wait(as_tuple(use_awaitable));
      continue;
    }
    std::string line = std::move(st->write_queue.front());
    st->write_queue.pop_front();
    auto [ec, n] = co_await asio::async_write(st->socket, asio::buffer(line), as_tuple(use_awaitable));
    if (st->closed) co_return;
    if (ec) {
      finish(st, make_error(errc::io_error, "QMP connection closed: write failed: " + ec.message()), true);
      co_return;
    }
  }
}

error closed_error(const state_ptr& st) {
  if (st->close_reason) return make_error(errc::protocol_error, "QMP connection closed: " + st->close_reason->message);
  return make_error(errc::protocol_error, "QMP connection closed (not connected)");
}

}  // namespace

qmp_client::qmp_client(asio::any_io_executor executor, std::size_t max_line)
    : state_(std::make_shared<state>(executor, max_line)) {}

qmp_client::~qmp_client() { close(); }

void qmp_client::close() {
  finish(state_, make_error(errc::cancelled, "closed by vnumad"), false);
}

bool qmp_client::is_open() const { return state_->connected && !state_->closed; }
const std::optional<qmp_greeting>& qmp_client::greeting() const { return state_->greeting; }
std::size_t qmp_client::dropped_events() const { return state_->dropped_events; }
void qmp_client::on_event(event_handler handler) { state_->on_event = std::move(handler); }
void qmp_client::on_close(close_handler handler) { state_->on_close = std::move(handler); }

asio::awaitable<result<void>> qmp_client::connect(std::string path, milliseconds timeout) {
  state_ptr st = state_;
  if (st->connected || st->closed)
    co_return make_error(errc::busy, "QMP client for " + path + " is already connected or closed; use a new one");
  asio::local::stream_protocol::endpoint endpoint;
  try {
    endpoint = asio::local::stream_protocol::endpoint(path);
  } catch (const boost::system::system_error& e) {
    co_return make_error(errc::invalid_value, "QMP socket path '" + path + "' is not usable: " + e.code().message());
  }
  const auto deadline = steady_clock::now() + timeout;
  // QEMU creates its socket within milliseconds, or after seconds when it
  // first locks guest memory: retry soon at first, then every 50 ms.
  milliseconds retry(1);
  for (;;) {
    auto [ec] = co_await st->socket.async_connect(endpoint, as_tuple(use_awaitable));
    if (st->closed) co_return closed_error(st);
    if (!ec) break;
    boost::system::error_code ignored;
    st->socket.close(ignored);
    if (ec != boost::system::errc::no_such_file_or_directory &&
        ec != asio::error::connection_refused)
      co_return make_error(errc::io_error, "cannot connect to QMP socket " + path + ": " + ec.message());
    const auto now = steady_clock::now();
    if (now >= deadline)
      co_return make_error(errc::timeout, "QMP socket " + path + " did not accept a connection within " +
                                              ms_text(timeout) + " (last error: " + ec.message() + ")");
    asio::steady_timer pause(st->executor, std::min<steady_clock::duration>(retry, deadline - now));
    co_await pause.async_wait(as_tuple(use_awaitable));
    retry = std::min(retry * 2, milliseconds(50));
  }
  st->connected = true;
  asio::co_spawn(st->executor, [st]() -> asio::awaitable<void> { co_await read_loop(st); },
                 log_exception("QMP reader"));
  asio::co_spawn(st->executor, [st]() -> asio::awaitable<void> { co_await write_loop(st); },
                 log_exception("QMP writer"));
  co_return result<void>{};
}

asio::awaitable<result<json::value>> qmp_client::negotiate(milliseconds timeout) {
  state_ptr st = state_;
  const auto deadline = steady_clock::now() + timeout;
  if (!st->connected || st->closed) co_return closed_error(st);
  if (!st->greeting) {
    asio::steady_timer timer(st->executor, deadline);
    co_await (st->greeting_signal.async_wait(as_tuple(use_awaitable)) || timer.async_wait(as_tuple(use_awaitable)));
    if (!st->greeting) {
      if (st->closed) co_return closed_error(st);
      co_return make_error(errc::timeout, "QMP greeting not received within " + ms_text(timeout));
    }
  }
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - steady_clock::now());
  auto caps = co_await execute("qmp_capabilities", {}, std::max(left, milliseconds(1)));
  if (!caps) co_return caps.error();
  co_return json::value(st->greeting->version);
}

asio::awaitable<result<json::value>> qmp_client::execute(qmp_command command, milliseconds timeout) {
  return execute(std::move(command.execute), std::move(command.arguments), timeout);
}

asio::awaitable<result<json::value>> qmp_client::execute(std::string command, json::object arguments,
                                                         milliseconds timeout) {
  // The state, not `this`, is used after the first suspension: the owner may
  // destroy the client while a command is in flight.
  state_ptr st = state_;
  if (!st->connected || st->closed) co_return closed_error(st);
  const std::uint64_t id = st->next_id++;
  auto req = std::make_shared<pending_request>(st->executor, command);
  st->pending.emplace(id, req);
  st->write_queue.push_back(encode_command(qmp_command{command, std::move(arguments)}, id));
  st->write_signal.cancel_one();

  asio::steady_timer deadline(st->executor, timeout);
  if (!req->reply)
    co_await (req->done.async_wait(as_tuple(use_awaitable)) || deadline.async_wait(as_tuple(use_awaitable)));
  if (req->reply) co_return std::move(*req->reply);
  st->pending.erase(id);
  co_return make_error(errc::timeout, "QMP command " + command + " got no reply within " + ms_text(timeout));
}

asio::awaitable<result<qmp_event>> qmp_client::next_event(milliseconds timeout) {
  state_ptr st = state_;
  asio::steady_timer deadline(st->executor, timeout);
  bool expired = false;
  for (;;) {
    if (!st->events.empty()) {
      qmp_event event = std::move(st->events.front());
      st->events.pop_front();
      co_return event;
    }
    if (st->closed || !st->connected) co_return closed_error(st);
    if (expired) co_return make_error(errc::timeout, "no QMP event within " + ms_text(timeout));
    auto outcome = co_await (st->event_signal.async_wait(as_tuple(use_awaitable)) ||
                             deadline.async_wait(as_tuple(use_awaitable)));
    // Woken by an event (or by close): loop to look at the queue again.
    if (outcome.index() == 1) expired = true;
  }
}

}  // namespace vnumad::qmp
