#define BOOST_TEST_MODULE qmp_message
#include <boost/test/unit_test.hpp>

#include "qmp/qmp_message.hpp"

#include <string>
#include <vector>

using namespace vnumad;
using namespace vnumad::qmp;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(decodes_the_four_message_kinds) {
  auto greeting = decode_message(
      R"({"QMP": {"version": {"qemu": {"micro": 2, "minor": 0, "major": 10}, "package": "Debian"}, "capabilities": ["oob"]}})");
  BOOST_TEST_REQUIRE(greeting.has_value());
  const auto& g = std::get<qmp_greeting>(*greeting);
  BOOST_TEST(g.version.at("qemu").at("major").as_int64() == 10);
  BOOST_TEST(g.capabilities.size() == 1u);

  auto ret = decode_message(R"({"return": [1, 2], "id": 7})");
  BOOST_TEST_REQUIRE(ret.has_value());
  const auto& r = std::get<qmp_return>(*ret);
  BOOST_TEST((r.id == std::optional<std::uint64_t>(7)));
  BOOST_TEST(r.value.as_array().size() == 2u);

  auto err = decode_message(R"({"id": 3, "error": {"class": "GenericError", "desc": "'x' is not a valid device model name"}})");
  BOOST_TEST_REQUIRE(err.has_value());
  const auto& e = std::get<qmp_error_reply>(*err);
  BOOST_TEST((e.id == std::optional<std::uint64_t>(3)));
  BOOST_TEST(e.error_class == "GenericError");
  BOOST_TEST(e.description == "'x' is not a valid device model name");

  auto event = decode_message(
      R"({"timestamp": {"seconds": 1795700396, "microseconds": 1362}, "event": "SHUTDOWN", "data": {"guest": false, "reason": "host-qmp-quit"}})");
  BOOST_TEST_REQUIRE(event.has_value());
  const auto& ev = std::get<qmp_event>(*event);
  BOOST_TEST(ev.name == "SHUTDOWN");
  BOOST_TEST(ev.data.at("reason").as_string() == "host-qmp-quit");
  BOOST_TEST(ev.seconds == 1795700396);
  BOOST_TEST(ev.microseconds == 1362);

  auto bare_event = decode_message(R"({"event": "RESUME", "timestamp": {"seconds": 1, "microseconds": 2}})");
  BOOST_TEST_REQUIRE(bare_event.has_value());
  BOOST_TEST(std::get<qmp_event>(*bare_event).data.empty());
}

BOOST_AUTO_TEST_CASE(ids_that_are_not_ours_are_absent) {
  struct row {
    const char* line;
    std::optional<std::uint64_t> id;
  };
  const std::vector<row> rows = {
      {R"({"return": {}})", std::nullopt},
      {R"({"return": {}, "id": "abc"})", std::nullopt},
      {R"({"return": {}, "id": -1})", std::nullopt},
      {R"({"return": {}, "id": 0})", 0},
      {R"({"return": {}, "id": 18446744073709551615})", 18446744073709551615ull},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.line) {
      auto m = decode_message(row.line);
      BOOST_TEST_REQUIRE(m.has_value());
      BOOST_TEST((std::get<qmp_return>(*m).id == row.id));
    }
  }
}

