// Which control socket a daemon command talks to, as virsh picks its
// connection: -c/--connect PATH (or --socket PATH) names it; else -r the
// read-only socket (readonly_socket of vnumad.conf, else
// /run/vnumad/vnumad-ro.sock); else $VNUMAD_SOCKET; else the socket of
// vnumad.conf; else /run/vnumad/vnumad.sock.
#pragma once

#include "config/daemon_config.hpp"
#include "util/error.hpp"

#include <optional>
#include <string>

namespace vnumad::cli {

inline constexpr const char* default_readonly_socket = "/run/vnumad/vnumad-ro.sock";

struct socket_request {
  std::optional<std::string> connect;  // -c/--connect or --socket
  bool readonly = false;               // -r
  std::optional<std::string> env;      // $VNUMAD_SOCKET
};

// `cfg`: vnumad.conf when there is one.
std::string choose_socket(const socket_request& request, const std::optional<config::daemon_config>& cfg);

// The above for this process: $VNUMAD_SOCKET and /etc/vnumad/vnumad.conf
// (read only when it decides: an unreadable or invalid file is an error then).
result<std::string> choose_socket(std::optional<std::string> connect, bool readonly);

}  // namespace vnumad::cli
