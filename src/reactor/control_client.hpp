// vnumactl's side of the control protocol: a blocking client, one request at a
// time, with a deadline on every reply.
#pragma once

#include "reactor/control_protocol.hpp"

#include <chrono>
#include <string>
#include <utility>

namespace vnumad::reactor {

inline constexpr const char* default_socket_path = "/run/vnumad/vnumad.sock";

class control_client {
 public:
  control_client() = default;
  ~control_client();
  control_client(const control_client&) = delete;
  control_client& operator=(const control_client&) = delete;

  // Names the socket in the error ("is vnumad running?").
  result<void> connect(const std::string& socket_path);
  // Sends {"id":N,"op":op,"args":args} and waits for the reply with that id.
  // An error reply becomes an error whose code is the daemon's.
  result<boost::json::value> call(const std::string& op, const boost::json::object& args,
                                  std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // After a stream verb's call (console): the socket, and the bytes already
  // read past the reply, which belong to the stream.
  int native_handle() const { return fd_; }
  std::string take_buffered() { return std::exchange(buffer_, {}); }
  // After call("events"), the next event line; timeout <0 waits forever.
  result<boost::json::object> next_event(std::chrono::milliseconds timeout = std::chrono::milliseconds(-1));

 private:
  result<std::string> read_line(std::chrono::milliseconds timeout);

  int fd_ = -1;
  std::string buffer_;
  std::uint64_t next_id_ = 1;
};

// Maps a daemon error code name ("not_found") back to errc.
errc errc_from_name(std::string_view name);

}  // namespace vnumad::reactor
