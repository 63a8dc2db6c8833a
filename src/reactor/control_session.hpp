// One client of the control server (internal to control_server.cpp and
// control_session.cpp): its socket, the replies queued for it, and the writer
// coroutine that sends them.
#pragma once

#include "reactor/control_server.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <deque>
#include <functional>
#include <optional>
#include <string>

namespace vnumad::reactor {

struct control_server::session : std::enable_shared_from_this<session> {
  session(boost::asio::local::stream_protocol::socket s, std::size_t max_queued);

  boost::asio::local::stream_protocol::socket socket;
  boost::asio::steady_timer wake;     // single-threaded condition variable for the writer
  boost::asio::steady_timer drained;  // ... and for the reader, once the queue is under its bound
  std::deque<std::string> outbox;
  std::size_t queued_bytes = 0;       // of outbox and the line being written
  std::size_t max_queued;
  access_level access = access_level::read_only;
  uid_t uid = 0;
  bool subscribed = false;
  std::optional<std::string> guest_filter;  // subscribed to this guest's events only
  bool closing = false;
  bool draining = false;  // the reader is done: close once the outbox is empty
  std::function<void()> on_closed;

  // A reply: always queued (the reader stops reading while the queue is over
  // its bound, so replies cannot pile up).
  void send(std::string line);
  // An event: a subscriber that lets them pile up past the bound is dropped.
  void send_event(const std::string& line);
  bool over_bound() const { return queued_bytes > max_queued; }
  void close();
  boost::asio::awaitable<void> writer();
};

}  // namespace vnumad::reactor
