// QMP transport: one connection to one QEMU's monitor socket. Commands carry
// ids so several can be in flight; one reader coroutine per connection
// dispatches replies to the waiting callers by id and hands events to the
// owner. Encoding of individual commands lives in qmp_commands.hpp.
#pragma once

#include "qmp/qmp_message.hpp"
#include "util/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/json.hpp>

#include <chrono>
#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace vnumad::qmp {

class qmp_client {
 public:
  using event_handler = std::function<void(const qmp_event&)>;
  // Called once when the peer ends the connection (EOF, read/write error,
  // protocol violation), with the reason. Not called after close().
  using close_handler = std::function<void(const error&)>;

  // Events kept for next_event() when nobody collects them; the oldest are
  // dropped beyond this, so an owner that only uses the callback never grows.
  static constexpr std::size_t max_queued_events = 256;

  explicit qmp_client(boost::asio::any_io_executor executor, std::size_t max_line = default_max_line);
  // Closes the connection; coroutines still suspended in execute() complete
  // with an error, and the reader stops without calling back.
  ~qmp_client();
  qmp_client(const qmp_client&) = delete;
  qmp_client& operator=(const qmp_client&) = delete;

  // Connects to the unix socket at `path`, retrying while it does not exist
  // yet or refuses (QEMU creates it shortly after it starts), then starts the
  // reader. errc::timeout when the deadline passes, io_error for other errors.
  boost::asio::awaitable<result<void>> connect(std::string path, std::chrono::milliseconds timeout);

  // Waits for the greeting and sends qmp_capabilities. Returns the greeting's
  // "version" object ({"qemu": {"major", "minor", "micro"}, "package"}).
  boost::asio::awaitable<result<boost::json::value>> negotiate(std::chrono::milliseconds timeout);

  // Sends one command and waits for its reply. A QMP error reply is
  // errc::qmp_error ("device_add: GenericError: <QEMU's desc>"); no reply in
  // time is errc::timeout (a late reply is then dropped); a connection that
  // ends first is errc::protocol_error "QMP connection closed ...".
  boost::asio::awaitable<result<boost::json::value>> execute(std::string command, boost::json::object arguments,
                                                             std::chrono::milliseconds timeout);
  boost::asio::awaitable<result<boost::json::value>> execute(qmp_command command, std::chrono::milliseconds timeout);

  // The next event not yet taken, in arrival order (events that came before
  // the call are returned first). errc::timeout when none arrives in time,
  // protocol_error when the connection ends with none left.
  boost::asio::awaitable<result<qmp_event>> next_event(std::chrono::milliseconds timeout);

  // The callback runs on the reader coroutine for every event, before the
  // event is queued for next_event(). It must not throw (it is logged if it does).
  void on_event(event_handler handler);
  void on_close(close_handler handler);

  void close();
  bool is_open() const;
  // Set once negotiate() has seen it.
  const std::optional<qmp_greeting>& greeting() const;
  // Events dropped from the queue because nobody collected them.
  std::size_t dropped_events() const;

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vnumad::qmp
