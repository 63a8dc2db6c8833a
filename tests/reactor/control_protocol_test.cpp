#define BOOST_TEST_MODULE control_protocol
#include <boost/test/unit_test.hpp>

// Strict decoding of control requests: repeated keys, numbers outside their
// type and arguments a verb does not take are errors naming the key and value,
// never silently resolved (issue 12: {"op":"list","op":"destroy"} destroyed,
// vcpu 4294967297 pinned vCPU 1).
#include "reactor/verbs.hpp"
#include "reactor/control_client.hpp"
#include "reactor/control_protocol.hpp"
#include "reactor/json_keys.hpp"

#include <boost/json.hpp>

using namespace vnumad;
using namespace vnumad::reactor;

namespace {

bool has(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

result<control_request> parse(const std::string& line) {
  boost::json::value id;
  return parse_request(line, id);
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_repeated_key_is_an_error_naming_it_at_any_depth) {
  auto r = parse(R"({"op":"list","op":"destroy"})");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::protocol_error));
  BOOST_TEST(has(r.error().message, "duplicate key \"op\""), r.error().message);

  r = parse(R"({"id":1,"op":"vcpupin","args":{"name":"g","vcpu":1,"vcpu":2,"cpuset":"0"}})");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(has(r.error().message, "duplicate key \"args.vcpu\""), r.error().message);

  // Keys are compared after unescaping: "\u006fp" is "op".
  r = parse(R"({"op":"list","\u006fp":"destroy"})");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(has(r.error().message, "duplicate key \"op\""), r.error().message);

  // The same key in two different objects is no repeat.
  r = parse(R"({"id":{"name":1},"op":"dominfo","args":{"name":"g"}})");
  BOOST_TEST(r.has_value());
  BOOST_TEST(check_unique_keys(R"([{"a":1},{"a":2}])").has_value());
  BOOST_TEST(!check_unique_keys(R"([{"a":1,"b":{"c":1,"c":2}}])").has_value());
  BOOST_TEST(has(check_unique_keys(R"({"a":[{"b":1,"b":2}]})").error().message, "\"a.b\""));
}

BOOST_AUTO_TEST_CASE(an_id_is_echoed_in_the_duplicate_key_error) {
  boost::json::value id;
  auto r = parse_request(R"({"id":42,"op":"list","op":"destroy"})", id);
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(id.as_int64() == 42);
}

BOOST_AUTO_TEST_CASE(numbers_outside_their_type_are_refused_never_truncated) {
  const boost::json::object args{{"vcpu", 4294967297ULL}, {"ok", 4294967295ULL}, {"neg", -1}, {"frac", 1.5}};
  auto big = arg_uint(args, "vcpu", arg_max(arg_kind::count));
  BOOST_TEST_REQUIRE(!big.has_value());
  BOOST_TEST((big.error().code == errc::invalid_value));
  BOOST_TEST(big.error().message == "args.vcpu: 4294967297 is out of range (valid: 0 to 4294967295)");
  BOOST_TEST(arg_uint(args, "ok", arg_max(arg_kind::count)).value() == 4294967295ULL);
  BOOST_TEST(has(arg_uint(args, "neg", 10).error().message, "expected a non-negative integer, got -1"));
  BOOST_TEST(!arg_uint(args, "frac", 10).has_value());

  // Through the verb table, for every numeric argument.
  const std::pair<std::string, std::string> cases[] = {
      {R"({"op":"vcpupin","args":{"name":"g","vcpu":4294967297,"cpuset":"0-1"}})", "args.vcpu: 4294967297"},
      {R"({"op":"setvcpus","args":{"name":"g","count":4294967297}})", "args.count: 4294967297"},
      {R"({"op":"attach-memory","args":{"name":"g","cell":4294967296,"size":"1G"}})", "args.cell: 4294967296"},
      {R"({"op":"setvcpus","args":{"name":"g","count":1,"timeout_ms":18446744073709551615}})",
       "valid: 0 to 86400000 ms"},
      {R"({"op":"shutdown","args":{"name":"g","timeout":9223372036854775808}})", "valid: 0 to 86400 seconds"},
      {R"({"op":"vcpupin","args":{"name":"g","vcpu":-1,"cpuset":"0"}})", "non-negative integer, got -1"},
      {R"({"op":"setvcpus","args":{"name":"g","count":18446744073709551616}})", "non-negative integer"},
  };
  for (const auto& [line, fragment] : cases) {
    auto r = parse(line);
    BOOST_TEST_REQUIRE(r.has_value(), line);
    auto checked = check_verb_args(*r);
    BOOST_TEST_REQUIRE(!checked.has_value(), line);
    BOOST_TEST((checked.error().code == errc::invalid_value));
    BOOST_TEST(has(checked.error().message, fragment), line << " -> " << checked.error().message);
  }
}

BOOST_AUTO_TEST_CASE(unknown_arguments_are_refused_with_the_valid_ones) {
  auto r = parse(R"({"op":"setvcpus","args":{"name":"g","cout":2}})");
  BOOST_TEST_REQUIRE(r.has_value());
  auto checked = check_verb_args(*r);
  BOOST_TEST_REQUIRE(!checked.has_value());
  BOOST_TEST(checked.error().message == "setvcpus: unknown argument \"cout\" (valid: name, count, timeout_ms)");

  r = parse(R"({"op":"list","args":{"all":true}})");
  BOOST_TEST(check_verb_args(*r).error().message == "list: unknown argument \"all\" (valid: none)");
  // A string argument of the wrong type names it too.
  r = parse(R"({"op":"dominfo","args":{"name":7}})");
  BOOST_TEST(has(check_verb_args(*r).error().message, "args.name: expected a string, got 7"));
  // What vnumactl sends passes, and an op the table does not know is left to
  // the dispatcher ("unknown op").
  r = parse(R"({"op":"vcpupin","args":{"name":"g","vcpu":3,"cpuset":"2-3"}})");
  BOOST_TEST(check_verb_args(*r).has_value());
  // console's force is true or false, nothing else.
  r = parse(R"({"op":"console","args":{"name":"g","force":true}})");
  BOOST_TEST(check_verb_args(*r).has_value());
  r = parse(R"({"op":"console","args":{"name":"g","force":1}})");
  BOOST_TEST(check_verb_args(*r).error().message == "args.force: expected true or false, got 1");
  r = parse(R"({"op":"frobnicate","args":{"x":1}})");
  BOOST_TEST(check_verb_args(*r).has_value());
  BOOST_TEST(!verb_args("frobnicate").has_value());
}

BOOST_AUTO_TEST_CASE(every_error_code_reaches_the_client_as_itself) {
  // The daemon sends the code by name; the client maps it back (an unknown
  // name would come out as protocol_error).
  for (int i = 0; to_string(static_cast<errc>(i)) != "unknown"; ++i) {
    const auto code = static_cast<errc>(i);
    const auto reply = boost::json::parse(encode_error(boost::json::value(1), make_error(code, "m")));
    const std::string name(reply.at("error").at("code").as_string());
    BOOST_TEST(name == to_string(code));
    BOOST_TEST((errc_from_name(name) == code), name);
  }
  BOOST_TEST((errc_from_name("unplug_refused") == errc::unplug_refused));
  BOOST_TEST((errc_from_name("no_such_code") == errc::protocol_error));
}
