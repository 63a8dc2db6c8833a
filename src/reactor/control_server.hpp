// The control socket: one coroutine pair (reader, writer) per client, so a slow
// or stuck client never stalls another. Requests are size-limited; malformed
// ones get an error reply; peer credentials (SO_PEERCRED) decide access.
#pragma once

#include "reactor/control_protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <vector>
#include <string>
#include <sys/types.h>

namespace vnumad::reactor {

enum class access_level { read_only, read_write };

struct peer_credentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct control_socket_options {
  std::filesystem::path path;                       // read-write socket, mode 0600 (0660 with a group)
  std::optional<gid_t> rw_group;                    // members may use the read-write socket
  std::optional<std::filesystem::path> readonly_path;  // anyone may connect; read-only verbs only (0666)
  std::set<std::string, std::less<>> readonly_ops;  // verbs allowed on read-only access
};

class control_server {
 public:
  using request_handler =
      std::function<boost::asio::awaitable<result<boost::json::value>>(const control_request&, access_level)>;

  control_server(boost::asio::io_context& io, control_socket_options options, request_handler handler);
  ~control_server();

  // Binds the sockets (replacing stale socket files) and sets their modes.
  result<void> open();
  // Starts accepting; returns at once.
  void start();
  // Listens again on each socket whose file is gone (deleted while the
  // daemon runs: clients could no longer connect). Returns the paths bound
  // again; clients already connected keep their sessions.
  std::vector<std::filesystem::path> rebind_missing();
  // Closes the listening sockets and every client.
  void stop();
  // Sends an event to every client that asked for "events".
  void publish(const boost::json::object& event);
  std::size_t client_count() const;

  // Who may use which socket: root and the daemon's own user always, members
  // of rw_group on the read-write socket; anybody on the read-only one.
  static std::optional<access_level> decide_access(const peer_credentials& peer, bool readonly_socket,
                                                   const std::optional<gid_t>& rw_group);

 private:
  struct session;
  boost::asio::awaitable<void> accept_loop(boost::asio::local::stream_protocol::acceptor& acceptor, bool readonly);

  boost::asio::io_context& io_;
  control_socket_options options_;
  request_handler handler_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> rw_acceptor_;
  std::unique_ptr<boost::asio::local::stream_protocol::acceptor> ro_acceptor_;
  std::set<std::shared_ptr<session>> sessions_;
  // Acceptors replaced by rebind_missing(), closed; kept until the server
  // goes because their accept loops still refer to them until they return.
  std::vector<std::unique_ptr<boost::asio::local::stream_protocol::acceptor>> retired_;
};

// Reads the peer of a connected unix socket.
result<peer_credentials> read_peer_credentials(int fd);
// Whether `peer` is in group `gid` (primary or supplementary, from /proc/PID/status).
bool peer_in_group(const peer_credentials& peer, gid_t gid);

}  // namespace vnumad::reactor
