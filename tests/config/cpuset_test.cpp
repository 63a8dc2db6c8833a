#define BOOST_TEST_MODULE config_cpuset
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "config/cpuset.hpp"

#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using vnumad::errc;
using vnumad::config::format_id_ranges;
using vnumad::config::format_id_set;
using vnumad::config::id_set;
using vnumad::config::parse_id_set;

namespace {

struct good_case {
  std::string text;
  id_set expected;
  std::string formatted;
};
std::ostream& operator<<(std::ostream& os, const good_case& c) { return os << c.text; }

const std::vector<good_case> good{
    {"0", {0}, "0"},
    {"0-3", {0, 1, 2, 3}, "0-3"},
    {"0-3,^2", {0, 1, 3}, "0-1,3"},
    {"0-3,8", {0, 1, 2, 3, 8}, "0-3,8"},
    {"0-14,60-74", [] { id_set s; for (unsigned i = 0; i <= 14; ++i) s.insert(i); for (unsigned i = 60; i <= 74; ++i) s.insert(i); return s; }(), "0-14,60-74"},
    {" 1 , 3 ", {1, 3}, "1,3"},
    {"0 - 2", {0, 1, 2}, "0-2"},
    {"5,1,3", {1, 3, 5}, "1,3,5"},
    {"2-2", {2}, "2"},
    {"0-5,^0,^5", {1, 2, 3, 4}, "1-4"},
    {"^1,0-2", {0, 2}, "0,2"},
    {"16383", {16383}, "16383"},
    {"0,0,0", {0}, "0"},
};

struct bad_case {
  std::string text;
  std::string fragment;  // part of the message that says what is wrong
};
std::ostream& operator<<(std::ostream& os, const bad_case& c) { return os << c.text; }

const std::vector<bad_case> bad{
    {"", "empty set"},
    {"   ", "empty set"},
    {"3-1", "runs backwards"},
    {"^", "must be followed by an id"},
    {"1,^", "must be followed by an id"},
    {"^2", "empty after exclusions"},
    {"0-1,^0,^1", "empty after exclusions"},
    {"1,,2", "empty item"},
    {"1,", "empty item"},
    {",1", "empty item"},
    {"a", "not a non-negative number"},
    {"-1", "not a range"},
    {"1-", "not a range"},
    {"1-2-3", "not a range"},
    {"^1-2", "single id"},
    {"16384", "above the limit"},
    {"0-99999", "above the limit"},
    {"99999999999999999999", "not a non-negative number"},
    {"1.5", "not a non-negative number"},
    {"0x3", "not a non-negative number"},
};

}  // namespace

BOOST_DATA_TEST_CASE(parses_libvirt_syntax, bdata::make(good), c) {
  auto r = parse_id_set(c.text);
  BOOST_TEST_REQUIRE(r.has_value(), "'" << c.text << "' rejected: " << r.error().message);
  BOOST_TEST(*r == c.expected);
  BOOST_TEST(format_id_set(*r) == c.formatted);
  // The formatted text parses back to the same set.
  auto again = parse_id_set(format_id_set(*r));
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(*again == *r);
}

BOOST_DATA_TEST_CASE(rejects_bad_syntax, bdata::make(bad), c) {
  auto r = parse_id_set(c.text, "<vcpupin cpuset>");
  BOOST_TEST_REQUIRE(!r.has_value(), "'" << c.text << "' accepted");
  BOOST_TEST((r.error().code == errc::invalid_cpuset));
  BOOST_TEST(r.error().message.find("<vcpupin cpuset>") != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find(c.fragment) != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find("expected libvirt syntax") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(format_ranges_with_separator) {
  BOOST_TEST(format_id_ranges({0, 1, 2, 3, 8, 9, 11}, ":") == "0-3:8-9:11");
  BOOST_TEST(format_id_set({}) == "");
  BOOST_TEST(format_id_set({7}) == "7");
}

BOOST_AUTO_TEST_CASE(large_sets_round_trip) {
  id_set every_other;
  for (unsigned i = 0; i <= vnumad::config::max_set_id; i += 2) every_other.insert(i);
  std::string text = format_id_set(every_other);
  auto r = parse_id_set(text);
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(r->size() == every_other.size());
  BOOST_TEST(*r == every_other);
}
