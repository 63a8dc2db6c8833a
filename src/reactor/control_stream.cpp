// Stream verbs of the control server (console): after the OK reply the
// connection carries raw bytes both ways between the client and `far`.
// Both directions are bounded and neither ever blocks the daemon: bytes for
// the client go through the session's writer queue, and `far` is not read
// while that queue is over its bound (the guest's serial port then waits, as
// a real line with flow control would); the client is not read while a
// chunk for `far` is still being written. A client that takes no write for
// the writer's timeout is dropped, as any client.
#include "reactor/control_session.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <array>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using stream = asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;

namespace {

constexpr std::size_t chunk_bytes = 16 * 1024;

// Templates: the session type is private to control_server.
template <class Session>
awaitable<void> client_to_far(Session& s, stream::socket& far, std::string pending) {
  if (!pending.empty()) {
    auto [ec, n] = co_await asio::async_write(far, asio::buffer(pending), asio::as_tuple(use_awaitable));
    if (ec) co_return;
  }
  std::array<char, chunk_bytes> chunk;
  for (;;) {
    auto [ec, n] = co_await s.socket.async_read_some(asio::buffer(chunk), asio::as_tuple(use_awaitable));
    if (ec) co_return;
    auto [wec, written] = co_await asio::async_write(far, asio::buffer(chunk.data(), n), asio::as_tuple(use_awaitable));
    if (wec) co_return;
  }
}

template <class Session>
awaitable<void> far_to_client(Session& s, stream::socket& far) {
  std::array<char, chunk_bytes> chunk;
  for (;;) {
    while (s.over_bound() && !s.closing) co_await s.drained.async_wait(asio::as_tuple(use_awaitable));
    if (s.closing) co_return;
    auto [ec, n] = co_await far.async_read_some(asio::buffer(chunk), asio::as_tuple(use_awaitable));
    if (ec) co_return;
    s.send(std::string(chunk.data(), n));
  }
}

}  // namespace

awaitable<bool> control_server::run_stream(std::shared_ptr<session> s, const control_request& request, json::value id,
                                           std::string& pending) {
  result<byte_stream> opened = make_error(errc::protocol_error, "");
  try {
    // A stream verb does not subscribe its connection to events.
    control_peer peer{s->access, [](std::optional<std::string>) {}};
    opened = co_await stream_handler_(request, peer);
  } catch (const std::exception& e) {
    opened = make_error(errc::protocol_error, "internal error in \"" + request.op + "\": " + e.what());
  }
  if (s->closing) {
    if (opened && opened->far) opened->far->close();
    co_return true;
  }
  if (!opened) {
    s->send(encode_error(id, opened.error()));
    co_return false;
  }
  s->send(encode_ok(id, opened->reply));
  std::shared_ptr<stream::socket> far = opened->far;
  std::string input = std::move(pending);
  pending.clear();
  co_await (client_to_far(*s, *far, std::move(input)) || far_to_client(*s, *far));
  boost::system::error_code ignored;
  far->shutdown(stream::socket::shutdown_both, ignored);
  far->close(ignored);
  co_return true;
}

}  // namespace vnumad::reactor