BOOST_AUTO_TEST_CASE(malformed_messages_are_protocol_errors_naming_the_problem) {
  struct row {
    std::string line;
    std::string expected_in_message;
  };
  const std::vector<row> rows = {
      {R"({"return": )", "malformed JSON"},
      {"not json at all", "malformed JSON"},
      {"[1,2,3]", "must be a JSON object"},
      {R"("string")", "must be a JSON object"},
      {R"({"foo": 1})", "none of \"return\", \"error\", \"event\", \"QMP\""},
      {R"({"error": "oops"})", "\"error\" is not an object"},
      {R"({"error": {"class": "GenericError"}})", "needs string \"class\" and \"desc\""},
      {R"({"error": {"class": 1, "desc": "x"}})", "needs string \"class\" and \"desc\""},
      {R"({"event": 5})", "\"event\" is not a string"},
      {R"({"event": "X", "data": [1]})", "\"data\" is not an object"},
      {R"({"QMP": 1})", "\"QMP\" is not an object"},
      {R"({"QMP": {"version": 1}})", "\"version\" is not an object"},
      {R"({"QMP": {"capabilities": {}}})", "\"capabilities\" is not an array"},
  };
  for (const auto& row : rows) {
    BOOST_TEST_CONTEXT(row.line) {
      auto m = decode_message(row.line);
      BOOST_TEST_REQUIRE(!m.has_value());
      BOOST_TEST((m.error().code == errc::protocol_error));
      BOOST_TEST(m.error().message.find(row.expected_in_message) != std::string::npos, m.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(encodes_commands_with_ids_and_optional_arguments) {
  const std::string plain = encode_command(qmp_command{"cont", {}}, 4);
  BOOST_TEST(plain.back() == '\n');
  BOOST_TEST(plain.find('\n') == plain.size() - 1);  // exactly one line
  const json::value p = json::parse(plain);
  BOOST_TEST(p.as_object().at("execute").as_string() == "cont");
  BOOST_TEST(p.as_object().at("id").to_number<std::uint64_t>() == 4u);
  BOOST_TEST(!p.as_object().contains("arguments"));

  const std::string with_args =
      encode_command(qmp_command{"device_add", json::object{{"driver", "a\nb"}, {"id", "vcpu1"}, {"socket-id", 1}}}, 9);
  BOOST_TEST(with_args.find('\n') == with_args.size() - 1);  // newlines in values are escaped
  const json::value a = json::parse(with_args);
  BOOST_TEST(a.as_object().at("arguments").at("driver").as_string() == "a\nb");
  BOOST_TEST(a.as_object().at("arguments").at("socket-id").as_int64() == 1);
  BOOST_TEST(a.as_object().at("id").to_number<std::uint64_t>() == 9u);
}

BOOST_AUTO_TEST_CASE(framer_splits_chunks_into_lines) {
  struct row {
    std::vector<std::string> chunks;
    std::vector<std::string> lines;
    std::size_t pending_after;
  };
  const std::vector<row> rows = {
      {{"{\"a\":1}\r\n"}, {"{\"a\":1}"}, 0},
      {{"{\"a\":", "1}\r", "\n{\"b\"", ":2}\n"}, {"{\"a\":1}", "{\"b\":2}"}, 0},
      {{"x\n\r\n\ny\n"}, {"x", "y"}, 0},  // empty lines skipped
      {{"one\ntwo"}, {"one"}, 3},          // incomplete tail stays pending
      {{""}, {}, 0},
  };
  for (const auto& row : rows) {
    line_framer framer(64);
    std::vector<std::string> got;
    for (const auto& chunk : row.chunks) {
      framer.feed(chunk);
      for (;;) {
        auto line = framer.next_line();
        BOOST_TEST_REQUIRE(line.has_value());
        if (!*line) break;
        got.push_back(**line);
      }
    }
    BOOST_TEST(got == row.lines, boost::test_tools::per_element());
    BOOST_TEST(framer.pending() == row.pending_after);
  }
}

BOOST_AUTO_TEST_CASE(framer_rejects_oversized_lines_and_stays_failed) {
  {  // a complete line over the limit
    line_framer framer(8);
    framer.feed("short\n123456789\nafter\n");
    auto first = framer.next_line();
    BOOST_TEST_REQUIRE(first.has_value());
    BOOST_TEST(**first == "short");
    auto second = framer.next_line();
    BOOST_TEST_REQUIRE(!second.has_value());
    BOOST_TEST((second.error().code == errc::protocol_error));
    BOOST_TEST(second.error().message.find("exceeds the limit of 8") != std::string::npos);
    BOOST_TEST(!framer.next_line().has_value());  // no resynchronisation
  }
  {  // an endless line is refused before its end arrives
    line_framer framer(8);
    framer.feed("12345");
    auto partial = framer.next_line();
    BOOST_TEST_REQUIRE(partial.has_value());
    BOOST_TEST(!partial->has_value());
    framer.feed("6789");
    auto over = framer.next_line();
    BOOST_TEST_REQUIRE(!over.has_value());
    BOOST_TEST(over.error().message.find("without a line end") != std::string::npos);
  }
  {  // exactly at the limit is fine, "\r" not counted
    line_framer framer(8);
    framer.feed("12345678\r\n");
    auto line = framer.next_line();
    BOOST_TEST_REQUIRE(line.has_value());
    BOOST_TEST(**line == "12345678");
  }
}

// Found by the fuzzer (fuzz/regressions/qmp): both used to be a throw or a
// wrong refusal in the daemon's QMP reader.
BOOST_AUTO_TEST_CASE(event_timestamps_out_of_range_are_zero_not_a_throw) {
  for (const std::string ts : {"18446744073709551616", "1.5", "-1e300"}) {
    auto m = decode_message("{\"event\":\"STOP\",\"timestamp\":{\"seconds\":" + ts + ",\"microseconds\":" + ts + "}}");
    BOOST_TEST_REQUIRE(m.has_value(), ts);
    auto* ev = std::get_if<qmp_event>(&*m);
    BOOST_TEST_REQUIRE(ev != nullptr);
    BOOST_TEST(ev->seconds == 0);
    BOOST_TEST(ev->microseconds == 0);
  }
}

BOOST_AUTO_TEST_CASE(a_line_of_exactly_the_limit_passes_when_its_crlf_is_split) {
  line_framer framer(8);
  framer.feed("12345678\r");
  auto waiting = framer.next_line();
  BOOST_TEST_REQUIRE(waiting.has_value());
  BOOST_TEST(!waiting->has_value());
  framer.feed("\n");
  auto line = framer.next_line();
  BOOST_TEST_REQUIRE(line.has_value());
  BOOST_TEST_REQUIRE(line->has_value());
  BOOST_TEST(**line == "12345678");
}

