#include "reactor/control_server.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/json/serialize.hpp>

#include <cerrno>
#include <cstring>
#include <deque>
#include <fstream>
#include <sstream>
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
// A client that lets this many replies/events pile up unread is dropped.
constexpr std::size_t max_outbox = 1024;
// A write that cannot complete in this time means the client is stuck.
constexpr auto write_timeout = 10s;
}  // namespace

struct control_server::session : std::enable_shared_from_this<session> {
  explicit session(stream::socket s) : socket(std::move(s)), wake(socket.get_executor()) {
    wake.expires_at(std::chrono::steady_clock::time_point::max());
  }
  stream::socket socket;
  asio::steady_timer wake;  // single-threaded condition variable for the writer
  std::deque<std::string> outbox;
  access_level access = access_level::read_only;
  bool subscribed = false;
  bool closing = false;
  bool draining = false;  // the reader is done: close once the outbox is empty
  std::function<void()> on_closed;

  void send(std::string line) {
    if (closing) return;
    if (outbox.size() >= max_outbox) {
      close();
      return;
    }
    outbox.push_back(std::move(line));
    wake.cancel_one();
  }
  void close() {
    closing = true;
    boost::system::error_code ignored;
    socket.shutdown(stream::socket::shutdown_both, ignored);
    socket.close(ignored);
    wake.cancel();
  }

  awaitable<void> writer() {
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
      if (done.index() == 1 || std::get<0>(std::get<0>(done))) {
        close();
        break;
      }
    }
    close();
    if (on_closed) on_closed();
  }
};

control_server::control_server(asio::io_context& io, control_socket_options options, request_handler handler)
    : io_(io), options_(std::move(options)), handler_(std::move(handler)) {}

control_server::~control_server() { stop(); }

namespace {

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

}  // namespace

result<void> control_server::open() {
  auto rw = bind_socket(io_, options_.path, options_.rw_group ? 0660 : 0600, options_.rw_group);
  if (!rw) return rw.error();
  rw_acceptor_ = std::move(*rw);
  if (options_.readonly_path) {
    auto ro = bind_socket(io_, *options_.readonly_path, 0666, std::nullopt);
    if (!ro) return ro.error();
    ro_acceptor_ = std::move(*ro);
  }
  return {};
}

void control_server::start() {
  auto spawn_loop = [this](stream::acceptor& acceptor, bool readonly) {
    asio::co_spawn(io_, [this, &acceptor, readonly]() -> awaitable<void> { co_await accept_loop(acceptor, readonly); },
                   asio::detached);
  };
  if (rw_acceptor_) spawn_loop(*rw_acceptor_, false);
  if (ro_acceptor_) spawn_loop(*ro_acceptor_, true);
}

std::vector<std::filesystem::path> control_server::rebind_missing() {
  std::vector<std::filesystem::path> rebound;
  auto rebind = [&](std::unique_ptr<stream::acceptor>& current, const std::filesystem::path& path, mode_t mode,
                    std::optional<gid_t> group, bool readonly) {
    struct stat st {};
    if (!current || ::lstat(path.c_str(), &st) == 0) return;
    auto fresh = bind_socket(io_, path, mode, group);
    if (!fresh) return;  // tried again on the next check
    boost::system::error_code ignored;
    current->close(ignored);
    retired_.push_back(std::move(current));
    current = std::move(*fresh);
    stream::acceptor& acceptor = *current;
    asio::co_spawn(io_, [this, &acceptor, readonly]() -> awaitable<void> { co_await accept_loop(acceptor, readonly); },
                   asio::detached);
    rebound.push_back(path);
  };
  rebind(rw_acceptor_, options_.path, options_.rw_group ? 0660 : 0600, options_.rw_group, false);
  if (options_.readonly_path) rebind(ro_acceptor_, *options_.readonly_path, 0666, std::nullopt, true);
  return rebound;
}

void control_server::stop() {
  boost::system::error_code ignored;
  if (rw_acceptor_) rw_acceptor_->close(ignored);
  if (ro_acceptor_) ro_acceptor_->close(ignored);
  for (const auto& old : retired_) old->close(ignored);
  for (const auto& s : sessions_) {
    s->on_closed = nullptr;  // the server may be gone when the writer finishes
    s->close();
  }
  sessions_.clear();
}

void control_server::publish(const json::object& event) {
  std::string line = json::serialize(event) + "\n";
  for (const auto& s : sessions_)
    if (s->subscribed) s->send(line);
}

std::size_t control_server::client_count() const { return sessions_.size(); }

std::optional<access_level> control_server::decide_access(const peer_credentials& peer, bool readonly_socket,
                                                          const std::optional<gid_t>& rw_group) {
  if (peer.uid == 0 || peer.uid == ::geteuid()) return readonly_socket ? access_level::read_only : access_level::read_write;
  if (readonly_socket) return access_level::read_only;
  if (rw_group && peer_in_group(peer, *rw_group)) return access_level::read_write;
  return std::nullopt;
}

awaitable<void> control_server::accept_loop(stream::acceptor& acceptor, bool readonly) {
  for (;;) {
    auto [ec, socket] = co_await acceptor.async_accept(asio::as_tuple(use_awaitable));
    if (ec) {
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      continue;  // e.g. EMFILE: keep serving the clients we have
    }
    auto s = std::make_shared<session>(std::move(socket));
    auto peer = read_peer_credentials(s->socket.native_handle());
    auto access = peer ? decide_access(*peer, readonly, options_.rw_group) : std::nullopt;
    if (!access) {
      std::string reply = encode_error(nullptr, make_error(errc::permission_denied,
                                                           peer ? "uid " + std::to_string(peer->uid) +
                                                                      " may not use this socket (root or the "
                                                                      "socket_group of vnumad.conf only)"
                                                                : peer.error().message));
      boost::system::error_code ignored;
      asio::write(s->socket, asio::buffer(reply), ignored);
      s->close();
      continue;
    }
    s->access = *access;
    s->on_closed = [this, weak = std::weak_ptr<session>(s)] {
      if (auto locked = weak.lock()) sessions_.erase(locked);
    };
    sessions_.insert(s);
    asio::co_spawn(io_, [s]() -> awaitable<void> { co_await s->writer(); }, asio::detached);
    asio::co_spawn(
        io_,
        [this, s]() -> awaitable<void> {
          std::string buffer;
          while (!s->closing) {
            auto [ec, n] = co_await asio::async_read_until(
                s->socket, asio::dynamic_buffer(buffer, max_request_bytes + 1), '\n', asio::as_tuple(use_awaitable));
            if (ec == asio::error::not_found) {
              s->send(encode_error(nullptr, make_error(errc::protocol_error,
                                                       "request over the limit of " +
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
              s->send(encode_error(id, make_error(errc::permission_denied, "\"" + request->op +
                                                                               "\" needs the read-write socket")));
              continue;
            }
            if (request->op == "events") {
              s->subscribed = true;
              s->send(encode_ok(id, json::object{{"subscribed", true}}));
              continue;
            }
            // A verb that throws is a bug; the client still gets an answer and
            // the connection stays up.
            result<json::value> reply = json::value();
            try {
              reply = co_await handler_(*request, s->access);
            } catch (const std::exception& e) {
              reply = make_error(errc::protocol_error, "internal error in \"" + request->op + "\": " + e.what());
            }
            if (s->closing) break;
            s->send(reply ? encode_ok(id, *reply) : encode_error(id, reply.error()));
          }
          // The writer flushes what is queued, then closes the connection.
          s->draining = true;
          s->wake.cancel_one();
        },
        asio::detached);
  }
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
