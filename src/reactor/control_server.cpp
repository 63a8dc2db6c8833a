#include "reactor/control_server.hpp"

#include "reactor/control_session.hpp"
#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using asio::use_awaitable;
using stream = asio::local::stream_protocol;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

namespace {

// A failing accept (fds exhausted) is retried after this, doubling up to the
// maximum: never a busy loop.
constexpr auto first_backoff = 50ms;
constexpr auto max_backoff = 1s;

std::uint64_t fd_limit() {
  rlimit r{};
  if (::getrlimit(RLIMIT_NOFILE, &r) != 0 || r.rlim_cur == RLIM_INFINITY) return 1 << 20;
  return r.rlim_cur;
}

bool out_of_fds(const boost::system::error_code& ec) {
  return ec == asio::error::no_descriptors || ec.value() == ENFILE || ec.value() == ENOBUFS ||
         ec.value() == ENOMEM;
}

std::string socket_name(bool readonly) { return readonly ? "read-only control socket" : "control socket"; }

}  // namespace

result<std::unique_ptr<stream::acceptor>> bind_socket(asio::io_context& io, const std::filesystem::path& path,
                                                      mode_t mode, std::optional<gid_t> group) {
  std::error_code ec;
  std::filesystem::create_directories(path.parent_path(), ec);
  // A socket file left by a previous daemon would make bind fail; anything else
  // at that path is not ours to remove.
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode))
      return make_error(errc::io_error, path.string() + ": exists and is not a socket; refusing to replace it");
    ::unlink(path.c_str());
  }
  auto acceptor = std::make_unique<stream::acceptor>(io);
  boost::system::error_code bec;
  acceptor->open(stream(), bec);
  if (!bec) acceptor->bind(stream::endpoint(path.string()), bec);
  if (!bec) acceptor->listen(asio::socket_base::max_listen_connections, bec);
  if (bec) return make_error(errc::io_error, path.string() + ": cannot listen: " + bec.message());
  if (group && ::chown(path.c_str(), 0, *group) != 0)
    return make_error(errc::io_error, path.string() + ": chown to group " + std::to_string(*group) +
                                          " failed: " + std::strerror(errno));
  if (::chmod(path.c_str(), mode) != 0)
    return make_error(errc::io_error, path.string() + ": chmod failed: " + std::strerror(errno));
  return acceptor;
}

