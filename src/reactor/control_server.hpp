// The control socket: one coroutine pair (reader, writer) per client, so a slow
// or stuck client never stalls another. Requests are size-limited; malformed
// ones get an error reply; peer credentials (SO_PEERCRED) decide access.
//
// Every local user may connect to the read-only socket, so nothing a client
// does may cost the daemon without bound (docs/control-protocol.md, Limits):
// each socket has its own budget of clients (so a flood of the read-only one
// never takes the read-write one's), each peer uid a share of it, a client
// that sends nothing is closed after the idle timeout, and a client that does
// not read its replies is not read from either. A spare fd is kept so that the
// daemon can still turn a client away when its fds run out.
#pragma once

#include "reactor/byte_stream.hpp"
#include "reactor/control_protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/local/stream_protocol.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <vector>
#include <string>
#include <sys/types.h>

namespace vnumad::reactor {

struct peer_credentials {
  pid_t pid = 0;
  uid_t uid = 0;
  gid_t gid = 0;
};

struct control_limits {
  // Clients at once, per socket (vnumad.conf control_max_clients). More wait
  // in the kernel's listen backlog, costing the daemon nothing.
  std::size_t max_clients = 128;
  // Clients at once per peer uid, per socket (control_max_clients_per_uid);
  // one more is told so and closed. Root has the socket's whole budget.
  std::size_t max_clients_per_uid = 16;
  // A client with no request in flight that sends nothing for this long is
  // closed (control_idle_timeout); event subscribers are exempt. 0: never.
  std::chrono::milliseconds idle_timeout = std::chrono::seconds(60);
  // Replies queued for a client beyond this many bytes: its requests are not
  // read until it reads; events beyond it drop the client.
  std::size_t max_queued_bytes = 64 * 1024;
};

// The clients one socket may hold: the configured number, but never more
// than a quarter of the fd limit, so the two sockets together leave the
// daemon half its fds for guests, QMP, cgroups and /proc.
std::size_t effective_max_clients(std::size_t configured, std::uint64_t fd_limit);

// Who sent a request, for its handler: the access of the socket it came
// from, and the means to subscribe its connection to events (every event,
// or one guest's).
struct control_peer {
  access_level access = access_level::read_only;
  std::function<void(std::optional<std::string> guest)> subscribe;
};

struct control_socket_options {
  std::filesystem::path path;                       // read-write socket, mode 0600 (0660 with a group)
  std::optional<gid_t> rw_group;                    // members may use the read-write socket
  std::optional<std::filesystem::path> readonly_path;  // anyone may connect; read-only verbs only (0666)
  std::set<std::string, std::less<>> readonly_ops;  // verbs allowed on read-only access (the verb table's)
  std::set<std::string, std::less<>> stream_ops;    // verbs that turn the connection into a byte stream (the table's)
  control_limits limits;
};

class control_server {
 public:
  using request_handler =
      std::function<boost::asio::awaitable<result<boost::json::value>>(const control_request&, const control_peer&)>;
  using stream_handler =
      std::function<boost::asio::awaitable<result<byte_stream>>(const control_request&, const control_peer&)>;

  control_server(boost::asio::io_context& io, control_socket_options options, request_handler handler);
  ~control_server();

  // Handles the verbs of options.stream_ops.
  void set_stream_handler(stream_handler handler) { stream_handler_ = std::move(handler); }
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
  // Sends an event to every subscribed client whose filter it passes (a
  // client subscribed to one guest gets only events naming that guest).
  void publish(const boost::json::object& event);
  std::size_t client_count() const;
  // The client budget of each socket after effective_max_clients.
  std::size_t max_clients() const { return max_clients_; }

  // Who may use which socket: root and the daemon's own user always, members
  // of rw_group on the read-write socket; anybody on the read-only one.
  static std::optional<access_level> decide_access(const peer_credentials& peer, bool readonly_socket,
                                                   const std::optional<gid_t>& rw_group);

 private:
  struct session;
  // One socket and its budget.
  struct listener {
    explicit listener(boost::asio::io_context& io, bool ro) : readonly(ro), slot_freed(io) {}
    std::unique_ptr<boost::asio::local::stream_protocol::acceptor> acceptor;
    std::string path;
    bool readonly;
    std::size_t clients = 0;
    std::map<uid_t, std::size_t> per_uid;
    boost::asio::steady_timer slot_freed;  // cancelled when a client of this socket leaves
    bool full_logged = false;
    unsigned generation = 0;               // bumped when rebind_missing() replaces the acceptor
  };
  boost::asio::awaitable<void> accept_loop(listener& l);
  void admit(listener& l, boost::asio::local::stream_protocol::socket socket);
  boost::asio::awaitable<void> serve(std::shared_ptr<session> s);
  // A stream verb (control_stream.cpp): false when it failed and the
  // connection goes on with requests; true when the stream ran and ended.
  // `pending`: what the client sent after the request line, sent first.
  boost::asio::awaitable<bool> run_stream(std::shared_ptr<session> s, const control_request& request,
                                          boost::json::value id, std::string& pending);
  void shed_one_connection(listener& l);

  boost::asio::io_context& io_;
  control_socket_options options_;
  request_handler handler_;
  stream_handler stream_handler_;
  listener rw_;
  listener ro_;
  std::size_t max_clients_ = 0;
  int spare_fd_ = -1;  // closed to accept-and-close one client when fds run out
  // Set by stop(); the accept loops hold it, so that they end without
  // touching a server that may be gone by the time they resume.
  std::shared_ptr<bool> stopped_ = std::make_shared<bool>(false);
  std::set<std::shared_ptr<session>> sessions_;
  // Acceptors replaced by rebind_missing(), closed; kept until the server
  // goes because their accept loops still refer to them until they return.
  std::vector<std::unique_ptr<boost::asio::local::stream_protocol::acceptor>> retired_;
};

// Listens on a unix socket at `path` with `mode` (and `group`), replacing a
// socket file left there by an earlier daemon but never any other file.
result<std::unique_ptr<boost::asio::local::stream_protocol::acceptor>> bind_socket(
    boost::asio::io_context& io, const std::filesystem::path& path, mode_t mode, std::optional<gid_t> group);

// Reads the peer of a connected unix socket.
result<peer_credentials> read_peer_credentials(int fd);
// Whether `peer` is in group `gid` (primary or supplementary, from /proc/PID/status).
bool peer_in_group(const peer_credentials& peer, gid_t gid);

}  // namespace vnumad::reactor
