#include "reactor/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <charconv>
#include <cstdlib>

namespace vnumad::reactor {
namespace {

struct level_name {
  log_level level;
  std::string_view name;
  std::string_view prefix;
};
constexpr std::array<level_name, 4> levels = {{
    {log_level::error, "error", "ERROR"},
    {log_level::warning, "warning", "WARNING"},
    {log_level::info, "info", "INFO"},
    {log_level::debug, "debug", "DEBUG"},
}};

template <class T>
bool parse_number(std::string_view s, T& out) {
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return !s.empty() && ec == std::errc() && ptr == s.data() + s.size();
}

// write(2) of the whole line at once, so lines from a daemon and its children
// sharing stderr do not interleave mid-line.
void write_stderr(std::string_view line) {
  while (!line.empty()) {
    ssize_t n = ::write(STDERR_FILENO, line.data(), line.size());
    if (n <= 0) return;  // nowhere left to report it
    line.remove_prefix(static_cast<std::size_t>(n));
  }
}

}  // namespace

std::string_view to_string(log_level level) {
  for (const auto& l : levels)
    if (l.level == level) return l.name;
  return "unknown";
}

result<log_level> parse_log_level(std::string_view text) {
  for (const auto& l : levels)
    if (l.name == text) return l.level;
  if (text == "err") return log_level::error;
  if (text == "warn") return log_level::warning;
  if (text == "trace") return log_level::debug;
  return make_error(errc::invalid_value,
                    "log level '" + std::string(text) + "' is not one of error, warning, info, debug");
}

bool journal_stream_matches(std::string_view journal_stream, dev_t dev, ino_t ino) {
  std::size_t colon = journal_stream.find(':');
  if (colon == std::string_view::npos) return false;
  unsigned long long want_dev = 0;
  unsigned long long want_ino = 0;
  if (!parse_number(journal_stream.substr(0, colon), want_dev) ||
      !parse_number(journal_stream.substr(colon + 1), want_ino))
    return false;
  return want_dev == static_cast<unsigned long long>(dev) && want_ino == static_cast<unsigned long long>(ino);
}

bool stderr_is_journal() {
  const char* env = std::getenv("JOURNAL_STREAM");
  if (!env) return false;
  struct stat st {};
  if (::fstat(STDERR_FILENO, &st) != 0) return false;
  return journal_stream_matches(env, st.st_dev, st.st_ino);
}

namespace {

// The text after the prefix: "guest 'web': " and the message on one line.
void append_text(std::string& line, std::string_view guest, std::string_view message) {
  if (!guest.empty()) {
    line += "guest '";
    line += guest;
    line += "': ";
  }
  for (char c : message) {
    if (c == '\n')
      line += "\\n";
    else if (c != '\r')
      line += c;
  }
}

}  // namespace

std::string format_log_line(log_level level, bool journal, std::string_view guest, std::string_view message) {
  std::string line;
  line.reserve(message.size() + guest.size() + 24);
  if (journal) {
    line += '<';
    line += std::to_string(static_cast<int>(level));
    line += '>';
  } else {
    for (const auto& l : levels)
      if (l.level == level) line += l.prefix;
    line += ": ";
  }
  append_text(line, guest, message);
  line += '\n';
  return line;
}

std::vector<std::string> journal_fields(log_level level, const log_context& context, std::string_view message,
                                        std::string_view identifier) {
  std::vector<std::string> fields;
  std::string text = "MESSAGE=";
  append_text(text, context.guest, message);
  fields.push_back(std::move(text));
  fields.push_back("PRIORITY=" + std::to_string(static_cast<int>(level)));
  fields.push_back("SYSLOG_IDENTIFIER=" + std::string(identifier));
  if (!context.guest.empty()) fields.push_back("GUEST=" + std::string(context.guest));
  if (context.cell) fields.push_back("CELL=" + std::to_string(*context.cell));
  if (!context.code.empty()) fields.push_back("CODE=" + std::string(context.code));
  return fields;
}

logger::logger(sink out, log_level level, bool journal, journal_sink to_journal)
    : out_(std::move(out)), level_(level), journal_(journal), to_journal_(std::move(to_journal)) {}

void logger::log(log_level level, const log_context& context, std::string_view message) const {
  if (!enabled(level)) return;
  if (journal_ && to_journal_ && to_journal_(journal_fields(level, context, message))) return;
  if (out_) out_(format_log_line(level, journal_, context.guest, message));
}

logger& global_logger() {
  static const bool journal = stderr_is_journal();
  static logger instance(write_stderr, log_level::info, journal, journal ? logger::journal_sink(send_to_journal) : nullptr);
  return instance;
}

void set_log_level(log_level level) { global_logger().set_level(level); }
void log(log_level level, std::string_view message) { global_logger().log(level, message); }
void log_guest(log_level level, std::string_view guest, std::string_view message) {
  global_logger().log(level, guest, message);
}
void log_with(log_level level, const log_context& context, std::string_view message) {
  global_logger().log(level, context, message);
}
void log_failure(std::string_view guest, std::string_view what, const error& e) {
  global_logger().log(log_level::error, log_context{.guest = guest, .code = to_string(e.code)},
                      std::string(what) + e.message);
}

}  // namespace vnumad::reactor
