#include "reactor/control_protocol.hpp"

#include "reactor/json_keys.hpp"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <cmath>

namespace vnumad::reactor {

namespace json = boost::json;

namespace {

// Boost.JSON 1.81 reads a number past the double range (1e999) as infinity and
// writes infinity back as 1e99999, which it then refuses to read: such an id
// would make the reply unreadable (found by fuzz/harness_control.cpp).
bool all_finite(const json::value& v) {
  switch (v.kind()) {
    case json::kind::double_: return std::isfinite(v.get_double());
    case json::kind::array:
      for (const auto& e : v.get_array())
        if (!all_finite(e)) return false;
      return true;
    case json::kind::object:
      for (const auto& kv : v.get_object())
        if (!all_finite(kv.value())) return false;
      return true;
    default: return true;
  }
}

}  // namespace

result<control_request> parse_request(std::string_view line, json::value& id_out) {
  id_out = nullptr;
  if (line.size() > max_request_bytes)
    return make_error(errc::protocol_error, "request of " + std::to_string(line.size()) + " bytes is over the limit of " +
                                                std::to_string(max_request_bytes));
  boost::system::error_code ec;
  json::value v = json::parse(line, ec);
  if (ec) return make_error(errc::protocol_error, "malformed JSON: " + ec.message());
  if (!v.is_object()) return make_error(errc::protocol_error, "a request must be a JSON object");
  if (!all_finite(v)) return make_error(errc::protocol_error, "a number in the request is out of range");
  const json::object& o = v.as_object();
  if (const json::value* id = o.if_contains("id")) id_out = *id;
  // After the id: the error reply still carries it (a repeated "id" is echoed
  // as the parser kept it, the last one).
  if (auto unique = check_unique_keys(line); !unique) return unique.error();
  control_request r;
  r.id = id_out;
  const json::value* op = o.if_contains("op");
  if (!op || !op->is_string() || op->as_string().empty())
    return make_error(errc::protocol_error, "a request needs \"op\": a non-empty string");
  r.op = std::string(op->as_string());
  if (const json::value* args = o.if_contains("args")) {
    if (!args->is_object()) return make_error(errc::protocol_error, "\"args\" must be a JSON object");
    r.args = args->as_object();
  }
  for (const auto& kv : o)
    if (kv.key() != "id" && kv.key() != "op" && kv.key() != "args")
      return make_error(errc::protocol_error,
                        "unknown request field \"" + std::string(kv.key()) + "\" (valid: id, op, args)");
  return r;
}

std::string encode_request(const control_request& request) {
  json::object o;
  o["id"] = request.id;
  o["op"] = request.op;
  o["args"] = request.args;
  return json::serialize(o) + "\n";
}

std::string encode_ok(const json::value& id, const json::value& result) {
  json::object o;
  o["id"] = id;
  o["ok"] = true;
  o["result"] = result;
  return json::serialize(o) + "\n";
}

std::string encode_error(const json::value& id, const error& e) {
  json::object o;
  o["id"] = id;
  o["ok"] = false;
  o["error"] = json::object{{"code", std::string(to_string(e.code))}, {"message", e.message}};
  return json::serialize(o) + "\n";
}

result<std::string> arg_string(const json::object& args, std::string_view key) {
  const json::value* v = args.if_contains(key);
  if (!v) return make_error(errc::invalid_value, "missing argument \"" + std::string(key) + "\"");
  if (!v->is_string())
    return make_error(errc::invalid_value,
                      "args." + std::string(key) + ": expected a string, got " + json::serialize(*v));
  return std::string(v->as_string());
}

result<std::uint64_t> arg_uint(const json::object& args, std::string_view key) {
  const json::value* v = args.if_contains(key);
  if (!v) return make_error(errc::invalid_value, "missing argument \"" + std::string(key) + "\"");
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return make_error(errc::invalid_value,
                    "args." + std::string(key) + ": expected a non-negative integer, got " + json::serialize(*v));
}

result<std::uint64_t> arg_uint(const json::object& args, std::string_view key, std::uint64_t max,
                               std::string_view unit) {
  auto n = arg_uint(args, key);
  if (!n) return n;
  if (*n > max)
    return make_error(errc::invalid_value, "args." + std::string(key) + ": " + std::to_string(*n) +
                                               " is out of range (valid: 0 to " + std::to_string(max) +
                                               (unit.empty() ? "" : " " + std::string(unit)) + ")");
  return n;
}

}  // namespace vnumad::reactor
