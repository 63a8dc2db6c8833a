#define BOOST_TEST_MODULE config_listen_address
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "config/listen_address.hpp"

namespace bdata = boost::unit_test::data;
using namespace vnumad::config;

struct good_case {
  const char* text;
  const char* address;
  unsigned port;
  bool ipv6;
};
std::ostream& operator<<(std::ostream& os, const good_case& c) { return os << c.text; }

BOOST_DATA_TEST_CASE(addresses_with_a_port_are_read,
                     bdata::make(std::vector<good_case>{{"127.0.0.1:9560", "127.0.0.1", 9560, false},
                                                        {"0.0.0.0:1", "0.0.0.0", 1, false},
                                                        {"[::1]:65535", "::1", 65535, true},
                                                        {"[::]:9560", "::", 9560, true},
                                                        {"[fe80::1:2]:80", "fe80::1:2", 80, true}}),
                     c) {
  auto r = parse_listen_address(c.text, "metrics_listen = x");
  BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
  BOOST_TEST(r->address == c.address);
  BOOST_TEST(r->port == c.port);
  BOOST_TEST(r->ipv6 == c.ipv6);
  BOOST_TEST(r->to_string() == c.text);
}

struct bad_case {
  const char* text;
  const char* says;
};
std::ostream& operator<<(std::ostream& os, const bad_case& c) { return os << c.text; }

BOOST_DATA_TEST_CASE(bad_addresses_are_refused_naming_the_setting_and_what_is_wrong,
                     bdata::make(std::vector<bad_case>{{"", "no ':PORT'"},
                                                       {"127.0.0.1", "no ':PORT'"},
                                                       {"127.0.0.1:", "port '' is not 1 to 65535"},
                                                       {"127.0.0.1:0", "port '0' is not 1 to 65535"},
                                                       {"127.0.0.1:65536", "port '65536' is not 1 to 65535"},
                                                       {"127.0.0.1:95x", "port '95x'"},
                                                       {"127.0.0.1:-1", "port '-1'"},
                                                       {"localhost:9560", "'localhost' is not an IPv4 address"},
                                                       {"256.0.0.1:9560", "'256.0.0.1' is not an IPv4 address"},
                                                       {"::1:9560", "an IPv6 address needs brackets"},
                                                       {"[::1]9560", "no ':PORT' after ']'"},
                                                       {"[::1:9560", "no ']'"},
                                                       {"[127.0.0.1]:9560", "'127.0.0.1' is not an IPv6 address"}}),
                     c) {
  auto r = parse_listen_address(c.text, std::string("metrics_listen = ") + c.text);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == vnumad::errc::invalid_value));
  BOOST_TEST(r.error().message.rfind(std::string("metrics_listen = ") + c.text + ": ", 0) == 0u, r.error().message);
  BOOST_TEST(r.error().message.find(c.says) != std::string::npos, r.error().message);
}
