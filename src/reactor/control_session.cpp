#include "reactor/control_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

namespace vnumad::reactor {

namespace asio = boost::asio;
using asio::awaitable;
using asio::use_awaitable;
using stream = asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {
// A write that cannot complete in this time means the client is stuck.
constexpr auto write_timeout = 10s;
}  // namespace

control_server::session::session(stream::socket s, std::size_t max_queued_bytes)
    : socket(std::move(s)), wake(socket.get_executor()), drained(socket.get_executor()), max_queued(max_queued_bytes) {
  wake.expires_at(std::chrono::steady_clock::time_point::max());
  drained.expires_at(std::chrono::steady_clock::time_point::max());
}

void control_server::session::send(std::string line) {
  if (closing) return;
  queued_bytes += line.size();
  outbox.push_back(std::move(line));
  wake.cancel_one();
}

void control_server::session::send_event(const std::string& line) {
  if (closing) return;
  if (queued_bytes + line.size() > max_queued) {
    close();
    return;
  }
  send(line);
}

void control_server::session::close() {
  closing = true;
  boost::system::error_code ignored;
  socket.shutdown(stream::socket::shutdown_both, ignored);
  socket.close(ignored);
  wake.cancel();
  drained.cancel();
}

awaitable<void> control_server::session::writer() {
  auto self = shared_from_this();
  while (!closing) {
    if (outbox.empty()) {
      if (draining) break;
      co_await wake.async_wait(asio::as_tuple(use_awaitable));
      continue;
    }
    std::string line = std::move(outbox.front());
    outbox.pop_front();
    asio::steady_timer deadline(socket.get_executor(), write_timeout);
    auto done = co_await (asio::async_write(socket, asio::buffer(line), asio::as_tuple(use_awaitable)) ||
                          deadline.async_wait(asio::as_tuple(use_awaitable)));
    queued_bytes -= line.size();
    if (done.index() == 1 || std::get<0>(std::get<0>(done))) break;
    if (!over_bound()) drained.cancel();
  }
  close();
  if (on_closed) on_closed();
}

}  // namespace vnumad::reactor
