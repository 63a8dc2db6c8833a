#define BOOST_TEST_MODULE qemu_option
#include <boost/test/unit_test.hpp>

#include "qemu/qemu_option.hpp"

#include <string>
#include <utility>
#include <vector>

using namespace vnumad::qemu;

BOOST_AUTO_TEST_CASE(commas_are_doubled) {
  const std::vector<std::pair<std::string, std::string>> table{
      {"plain", "plain"}, {"a,b", "a,,b"}, {",", ",,"}, {"a,,b", "a,,,,b"}, {"", ""}, {"/p/x,y=z", "/p/x,,y=z"}};
  for (const auto& [in, out] : table) BOOST_TEST(escape_option_value(in) == out, in);
}

BOOST_AUTO_TEST_CASE(split_undoes_escaping) {
  auto items = split_option("file,id=c0,path=" + escape_option_value("/tmp/a,b=c,,d") + ",server=on");
  BOOST_TEST_REQUIRE(items.size() == 4u);
  BOOST_TEST(items[0].first == "");
  BOOST_TEST(items[0].second == "file");
  BOOST_TEST(items[2].first == "path");
  BOOST_TEST(items[2].second == "/tmp/a,b=c,,d");
  BOOST_TEST(items[3].second == "on");
  // Repeated keys are kept in order (-numa node,cpus=0-1,cpus=4).
  auto numa = split_option("node,nodeid=0,cpus=0-1,cpus=4");
  BOOST_TEST_REQUIRE(numa.size() == 4u);
  BOOST_TEST(numa[2].second == "0-1");
  BOOST_TEST(numa[3].second == "4");
}

BOOST_AUTO_TEST_CASE(unrepresentable_values_are_rejected) {
  const std::vector<std::pair<std::string, std::string>> bad{
      {std::string("a\nb", 3), "newline"},
      {std::string("a\0b", 3), "NUL"},
      {std::string("a\rb", 3), "carriage return"},
      {std::string("a\tb", 3), "control character"},
      {"", "empty"}};
  for (const auto& [value, kind] : bad) {
    auto r = option_value(value, "<disk><source file>");
    BOOST_TEST_REQUIRE(!r, kind);
    BOOST_TEST(r.error().message.find("<disk><source file>") != std::string::npos, r.error().message);
    BOOST_TEST(r.error().message.find(kind) != std::string::npos, r.error().message);
  }
  BOOST_TEST(check_representable("", "x", true).has_value());
  auto ok = option_value("/var/lib/vnumad/a b,c", "path");
  BOOST_TEST_REQUIRE(ok.has_value());
  BOOST_TEST(*ok == "/var/lib/vnumad/a b,,c");
}

BOOST_AUTO_TEST_CASE(pci_addr_format) {
  BOOST_TEST(format_pci_addr(1, 0) == "0x1");
  BOOST_TEST(format_pci_addr(1, 2) == "0x1.0x2");
  BOOST_TEST(format_pci_addr(0x1f, 7) == "0x1f.0x7");
}
