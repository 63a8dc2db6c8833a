#define BOOST_TEST_MODULE config_units
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "config/units.hpp"

#include <cstdint>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using vnumad::errc;
using namespace vnumad::config;

namespace {

struct unit_case {
  std::string unit;
  std::uint64_t scale;
};
std::ostream& operator<<(std::ostream& os, const unit_case& c) { return os << "'" << c.unit << "'"; }

constexpr std::uint64_t p10(int n) {
  std::uint64_t v = 1;
  while (n-- > 0) v *= 1000;
  return v;
}

// libvirt's formatdomain "Memory Allocation" table.
const std::vector<unit_case> units{
    {"b", 1},        {"bytes", 1},    {"KB", p10(1)},   {"k", 1ull << 10},  {"KiB", 1ull << 10}, {"", 1ull << 10},
    {"MB", p10(2)},  {"M", 1ull << 20}, {"MiB", 1ull << 20}, {"GB", p10(3)}, {"G", 1ull << 30},  {"GiB", 1ull << 30},
    {"TB", p10(4)},  {"T", 1ull << 40}, {"TiB", 1ull << 40}, {"PB", p10(5)}, {"P", 1ull << 50},  {"PiB", 1ull << 50},
    {"EB", p10(6)},  {"E", 1ull << 60}, {"EiB", 1ull << 60},
};

std::string flip_case(std::string s) {
  for (char& c : s) c = std::isupper(static_cast<unsigned char>(c)) ? std::tolower(c) : std::toupper(c);
  return s;
}

}  // namespace

BOOST_DATA_TEST_CASE(every_unit_scales, bdata::make(units), c) {
  auto r = parse_memory_size("3", c.unit);
  BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
  BOOST_TEST(*r == 3 * c.scale);
  // Units are case-insensitive: "kib", "KIB", "Gib" all work.
  auto flipped = parse_memory_size("3", flip_case(c.unit));
  BOOST_TEST_REQUIRE(flipped.has_value(), flipped.error().message);
  BOOST_TEST(*flipped == 3 * c.scale);
}

BOOST_AUTO_TEST_CASE(mixed_case_and_spaces) {
  BOOST_TEST(*parse_memory_size("12345", "Kib") == 12345ull * 1024);
  BOOST_TEST(*parse_memory_size(" 32 ", " gIb ") == 32ull * GiB);
  BOOST_TEST(*parse_memory_size("0", "GiB") == 0u);
}

struct bad_case {
  std::string value, unit;
  errc code;
  std::string fragment;
};
std::ostream& operator<<(std::ostream& os, const bad_case& c) { return os << "'" << c.value << "' '" << c.unit << "'"; }

const std::vector<bad_case> bad{
    {"abc", "KiB", errc::invalid_value, "not a non-negative whole number"},
    {"-1", "KiB", errc::invalid_value, "not a non-negative whole number"},
    {"1.5", "GiB", errc::invalid_value, "not a non-negative whole number"},
    {"", "KiB", errc::invalid_value, "not a non-negative whole number"},
    {"12 34", "KiB", errc::invalid_value, "not a non-negative whole number"},
    {"1e9", "b", errc::invalid_value, "not a non-negative whole number"},
    {"99999999999999999999999", "b", errc::invalid_value, "too large"},
    {"18446744073709551615", "KiB", errc::invalid_value, "overflows 64 bits"},
    {"17", "EiB", errc::invalid_value, "overflows 64 bits"},
    {"1", "furlongs", errc::invalid_unit, "unknown unit 'furlongs'"},
    {"1", "KiBB", errc::invalid_unit, "unknown unit"},
    {"1", "Ki", errc::invalid_unit, "unknown unit"},
};

BOOST_DATA_TEST_CASE(rejects_bad_sizes, bdata::make(bad), c) {
  auto r = parse_memory_size(c.value, c.unit, "<memory>");
  BOOST_TEST_REQUIRE(!r.has_value(), "accepted");
  BOOST_TEST((r.error().code == c.code), to_string(r.error().code));
  BOOST_TEST(r.error().message.find("<memory>") != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find(c.fragment) != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(unknown_unit_lists_valid_ones) {
  auto r = parse_memory_size("1", "furlongs");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find("GiB") != std::string::npos);
  BOOST_TEST(r.error().message.find("case-insensitive") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(size_with_glued_unit) {
  BOOST_TEST(*parse_size_with_unit("256MiB") == 256 * MiB);
  BOOST_TEST(*parse_size_with_unit("1G") == GiB);
  BOOST_TEST(*parse_size_with_unit("512") == 512 * KiB);
  BOOST_TEST(*parse_size_with_unit(" 2gb ") == 2'000'000'000ull);
  BOOST_TEST(!parse_size_with_unit("MiB").has_value());
  BOOST_TEST(!parse_size_with_unit("-5G").has_value());
  BOOST_TEST(!parse_size_with_unit("5 parsecs").has_value());
}

BOOST_AUTO_TEST_CASE(human_format) {
  BOOST_TEST(format_size(8 * GiB) == "8 GiB");
  BOOST_TEST(format_size(256 * MiB) == "256 MiB");
  BOOST_TEST(format_size(1536 * KiB) == "1536 KiB");
  BOOST_TEST(format_size(7) == "7 B");
  BOOST_TEST(format_size(0) == "0 B");
}
