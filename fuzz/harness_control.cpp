// Control protocol harness: what the daemon does with a line from a client of
// the control socket (any local user the socket mode admits).
//
// Input: the bytes a client sends; each '\n'-separated line is one request,
// and the whole input is also tried as one line (the size limit).
#include "harness_check.hpp"
#include "harnesses.hpp"

#include "reactor/verbs.hpp"
#include "reactor/control_protocol.hpp"
#include "reactor/json_keys.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cmath>
#include <string>

namespace vnumad::fuzz {

namespace {

// Equality up to the last bits of doubles. Boost.JSON 1.81 parses a decimal
// number that is not a 64-bit integer (1.5, 1e30, 2^64) into a nearby double,
// not always the nearest one (precise parsing came in 1.83), so such a number
// may come back from parse -> serialize -> parse a few ulps off. Integers, and
// everything else, must survive exactly.
bool same_json(const boost::json::value& a, const boost::json::value& b) {
  if (a.is_double() && b.is_double()) {
    const double x = a.get_double(), y = b.get_double();
    return x == y || std::fabs(x - y) <= 1e-12 * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const auto &p = a.get_array(), &q = b.get_array();
    return p.size() == q.size() && std::equal(p.begin(), p.end(), q.begin(), same_json);
  }
  if (a.is_object()) {
    const auto &p = a.get_object(), &q = b.get_object();
    if (p.size() != q.size()) return false;
    for (const auto& kv : p) {
      const auto* other = q.if_contains(kv.key());
      if (!other || !same_json(kv.value(), *other)) return false;
    }
    return true;
  }
  return a == b;
}

// What check_verb_args lets through is what the verbs can take as is: keys of
// the verb's table only, strings where strings go, numbers within their kind
// (so the casts to unsigned in live_ops.cpp never truncate).
void check_accepted_args(const reactor::control_request& request) {
  auto checked = reactor::check_verb_args(request);
  auto spec = reactor::verb_args(request.op);
  if (!spec) {
    fuzz_check(checked.has_value(), "an op the table does not know is left to the dispatcher");
    return;
  }
  if (!checked) {
    fuzz_check(checked.error().code == errc::invalid_value, "argument errors are invalid_value");
    fuzz_check(!checked.error().message.empty(), "argument errors say what is wrong");
    return;
  }
  for (const auto& kv : request.args) {
    const reactor::arg_spec* found = nullptr;
    for (const auto& a : *spec)
      if (a.key == kv.key()) found = &a;
    fuzz_check(found != nullptr, "an accepted argument is one of the verb's");
    if (found->kind == reactor::arg_kind::string) {
      fuzz_check(kv.value().is_string(), "an accepted string argument is a string");
      continue;
    }
    auto n = reactor::arg_uint(request.args, kv.key());
    fuzz_check(n.has_value() && *n <= reactor::arg_max(found->kind), "an accepted number is within its kind");
    if (found->kind == reactor::arg_kind::count)
      fuzz_check(static_cast<std::uint64_t>(static_cast<unsigned>(*n)) == *n, "a count survives the cast");
  }
}

void check_request(std::string_view line) {
  boost::json::value id;
  auto request = reactor::parse_request(line, id);
  // A line with a repeated key is never a request (the last "op" would win).
  if (request) fuzz_check(reactor::check_unique_keys(line).has_value(), "a parsed request has no repeated key");
  if (!request) {
    // Error replies echo the id, whatever it was.
    const std::string reply = reactor::encode_error(id, request.error());
    fuzz_check(!reply.empty() && reply.back() == '\n', "an error reply is one line");
    return;
  }
  fuzz_check(!request->op.empty(), "a parsed request has an op");
  fuzz_check(request->id == id, "the parsed id is the one echoed");
  for (const auto& kv : request->args) {
    (void)reactor::arg_string(request->args, kv.key());
    (void)reactor::arg_uint(request->args, kv.key());
  }
  (void)reactor::arg_string(request->args, "guest");
  (void)reactor::arg_uint(request->args, "vcpu");
  check_accepted_args(*request);

  // vnumactl encodes what the daemon parses: the round trip must be exact.
  const std::string encoded = reactor::encode_request(*request);
  fuzz_check(!encoded.empty() && encoded.back() == '\n', "an encoded request is one line");
  boost::json::value id_again;
  auto again = reactor::parse_request(std::string_view(encoded).substr(0, encoded.size() - 1), id_again);
  fuzz_check(again.has_value() || encoded.size() - 1 > reactor::max_request_bytes,
             "an encoded request parses again");
  if (again) {
    fuzz_check(again->op == request->op, "the op survives the round trip");
    fuzz_check(same_json(again->args, request->args), "the args survive the round trip");
    fuzz_check(same_json(again->id, request->id), "the id survives the round trip");
  }
  (void)reactor::encode_ok(request->id, request->args);
}

}  // namespace

int fuzz_control(const std::uint8_t* data, std::size_t size) {
  const std::string_view text = as_text(data, size);
  check_request(text);
  std::size_t start = 0;
  while (start < text.size()) {
    const std::size_t nl = text.find('\n', start);
    const std::size_t end = nl == std::string_view::npos ? text.size() : nl;
    if (end > start) check_request(text.substr(start, end - start));
    if (nl == std::string_view::npos) break;
    start = nl + 1;
  }
  return 0;
}

}  // namespace vnumad::fuzz
