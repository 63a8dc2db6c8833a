// A TCP address to listen on, as vnumad.conf writes it: ADDR:PORT with a
// literal IPv4 address or a bracketed IPv6 one ("127.0.0.1:9560",
// "[::1]:9560", "0.0.0.0:9560"). No host names: what a daemon listens on is
// decided when the file is read, not by a resolver later.
#pragma once

#include "util/error.hpp"

#include <cstdint>
#include <string>
#include <string_view>

namespace vnumad::config {

struct listen_address {
  std::string address;  // without brackets: "127.0.0.1", "::1"
  std::uint16_t port = 0;
  bool ipv6 = false;

  // ADDR:PORT again, brackets around IPv6.
  std::string to_string() const;
};

// `what` names the setting in errors ("metrics_listen = x").
result<listen_address> parse_listen_address(std::string_view text, std::string_view what);

}  // namespace vnumad::config