namespace {

// Tells a client it is turned away, without waiting for it (the socket is
// fresh: a line this short fits its buffer).
void refuse(stream::socket& socket, const error& e) {
  std::string reply = encode_error(nullptr, e);
  (void)!::send(socket.native_handle(), reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
  boost::system::error_code ignored;
  socket.close(ignored);
}

}  // namespace

std::size_t effective_max_clients(std::size_t configured, std::uint64_t limit) {
  return std::max<std::size_t>(1, std::min<std::uint64_t>(configured, limit / 4));
}

control_server::control_server(asio::io_context& io, control_socket_options options, request_handler handler)
    : io_(io), options_(std::move(options)), handler_(std::move(handler)), rw_(io, false), ro_(io, true) {}

control_server::~control_server() {
  stop();
  if (spare_fd_ >= 0) ::close(spare_fd_);
}

result<void> control_server::open() {
  stopped_ = std::make_shared<bool>(false);  // loops of an earlier open() keep the old flag
  auto rw = bind_socket(io_, options_.path, options_.rw_group ? 0660 : 0600, options_.rw_group);
  if (!rw) return rw.error();
  rw_.acceptor = std::move(*rw);
  rw_.path = options_.path.string();
  if (options_.readonly_path) {
    auto ro = bind_socket(io_, *options_.readonly_path, 0666, std::nullopt);
    if (!ro) return ro.error();
    ro_.acceptor = std::move(*ro);
    ro_.path = options_.readonly_path->string();
  }
  if (spare_fd_ < 0) spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  max_clients_ = effective_max_clients(options_.limits.max_clients, fd_limit());
  return {};
}

void control_server::start() {
  const auto& lim = options_.limits;
  log(log_level::info, "control sockets: at most " + std::to_string(max_clients_) + " clients each (" +
                           std::to_string(std::min(lim.max_clients_per_uid, max_clients_)) + " per uid), idle timeout " +
                           std::to_string(lim.idle_timeout.count() / 1000) + " s");
  for (listener* l : {&rw_, &ro_})
    if (l->acceptor)
      spawn_logged(io_, "control socket accept loop", [this, l]() -> awaitable<void> { co_await accept_loop(*l); });
}

std::vector<std::filesystem::path> control_server::rebind_missing() {
  std::vector<std::filesystem::path> rebound;
  auto rebind = [&](listener& l, const std::filesystem::path& path, mode_t mode, std::optional<gid_t> group) {
    struct stat st {};
    if (!l.acceptor || ::lstat(path.c_str(), &st) == 0) return;
    auto fresh = bind_socket(io_, path, mode, group);
    if (!fresh) return;  // tried again on the next check
    boost::system::error_code ignored;
    l.acceptor->close(ignored);
    retired_.push_back(std::move(l.acceptor));
    l.acceptor = std::move(*fresh);
    // The old loop ends at its next wake-up (generation_of), the new one
    // accepts on the fresh socket.
    ++l.generation;
    l.slot_freed.cancel();
    spawn_logged(io_, "control socket accept loop", [this, &l]() -> awaitable<void> { co_await accept_loop(l); });
    rebound.push_back(path);
  };
  rebind(rw_, options_.path, options_.rw_group ? 0660 : 0600, options_.rw_group);
  if (options_.readonly_path) rebind(ro_, *options_.readonly_path, 0666, std::nullopt);
  return rebound;
}

void control_server::stop() {
  *stopped_ = true;
  boost::system::error_code ignored;
  for (listener* l : {&rw_, &ro_}) {
    if (l->acceptor) l->acceptor->close(ignored);
    l->slot_freed.cancel();
  }
  for (const auto& old : retired_) old->close(ignored);
  for (const auto& s : sessions_) {
    s->on_closed = nullptr;  // the server may be gone when the writer finishes
    s->close();
  }
  sessions_.clear();
}

void control_server::publish(const json::object& event) {
  std::string line = json::serialize(event) + "\n";
  const json::value* guest = event.if_contains("guest");
  for (const auto& s : sessions_) {
    if (!s->subscribed) continue;
    if (s->guest_filter && !(guest && guest->is_string() && guest->get_string() == *s->guest_filter)) continue;
    s->send_event(line);
  }
}

std::size_t control_server::client_count() const { return sessions_.size(); }

std::optional<access_level> control_server::decide_access(const peer_credentials& peer, bool readonly_socket,
                                                          const std::optional<gid_t>& rw_group) {
  if (peer.uid == 0 || peer.uid == ::geteuid()) return readonly_socket ? access_level::read_only : access_level::read_write;
  if (readonly_socket) return access_level::read_only;
  if (rw_group && peer_in_group(peer, *rw_group)) return access_level::read_write;
  return std::nullopt;
}

// Out of fds, accept fails and the client stays in the backlog, so the next
// accept fails at once: the classic busy loop. The spare fd makes room to take
// the waiting clients one at a time, tell them and close them; then the spare
// is taken back.
void control_server::shed_one_connection(listener& l) {
  if (spare_fd_ >= 0) {
    ::close(spare_fd_);
    spare_fd_ = -1;
  }
  // A bounded batch per back-off round: the waiting clients get an answer
  // soon, and a client that keeps connecting cannot keep the loop busy.
  const std::string reply =
      encode_error(nullptr, make_error(errc::io_error, "vnumad is out of file descriptors; try again later"));
  for (int i = 0; i < 32; ++i) {
    int fd = ::accept4(l.acceptor->native_handle(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK);
    if (fd < 0) break;
    (void)!::send(fd, reply.data(), reply.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    ::close(fd);
  }
  spare_fd_ = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
}

awaitable<void> control_server::accept_loop(listener& l) {
  const std::shared_ptr<bool> stopped = stopped_;
  const unsigned generation = l.generation;  // a rebound socket gets a new loop
  auto done = [&] { return *stopped || l.generation != generation; };
  auto backoff = first_backoff;
  bool failing = false;
  asio::steady_timer pause(io_);
  for (;;) {
    if (l.clients >= max_clients_) {
      // Full: leave new clients in the backlog until one leaves.
      if (!l.full_logged)
        log(log_level::warning, socket_name(l.readonly) + " " + l.path + ": " + std::to_string(l.clients) +
                                    " clients, its limit (control_max_clients): new ones wait until one leaves");
      l.full_logged = true;
      l.slot_freed.expires_at(std::chrono::steady_clock::time_point::max());
      co_await l.slot_freed.async_wait(asio::as_tuple(use_awaitable));
      if (done()) co_return;
      continue;
    }
    if (l.clients <= max_clients_ / 2) l.full_logged = false;
    auto [ec, socket] = co_await l.acceptor->async_accept(asio::as_tuple(use_awaitable));
    if (done()) co_return;
    if (ec) {
      if (ec == asio::error::operation_aborted || !l.acceptor->is_open()) co_return;
      if (out_of_fds(ec)) shed_one_connection(l);
      if (!failing)
        log(log_level::error, socket_name(l.readonly) + " " + l.path + ": accept failed: " + ec.message() +
                                  "; retrying with back-off (logged once until it works again)");
      failing = true;
      pause.expires_after(backoff);
      co_await pause.async_wait(asio::as_tuple(use_awaitable));
      if (done()) co_return;
      backoff = std::min<std::chrono::milliseconds>(backoff * 2, max_backoff);
      continue;
    }
    if (failing) log(log_level::info, socket_name(l.readonly) + " " + l.path + ": accepting clients again");
    failing = false;
    backoff = first_backoff;
    admit(l, std::move(socket));
  }
}

void control_server::admit(listener& l, stream::socket socket) {
  auto peer = read_peer_credentials(socket.native_handle());
  auto access = peer ? decide_access(*peer, l.readonly, options_.rw_group) : std::nullopt;
  if (!access) {
    refuse(socket, make_error(errc::permission_denied,
                              peer ? "uid " + std::to_string(peer->uid) +
                                         " may not use this socket (root or the socket_group of vnumad.conf only)"
                                   : peer.error().message));
    return;
  }
  // Root is bounded by the socket's budget alone: its scripts may run many
  // vnumactl at once, and a root that waits in the backlog is better served
  // than one turned away.
  const std::size_t per_uid = std::min(options_.limits.max_clients_per_uid, max_clients_);
  if (peer->uid != 0 && l.per_uid[peer->uid] >= per_uid) {
    refuse(socket, make_error(errc::busy, "uid " + std::to_string(peer->uid) + " already has " +
                                              std::to_string(per_uid) + " connections to this socket, the limit "
                                              "(control_max_clients_per_uid of vnumad.conf); close one first"));
    return;
  }
  auto s = std::make_shared<session>(std::move(socket), options_.limits.max_queued_bytes);
  s->access = *access;
  s->uid = peer->uid;
  ++l.clients;
  ++l.per_uid[s->uid];
  s->on_closed = [this, &l, weak = std::weak_ptr<session>(s)] {
    auto locked = weak.lock();
    if (!locked) return;
    sessions_.erase(locked);
    --l.clients;
    if (--l.per_uid[locked->uid] == 0) l.per_uid.erase(locked->uid);
    l.slot_freed.cancel();
  };
  sessions_.insert(s);
  spawn_logged(io_, "control session writer", [s]() -> awaitable<void> { co_await s->writer(); });
  spawn_logged(io_, "control session", serve(s));
}

awaitable<void> control_server::serve(std::shared_ptr<session> s) {
  const auto idle = options_.limits.idle_timeout;
  std::string buffer;
  while (!s->closing) {
    // A client that does not read its replies is not read from either.
    while (s->over_bound() && !s->closing) co_await s->drained.async_wait(asio::as_tuple(use_awaitable));
    if (s->closing) break;
    if (buffer.empty()) buffer.shrink_to_fit();  // an idle client holds no buffer
    auto read = asio::async_read_until(s->socket, asio::dynamic_buffer(buffer, max_request_bytes + 1), '\n',
                                       asio::as_tuple(use_awaitable));
    boost::system::error_code ec;
    std::size_t n = 0;
    if (idle.count() > 0 && !s->subscribed) {
      asio::steady_timer timer(s->socket.get_executor(), idle);
      auto done = co_await (std::move(read) || timer.async_wait(asio::as_tuple(use_awaitable)));
      if (done.index() == 1) {
        s->send(encode_error(nullptr, make_error(errc::timeout, "no request for " + std::to_string(idle.count() / 1000) +
                                                                   " s: closing (control_idle_timeout of vnumad.conf)")));
        break;
      }
      std::tie(ec, n) = std::get<0>(done);
    } else {
      std::tie(ec, n) = co_await std::move(read);
    }
    if (ec == asio::error::not_found) {
      s->send(encode_error(nullptr, make_error(errc::protocol_error, "request over the limit of " +
                                                                         std::to_string(max_request_bytes) + " bytes")));
      break;
    }
    if (ec) break;
    std::string line = buffer.substr(0, n - 1);
    buffer.erase(0, n);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    json::value id;
    auto request = parse_request(line, id);
    if (!request) {
      s->send(encode_error(id, request.error()));
      continue;
    }
    if (s->access == access_level::read_only && !options_.readonly_ops.contains(request->op)) {
      s->send(encode_error(id, make_error(errc::permission_denied, "\"" + request->op + "\" needs the read-write socket")));
      continue;
    }
    if (stream_handler_ && options_.stream_ops.contains(request->op)) {
      // Bytes the client sent after the request line belong to the stream.
      if (co_await run_stream(s, *request, id, buffer)) break;
      continue;
    }
    // A verb that throws is a bug; the client still gets an answer and the
    // connection stays up.
    result<json::value> reply = json::value();
    try {
      control_peer peer{s->access, [s](std::optional<std::string> guest) {
                          s->subscribed = true;
                          s->guest_filter = std::move(guest);
                        }};
      reply = co_await handler_(*request, peer);
    } catch (const std::exception& e) {
      reply = make_error(errc::protocol_error, "internal error in \"" + request->op + "\": " + e.what());
    }
    if (s->closing) break;
    s->send(reply ? encode_ok(id, *reply) : encode_error(id, reply.error()));
  }
  // The writer flushes what is queued, then closes the connection.
  s->draining = true;
  s->wake.cancel_one();
}

result<peer_credentials> read_peer_credentials(int fd) {
  ucred cred{};
  socklen_t len = sizeof cred;
  if (::getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) != 0)
    return make_error(errc::permission_denied, std::string("SO_PEERCRED failed: ") + std::strerror(errno));
  return peer_credentials{cred.pid, cred.uid, cred.gid};
}

bool peer_in_group(const peer_credentials& peer, gid_t gid) {
  if (peer.gid == gid) return true;
  std::ifstream status("/proc/" + std::to_string(peer.pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("Groups:", 0) != 0) continue;
    std::istringstream groups(line.substr(7));
    gid_t g;
    while (groups >> g)
      if (g == gid) return true;
  }
  return false;
}

}  // namespace vnumad::reactor
