// vnumactl's text for the daemon's replies and events, and the JSON of an
// error under --json.
#pragma once

#include "util/error.hpp"

#include <boost/json.hpp>

#include <iosfwd>
#include <string>
#include <string_view>

namespace vnumad::cli {

using formatter = void (*)(const boost::json::value& result, std::ostream& out);

// The text formatter of a verb's reply (print_generic for most).
formatter text_formatter(std::string_view verb);
// "guest 'web': running", or key: value lines.
void print_generic(const boost::json::value& result, std::ostream& out);
// One event line: "2026-12-02T02:19:26.123456Z web vcpus_changed: setvcpus (from=2 to=4)".
void print_event(const boost::json::object& event, std::ostream& out);
// {"error":{"code":"not_found","message":"..."}}: the protocol's error object.
std::string json_error(const error& e);

}  // namespace vnumad::cli
