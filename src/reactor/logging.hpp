// One line per event on stderr, or one journal entry per event under
// journald. When stderr is the journal (JOURNAL_STREAM matches it), an event
// goes through sd_journal_sendv with MESSAGE= and PRIORITY= plus GUEST=,
// CELL= and CODE= when it concerns a guest, a guest cell or an error code
// (`journalctl -u vnumad GUEST=web`); if that send fails, the line goes to
// stderr with a "<N>" priority prefix (sd-daemon(3)). Elsewhere (a terminal,
// a file) a plain "LEVEL: " prefix reads better, and the journal is not used
// even where it runs, so output stays where the operator sent it. Pure
// formatting apart from the global sinks.
#pragma once

#include "util/error.hpp"

#include <sys/types.h>

#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

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

// What an event concerns, for the journal's fields: the guest's name, the
// guest cell (vNUMA node) and the error code (to_string(errc)). Empty parts
// are left out.
struct log_context {
  std::string_view guest;
  std::optional<unsigned> cell;
  std::string_view code;
};

// "<6>guest 'web': started\n" or "INFO: guest 'web': started\n"; an empty
// guest leaves the guest part out. Newlines inside the message become "\n"
// text so one event stays one journal entry.
std::string format_log_line(log_level level, bool journal, std::string_view guest, std::string_view message);

// The fields of the journal entry for an event: MESSAGE= (the text of the
// stderr line, "guest 'web': started"), PRIORITY=, SYSLOG_IDENTIFIER=, then
// GUEST=, CELL=, CODE= as far as the context has them.
std::vector<std::string> journal_fields(log_level level, const log_context& context, std::string_view message,
                                        std::string_view identifier = "vnumad");

// Sends one entry with sd_journal_sendv (libsystemd): true if journald took it.
bool send_to_journal(const std::vector<std::string>& fields);

class logger {
 public:
  using sink = std::function<void(std::string_view line)>;
  // Returns false when the entry did not reach the journal.
  using journal_sink = std::function<bool(const std::vector<std::string>& fields)>;
  // journal: stderr is the journal; with to_journal, events go there as
  // entries with fields, else (or when it fails) as "<N>" lines to out.
  explicit logger(sink out, log_level level = log_level::info, bool journal = false, journal_sink to_journal = {});

  void set_level(log_level level) { level_ = level; }
  log_level level() const { return level_; }
  bool enabled(log_level level) const { return static_cast<int>(level) <= static_cast<int>(level_); }
  bool journal() const { return journal_; }

  void log(log_level level, std::string_view message) const { log(level, log_context{}, message); }
  void log(log_level level, std::string_view guest, std::string_view message) const {
    log(level, log_context{.guest = guest}, message);
  }
  void log(log_level level, const log_context& context, std::string_view message) const;

 private:
  sink out_;
  log_level level_;
  bool journal_;
  journal_sink to_journal_;
};

// The daemon's logger: stderr, or the journal when stderr is the journal
// (detected at first use).
logger& global_logger();
void set_log_level(log_level level);
void log(log_level level, std::string_view message);
void log_guest(log_level level, std::string_view guest, std::string_view message);
// An event with its journal context: log_with(log_level::info, {.guest = g, .cell = 1}, "...").
void log_with(log_level level, const log_context& context, std::string_view message);
// A failure: at level error, "WHAT" + e.message, with CODE=to_string(e.code).
void log_failure(std::string_view guest, std::string_view what, const error& e);

}  // namespace vnumad::reactor
