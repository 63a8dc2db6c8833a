#include "config/listen_address.hpp"

#include <arpa/inet.h>
#include <charconv>
#include <netinet/in.h>

namespace vnumad::config {

std::string listen_address::to_string() const {
  return (ipv6 ? "[" + address + "]" : address) + ":" + std::to_string(port);
}

result<listen_address> parse_listen_address(std::string_view text, std::string_view what) {
  const std::string where(what);
  auto bad = [&](const std::string& why) {
    return make_error(errc::invalid_value,
                      where + ": " + why + " (expected ADDR:PORT with an IP address, e.g. 127.0.0.1:9560 or [::1]:9560)");
  };
  listen_address out;
  std::string_view host, port;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) return bad("no ']' after the IPv6 address");
    host = text.substr(1, close - 1);
    if (close + 1 >= text.size() || text[close + 1] != ':') return bad("no ':PORT' after ']'");
    port = text.substr(close + 2);
    out.ipv6 = true;
  } else {
    const auto colon = text.rfind(':');
    if (colon == std::string_view::npos) return bad("no ':PORT'");
    host = text.substr(0, colon);
    port = text.substr(colon + 1);
    if (host.find(':') != std::string_view::npos) return bad("an IPv6 address needs brackets");
  }
  out.address = std::string(host);
  unsigned char buf[sizeof(in6_addr)];
  if (::inet_pton(out.ipv6 ? AF_INET6 : AF_INET, out.address.c_str(), buf) != 1)
    return bad("'" + out.address + "' is not an " + (out.ipv6 ? "IPv6" : "IPv4") + " address");
  unsigned value = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535)
    return bad("port '" + std::string(port) + "' is not 1 to 65535");
  out.port = static_cast<std::uint16_t>(value);
  return out;
}

}  // namespace vnumad::config
