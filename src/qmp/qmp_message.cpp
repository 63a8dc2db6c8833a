#include "qmp/qmp_message.hpp"

namespace vnumad::qmp {
namespace json = boost::json;

namespace {

error protocol(std::string message) { return make_error(errc::protocol_error, std::move(message)); }

// Lines are quoted in errors, but shortened: the point is recognising them.
std::string excerpt(std::string_view line) {
  constexpr std::size_t max = 120;
  if (line.size() <= max) return std::string(line);
  return std::string(line.substr(0, max)) + "...";
}

std::optional<std::uint64_t> decode_id(const json::object& obj) {
  const json::value* id = obj.if_contains("id");
  if (!id) return std::nullopt;
  if (id->is_uint64()) return id->as_uint64();
  if (id->is_int64() && id->as_int64() >= 0) return static_cast<std::uint64_t>(id->as_int64());
  return std::nullopt;
}

result<qmp_message> decode_greeting(const json::value& qmp, std::string_view line) {
  if (!qmp.is_object()) return protocol("QMP greeting: \"QMP\" is not an object in '" + excerpt(line) + "'");
  qmp_greeting greeting;
  if (const auto* version = qmp.as_object().if_contains("version")) {
    if (!version->is_object())
      return protocol("QMP greeting: \"version\" is not an object in '" + excerpt(line) + "'");
    greeting.version = version->as_object();
  }
  if (const auto* caps = qmp.as_object().if_contains("capabilities")) {
    if (!caps->is_array())
      return protocol("QMP greeting: \"capabilities\" is not an array in '" + excerpt(line) + "'");
    greeting.capabilities = caps->as_array();
  }
  return qmp_message{std::move(greeting)};
}

result<qmp_message> decode_error(const json::object& obj, const json::value& err, std::string_view line) {
  if (!err.is_object()) return protocol("QMP error reply: \"error\" is not an object in '" + excerpt(line) + "'");
  const auto* cls = err.as_object().if_contains("class");
  const auto* desc = err.as_object().if_contains("desc");
  if (!cls || !cls->is_string() || !desc || !desc->is_string())
    return protocol("QMP error reply: \"error\" needs string \"class\" and \"desc\" in '" + excerpt(line) + "'");
  return qmp_message{qmp_error_reply{decode_id(obj), std::string(cls->as_string()), std::string(desc->as_string())}};
}

result<qmp_message> decode_event(const json::object& obj, const json::value& name, std::string_view line) {
  if (!name.is_string()) return protocol("QMP event: \"event\" is not a string in '" + excerpt(line) + "'");
  qmp_event event;
  event.name = name.as_string();
  if (const auto* data = obj.if_contains("data")) {
    if (!data->is_object()) return protocol("QMP event " + event.name + ": \"data\" is not an object");
    event.data = data->as_object();
  }
  if (const auto* ts = obj.if_contains("timestamp"); ts && ts->is_object()) {
    // A timestamp field that is not an integer in range (2^64, 1.5) is left
    // at 0, like a missing one: the throwing to_number() would let a broken
    // QEMU take the reader down (found by fuzz/harness_qmp.cpp).
    const auto& t = ts->as_object();
    const auto integer = [](const json::value* v) -> std::int64_t {
      boost::system::error_code ec;
      const std::int64_t n = v && v->is_number() ? v->to_number<std::int64_t>(ec) : 0;
      return ec ? 0 : n;
    };
    event.seconds = integer(t.if_contains("seconds"));
    event.microseconds = integer(t.if_contains("microseconds"));
  }
  return qmp_message{std::move(event)};
}

}  // namespace

result<qmp_message> decode_message(std::string_view line) {
  boost::system::error_code ec;
  json::value value = json::parse(line, ec);
  if (ec) return protocol("QMP: malformed JSON (" + ec.message() + ") in '" + excerpt(line) + "'");
  if (!value.is_object()) return protocol("QMP: a message must be a JSON object, got '" + excerpt(line) + "'");
  const json::object& obj = value.as_object();

  if (const auto* ret = obj.if_contains("return")) return qmp_message{qmp_return{decode_id(obj), *ret}};
  if (const auto* err = obj.if_contains("error")) return decode_error(obj, *err, line);
  if (const auto* name = obj.if_contains("event")) return decode_event(obj, *name, line);
  if (const auto* qmp = obj.if_contains("QMP")) return decode_greeting(*qmp, line);
  return protocol("QMP: message has none of \"return\", \"error\", \"event\", \"QMP\": '" + excerpt(line) + "'");
}

std::string encode_command(const qmp_command& command, std::uint64_t id) {
  json::object obj;
  obj["execute"] = command.execute;
  if (!command.arguments.empty()) obj["arguments"] = command.arguments;
  obj["id"] = id;
  std::string line = json::serialize(obj);
  line += '\n';
  return line;
}

result<std::optional<std::string>> line_framer::next_line() {
  if (failed_) return protocol("QMP: stream already failed on an oversized line");
  for (;;) {
    const std::size_t nl = buffer_.find('\n', start_);
    if (nl == std::string::npos) {
      // A trailing '\r' may be the first half of a "\r\n" split across reads:
      // it is not part of the line, so a line of exactly max_line_ bytes passes
      // however the bytes arrive (found by fuzz/harness_qmp.cpp).
      const std::size_t partial = pending() - (pending() > 0 && buffer_.back() == '\r' ? 1 : 0);
      if (partial > max_line_) {
        failed_ = true;
        return protocol("QMP: line longer than " + std::to_string(max_line_) + " bytes without a line end");
      }
      // Compact only when the consumed prefix dominates, so feeding many
      // small lines stays linear.
      if (start_ > 0 && start_ >= buffer_.size() / 2) {
        buffer_.erase(0, start_);
        start_ = 0;
      }
      return std::optional<std::string>{};
    }
    std::size_t end = nl;
    if (end > start_ && buffer_[end - 1] == '\r') --end;
    const std::size_t length = end - start_;
    if (length > max_line_) {
      failed_ = true;
      return protocol("QMP: line of " + std::to_string(length) + " bytes exceeds the limit of " +
                      std::to_string(max_line_));
    }
    std::string line = buffer_.substr(start_, length);
    start_ = nl + 1;
    if (line.empty()) continue;
    return std::optional<std::string>{std::move(line)};
  }
}

}  // namespace vnumad::qmp
