// QMP wire format, without I/O: one JSON object per line. Decoding turns a
// line into one of the four things QEMU sends (greeting, return, error,
// event); encoding makes a command line; line_framer cuts a byte stream into
// lines and refuses lines past a size limit, so a broken or hostile peer cannot
// make the daemon buffer without bound.
#pragma once

#include "util/error.hpp"

#include <boost/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace vnumad::qmp {

// {"QMP": {"version": {...}, "capabilities": [...]}}
struct qmp_greeting {
  boost::json::object version;  // {"qemu": {"major":..,"minor":..,"micro":..}, "package": ".."}
  boost::json::array capabilities;
};

// {"return": VALUE, "id": ID}. Our ids are unsigned integers; a reply whose id
// is absent or of another type has no id here.
struct qmp_return {
  std::optional<std::uint64_t> id;
  boost::json::value value;
};

// {"error": {"class": "GenericError", "desc": "..."}, "id": ID}
struct qmp_error_reply {
  std::optional<std::uint64_t> id;
  std::string error_class;
  std::string description;
};

// {"event": "NAME", "data": {...}, "timestamp": {"seconds": S, "microseconds": U}}
struct qmp_event {
  std::string name;
  boost::json::object data;  // empty when the event has none
  std::int64_t seconds = 0;
  std::int64_t microseconds = 0;
};

using qmp_message = std::variant<qmp_greeting, qmp_return, qmp_error_reply, qmp_event>;

// A command to send: {"execute": name, "arguments": {...}}.
struct qmp_command {
  std::string execute;
  boost::json::object arguments;
};

// Decodes one line (without its line end). Errors (protocol_error) name what
// is wrong: not JSON, not an object, no known key, a key of the wrong type.
result<qmp_message> decode_message(std::string_view line);

// One command line, '\n'-terminated. "arguments" is left out when empty
// (QEMU accepts both; leaving it out matches what QEMU documents).
std::string encode_command(const qmp_command& command, std::uint64_t id);

// Default limit for one QMP line: QEMU's largest replies (query-qmp-schema)
// are a few hundred KiB; nothing the daemon asks for comes close to 4 MiB.
inline constexpr std::size_t default_max_line = 4 * 1024 * 1024;

// Cuts a byte stream into lines. Accepts "\n" and "\r\n" endings (QEMU sends
// "\r\n"); empty lines are skipped. Once a line exceeds the limit the framer
// is failed for good: the stream has no way to resynchronise safely.
class line_framer {
 public:
  explicit line_framer(std::size_t max_line = default_max_line) : max_line_(max_line) {}

  void feed(std::string_view bytes) { buffer_.append(bytes); }

  // The next complete line, std::nullopt when more bytes are needed, or a
  // protocol_error when a line (complete or not) is longer than the limit.
  result<std::optional<std::string>> next_line();

  // Bytes received but not yet part of a complete line.
  std::size_t pending() const { return buffer_.size() - start_; }

 private:
  std::size_t max_line_;
  std::string buffer_;
  std::size_t start_ = 0;
  bool failed_ = false;
};

}  // namespace vnumad::qmp
