#include "reactor/control_client.hpp"

#include <boost/json/parse.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

namespace vnumad::reactor {

namespace json = boost::json;

control_client::~control_client() {
  if (fd_ >= 0) ::close(fd_);
}

result<void> control_client::connect(const std::string& socket_path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof addr.sun_path)
    return make_error(errc::invalid_value, "socket path '" + socket_path + "' is too long");
  std::memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd_ < 0) return make_error(errc::io_error, std::string("socket: ") + std::strerror(errno));
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    int e = errno;
    ::close(fd_);
    fd_ = -1;
    errc code = (e == EACCES || e == EPERM) ? errc::permission_denied : errc::io_error;
    return make_error(code, "cannot connect to " + socket_path + ": " + std::strerror(e) +
                                (code == errc::io_error ? " (is vnumad running? see -c, -r)" : ""));
  }
  return {};
}

result<std::string> control_client::read_line(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (auto nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    int wait_ms = -1;
    if (timeout.count() >= 0) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return make_error(errc::timeout, "no reply from vnumad within " +
                                                                  std::to_string(timeout.count()) + " ms");
      wait_ms = static_cast<int>(left.count());
    }
    pollfd p{fd_, POLLIN, 0};
    int r = ::poll(&p, 1, wait_ms);
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return make_error(errc::io_error, std::string("poll: ") + std::strerror(errno));
    if (r == 0) continue;
    std::array<char, 65536> chunk;
    ssize_t n = ::read(fd_, chunk.data(), chunk.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(errc::io_error, std::string("read: ") + std::strerror(errno));
    if (n == 0) return make_error(errc::protocol_error, "vnumad closed the connection");
    buffer_.append(chunk.data(), static_cast<std::size_t>(n));
  }
}

result<json::value> control_client::call(const std::string& op, const json::object& args,
                                         std::chrono::milliseconds timeout) {
  if (fd_ < 0) return make_error(errc::io_error, "not connected");
  control_request request{json::value(next_id_++), op, args};
  std::string line = encode_request(request);
  for (std::size_t off = 0; off < line.size();) {
    ssize_t n = ::send(fd_, line.data() + off, line.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return make_error(errc::io_error, std::string("send: ") + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
  for (;;) {
    auto reply_line = read_line(timeout);
    if (!reply_line) return reply_line.error();
    boost::system::error_code ec;
    json::value reply = json::parse(*reply_line, ec);
    if (ec || !reply.is_object()) return make_error(errc::protocol_error, "malformed reply from vnumad: " + *reply_line);
    const json::object& o = reply.as_object();
    if (o.contains("event")) continue;  // events for an earlier subscription
    const json::value* id = o.if_contains("id");
    // A reply with a null id is the daemon refusing the connection itself.
    if (id && !id->is_null() && *id != request.id) continue;
    if (const json::value* ok = o.if_contains("ok"); ok && ok->is_bool() && ok->as_bool()) {
      const json::value* result = o.if_contains("result");
      return result ? *result : json::value(nullptr);
    }
    const json::value* err = o.if_contains("error");
    if (!err || !err->is_object()) return make_error(errc::protocol_error, "reply without result or error");
    const auto& eo = err->as_object();
    std::string code = eo.contains("code") && eo.at("code").is_string() ? std::string(eo.at("code").as_string()) : "";
    std::string message =
        eo.contains("message") && eo.at("message").is_string() ? std::string(eo.at("message").as_string()) : code;
    return make_error(errc_from_name(code), message);
  }
}

result<json::object> control_client::next_event(std::chrono::milliseconds timeout) {
  for (;;) {
    auto line = read_line(timeout);
    if (!line) return line.error();
    boost::system::error_code ec;
    json::value v = json::parse(*line, ec);
    if (ec || !v.is_object()) return make_error(errc::protocol_error, "malformed event from vnumad: " + *line);
    if (v.as_object().contains("event")) return v.as_object();
  }
}

errc errc_from_name(std::string_view name) {
  // Every kind has a name; the first value without one ends the list.
  for (int i = 0;; ++i) {
    std::string_view known = to_string(static_cast<errc>(i));
    if (known == "unknown") break;
    if (known == name) return static_cast<errc>(i);
  }
  return errc::protocol_error;
}

}  // namespace vnumad::reactor
