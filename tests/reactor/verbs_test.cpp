#define BOOST_TEST_MODULE reactor_verbs
#include <boost/test/unit_test.hpp>

// The verb table is the one list of verbs: the bash completion and the
// protocol document name exactly its verbs, with its access, every verb
// vnumactl has explains itself, and the argument check follows each row.
// (That the read-only socket serves exactly the read-only verbs is checked
// against a running daemon: tests/integration/verbs_live_test.cpp.)
#include "reactor/verbs.hpp"

#include <boost/json/parse.hpp>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>

using namespace vnumad;
using namespace vnumad::reactor;

namespace {

std::string read_source(const std::string& relative) {
  std::ifstream in(std::string(VNUMAD_SOURCE_DIR) + "/" + relative);
  BOOST_TEST_REQUIRE(in.good(), relative);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::set<std::string> table_verbs(bool vnumactl_only) {
  std::set<std::string> names;
  for (const auto& v : verbs())
    if (!vnumactl_only || v.in_vnumactl) names.emplace(v.name);
  return names;
}

std::string joined(const std::set<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : " ") + n;
  return out;
}

// The rows of the protocol document's "## Verbs" table: op -> access.
std::map<std::string, std::string> documented_verbs() {
  const std::string doc = read_source("docs/control-protocol.md");
  const auto start = doc.find("\n## Verbs\n");
  BOOST_TEST_REQUIRE(start != std::string::npos);
  const auto end = doc.find("\n## ", start + 1);
  std::istringstream section(doc.substr(start, end - start));
  std::map<std::string, std::string> rows;
  static const std::regex row(R"(^\| `([a-z-]+)` \| (read-only|read-write) \|.*)");
  for (std::string line; std::getline(section, line);) {
    std::smatch m;
    if (std::regex_match(line, m, row)) rows[m[1]] = m[2];
  }
  return rows;
}

control_request request(const std::string& line) {
  boost::json::value id;
  auto r = parse_request(line, id);
  BOOST_TEST_REQUIRE(r.has_value(), line);
  return *r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(the_completion_offers_exactly_the_daemon_verbs_of_vnumactl) {
  const std::string script = read_source("completion/vnumactl.bash");
  std::smatch m;
  BOOST_TEST_REQUIRE(std::regex_search(script, m, std::regex("_vnumactl_daemon_verbs=\"([^\"]*)\"")));
  std::istringstream words(m[1].str());
  std::set<std::string> completed;
  for (std::string w; words >> w;) completed.insert(w);
  BOOST_TEST(joined(completed) == joined(table_verbs(true)));
}

BOOST_AUTO_TEST_CASE(the_protocol_document_lists_every_verb_with_its_access) {
  const auto rows = documented_verbs();
  std::set<std::string> documented;
  for (const auto& [op, access] : rows) documented.insert(op);
  BOOST_TEST(joined(documented) == joined(table_verbs(false)));
  for (const auto& v : verbs()) {
    auto it = rows.find(std::string(v.name));
    if (it == rows.end()) continue;
    BOOST_TEST(it->second == (v.access == access_level::read_only ? "read-only" : "read-write"), v.name);
  }
}

BOOST_AUTO_TEST_CASE(every_verb_has_a_handler_a_summary_and_help) {
  std::set<std::string> names;
  for (const auto& v : verbs()) {
    BOOST_TEST(names.insert(std::string(v.name)).second, v.name << " is in the table twice");
    // A handler that replies, or one that opens a byte stream: one of the two.
    BOOST_TEST(((v.handler != nullptr) != (v.opens_stream != nullptr)), v.name);
    BOOST_TEST(!v.summary.empty(), v.name);
    BOOST_TEST(!v.help.empty(), v.name);
    if (v.in_vnumactl)
      BOOST_TEST(v.help.find("Examples:\n  vnumactl " + std::string(v.name)) != std::string_view::npos, v.name);
    for (const auto& a : v.args) {
      BOOST_TEST(!a.value_name.empty(), v.name << " " << a.key);
      BOOST_TEST(!a.help.empty(), v.name << " " << a.key);
      BOOST_TEST((a.positional || !a.option.empty()), v.name << " " << a.key << " cannot be given to vnumactl");
    }
    BOOST_TEST(find_verb(v.name) == &v);
  }
  BOOST_TEST(find_verb("frobnicate") == nullptr);
  BOOST_TEST(verb_names().find("host-shutdown") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(required_arguments_are_checked_from_the_row) {
  auto missing = check_verb_args(request(R"({"op":"setvcpus","args":{"name":"g"}})"));
  BOOST_TEST_REQUIRE(!missing.has_value());
  BOOST_TEST(missing.error().message == "setvcpus: missing argument \"count\"");
  BOOST_TEST(!check_verb_args(request(R"({"op":"dominfo"})")).has_value());
  // Optional ones may be left out; events takes a guest or none.
  BOOST_TEST(check_verb_args(request(R"({"op":"setvcpus","args":{"name":"g","count":2}})")).has_value());
  BOOST_TEST(check_verb_args(request(R"({"op":"events"})")).has_value());
  BOOST_TEST(check_verb_args(request(R"({"op":"events","args":{"name":"web"}})")).has_value());
  // host-shutdown has a row too: it takes nothing.
  BOOST_TEST(check_verb_args(request(R"({"op":"host-shutdown","args":{"now":true}})")).error().message ==
             "host-shutdown: unknown argument \"now\" (valid: none)");
}

BOOST_AUTO_TEST_CASE(console_is_a_read_write_stream_verb_with_a_boolean_force) {
  const verb* console = find_verb("console");
  BOOST_TEST_REQUIRE(console != nullptr);
  BOOST_TEST((console->access == access_level::read_write));
  BOOST_TEST(console->opens_stream != nullptr);
  BOOST_TEST(!console->streams_events);
  BOOST_TEST(check_verb_args(request(R"({"op":"console","args":{"name":"g"}})")).has_value());
  BOOST_TEST(check_verb_args(request(R"({"op":"console","args":{"name":"g","force":false}})")).has_value());
  BOOST_TEST(check_verb_args(request(R"({"op":"console","args":{"name":"g","force":"yes"}})")).error().message ==
             "args.force: expected true or false, got \"yes\"");
  BOOST_TEST(check_verb_args(request(R"({"op":"console"})")).error().message == "console: missing argument \"name\"");
}
