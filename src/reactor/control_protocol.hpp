// The control protocol (docs/control-protocol.md): newline-delimited JSON.
//   request  {"id": <any>, "op": "<verb>", "args": {...}}
//   reply    {"id": <same>, "ok": true, "result": <any>}
//            {"id": <same>, "ok": false, "error": {"code": "<errc>", "message": "..."}}
//   event    {"event": "<kind>", "time": "...", "guest": "<name>", ...}   (after op "events"; reactor/events.hpp)
// Pure encoding and decoding; the socket side is control_server.
#pragma once

#include "util/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <string>
#include <string_view>

namespace vnumad::reactor {

// Requests longer than this are refused (and the connection closed), so a
// client cannot make the daemon buffer without bound.
inline constexpr std::size_t max_request_bytes = 64 * 1024;

// What a client may do: the read-only socket's clients only the read-only
// verbs (verbs.hpp), the read-write socket's every verb.
enum class access_level { read_only, read_write };

struct control_request {
  boost::json::value id;      // echoed back; null when the request had none
  std::string op;
  boost::json::object args;
};

// Decodes one line; a key that appears twice in one object is an error. On failure the error says what is wrong; `id_out` still
// receives the id when the line was an object that had one, so the error reply
// can carry it.
result<control_request> parse_request(std::string_view line, boost::json::value& id_out);

std::string encode_request(const control_request& request);
std::string encode_ok(const boost::json::value& id, const boost::json::value& result);
std::string encode_error(const boost::json::value& id, const error& e);

// Helpers for argument access with precise errors ("args.vcpu: expected a
// non-negative integer, got \"x\"").
result<std::string> arg_string(const boost::json::object& args, std::string_view key);
result<std::uint64_t> arg_uint(const boost::json::object& args, std::string_view key);
// The same, refusing a value above `max` ("args.vcpu: 4294967297 is out of
// range (valid: 0 to 4294967295)"), never truncating it; `unit` follows max.
result<std::uint64_t> arg_uint(const boost::json::object& args, std::string_view key, std::uint64_t max,
                               std::string_view unit = {});

}  // namespace vnumad::reactor
