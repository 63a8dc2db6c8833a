// One line per event on stderr. Under systemd, stderr is a journal stream and
// a "<N>" prefix sets the entry's priority (sd-daemon(3)); elsewhere a plain
// "LEVEL: " prefix reads better. Pure formatting apart from the global sink.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <functional>
#include <string>
#include <string_view>

namespace vnumad::reactor {

// Values are the syslog priorities journald understands.
enum class log_level { error = 3, warning = 4, info = 6, debug = 7 };

std::string_view to_string(log_level level);
// "error", "warning", "info", "debug" (also "err", "warn", and "trace" as
// debug); the error names the value and the valid ones.
result<log_level> parse_log_level(std::string_view text);

// JOURNAL_STREAM is "DEV:INO" of the journal's socket; only if it matches
// stderr is stderr really the journal (it may have been redirected since).
bool journal_stream_matches(std::string_view journal_stream, dev_t dev, ino_t ino);
// Reads JOURNAL_STREAM and fstat(2)s stderr.
bool stderr_is_journal();

// "<6>guest 'web': started\n" or "INFO: guest 'web': started\n"; an empty
// guest leaves the guest part out. Newlines inside the message become "\n"
// text so one event stays one journal entry.
std::string format_log_line(log_level level, bool journal, std::string_view guest, std::string_view message);

class logger {
 public:
  using sink = std::function<void(std::string_view line)>;
  explicit logger(sink out, log_level level = log_level::info, bool journal = false);

  void set_level(log_level level) { level_ = level; }
  log_level level() const { return level_; }
  bool enabled(log_level level) const { return static_cast<int>(level) <= static_cast<int>(level_); }
  bool journal() const { return journal_; }

  void log(log_level level, std::string_view message) const { log(level, {}, message); }
  void log(log_level level, std::string_view guest, std::string_view message) const;

 private:
  sink out_;
  log_level level_;
  bool journal_;
};

// The daemon's logger: stderr, journal prefixes detected at first use.
logger& global_logger();
void set_log_level(log_level level);
void log(log_level level, std::string_view message);
void log_guest(log_level level, std::string_view guest, std::string_view message);

}  // namespace vnumad::reactor
