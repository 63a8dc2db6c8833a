// Prometheus metrics over HTTP/1.x (GET /metrics), on a unix socket, a TCP
// address or both (vnumad.conf metrics_socket, metrics_listen; off unless
// one is set). Read-only: a scrape gathers figures and changes nothing.
//
// Whoever can reach the port can scrape, so nothing a client does may cost
// the daemon without bound, as on the control socket: at most max_clients
// connections at once over both listeners (more wait in the kernel's
// backlog), one request per connection, a request head of at most
// max_request_bytes, and the whole exchange within `timeout` (a client that
// sends slowly or does not read is closed). Scrapes share their figures: one
// gathering at a time, and a scrape within max_age of the last one gets its
// figures again, so a flood of scrapes costs one gathering per max_age. The
// gathering runs on its own, never cancelled by a client that goes away.
#pragma once

#include "config/listen_address.hpp"
#include "util/error.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace vnumad::reactor {

struct metrics_server_options {
  std::optional<std::filesystem::path> socket;   // mode 0666: the figures are the read-only socket's
  std::optional<config::listen_address> listen;
  std::size_t max_clients = 16;
  std::chrono::milliseconds timeout = std::chrono::seconds(10);
  std::size_t max_request_bytes = 8 * 1024;
  std::chrono::milliseconds max_age = std::chrono::seconds(1);
};

class metrics_server {
 public:
  // Gathers the figures and writes the exposition.
  using collector = std::function<boost::asio::awaitable<result<std::string>>()>;

  metrics_server(boost::asio::io_context& io, metrics_server_options options, collector collect);
  ~metrics_server();

  // Binds what the options name; errors name the setting and the address.
  result<void> open();
  void start();
  // Closes the listeners and every connection.
  void stop();

  struct shared;  // internal to metrics_server.cpp

 private:
  std::shared_ptr<shared> shared_;
};

}  // namespace vnumad::reactor
