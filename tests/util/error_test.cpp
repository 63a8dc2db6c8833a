#define BOOST_TEST_MODULE error
#include <boost/test/unit_test.hpp>

// The error codes are the protocol's `code` and vnumactl --json's: each kind
// has its own name (a client maps the name back, reactor/control_client.cpp),
// the enum has no kind without one, and the protocol document lists exactly
// these names.
#include "util/error.hpp"

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace vnumad;

namespace {

// The names of errc 0, 1, ... up to the first value without one.
std::vector<std::string> named_kinds() {
  std::vector<std::string> names;
  for (int i = 0; i < 1000; ++i) {
    const std::string_view name = to_string(static_cast<errc>(i));
    if (name == "unknown") break;
    names.emplace_back(name);
  }
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

}  // namespace

BOOST_AUTO_TEST_CASE(every_kind_has_a_distinct_name_and_none_is_left_without_one) {
  const auto names = named_kinds();
  // The last enumerator is named, so every one before it is (the list is dense).
  BOOST_TEST(names.size() == static_cast<std::size_t>(errc::not_responding) + 1);
  const std::set<std::string> distinct(names.begin(), names.end());
  BOOST_TEST(distinct.size() == names.size(), joined(distinct));
  static const std::regex identifier("[a-z][a-z_]*");
  for (const auto& n : names) BOOST_TEST(std::regex_match(n, identifier), n);
  // Past the last one nothing has a name.
  for (std::size_t i = names.size(); i < names.size() + 16; ++i)
    BOOST_TEST(to_string(static_cast<errc>(i)) == "unknown", i);
}

BOOST_AUTO_TEST_CASE(what_happened_has_its_own_code) {
  // Issue 13: these were not_found, qmp_error and timeout.
  BOOST_TEST(to_string(errc::not_running) == "not_running");
  BOOST_TEST(to_string(errc::no_free_slot) == "no_free_slot");
  BOOST_TEST(to_string(errc::unplug_refused) == "unplug_refused");
  std::ostringstream os;
  os << errc::unplug_refused;
  BOOST_TEST(os.str() == "unplug_refused");
}

BOOST_AUTO_TEST_CASE(the_protocol_document_lists_exactly_the_codes) {
  std::ifstream in(std::string(VNUMAD_SOURCE_DIR) + "/docs/control-protocol.md");
  BOOST_TEST_REQUIRE(in.good());
  std::ostringstream text;
  text << in.rdbuf();
  const std::string doc = text.str();
  // "## Error codes": "`code` is one of: `io_error`, ... `message` is for people".
  const auto section = doc.find("\n## Error codes\n");
  BOOST_TEST_REQUIRE(section != std::string::npos);
  const auto start = doc.find("`code` is one of:", section);
  const auto end = doc.find("`message` is for people", start);
  BOOST_TEST_REQUIRE(start != std::string::npos);
  BOOST_TEST_REQUIRE(end != std::string::npos);
  const std::string list = doc.substr(start + 17, end - start - 17);
  std::set<std::string> documented;
  static const std::regex code("`([a-z_]+)`");
  for (std::sregex_iterator it(list.begin(), list.end(), code), last; it != last; ++it) documented.insert((*it)[1]);
  const auto names = named_kinds();
  BOOST_TEST(joined(documented) == joined(std::set<std::string>(names.begin(), names.end())));
}
