#define BOOST_TEST_MODULE logging
#include <boost/test/unit_test.hpp>

#include "reactor/logging.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

using namespace vnumad;
using namespace vnumad::reactor;

BOOST_AUTO_TEST_CASE(levels_parse_and_print) {
  struct row {
    const char* text;
    log_level level;
  };
  const row rows[] = {{"error", log_level::error}, {"err", log_level::error},     {"warning", log_level::warning},
                      {"warn", log_level::warning}, {"info", log_level::info},    {"debug", log_level::debug},
                      {"trace", log_level::debug}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.text) {
      auto parsed = parse_log_level(r.text);
      BOOST_TEST_REQUIRE(parsed.has_value());
      BOOST_TEST(static_cast<int>(*parsed) == static_cast<int>(r.level));
    }
  }
  for (log_level l : {log_level::error, log_level::warning, log_level::info, log_level::debug})
    BOOST_TEST(static_cast<int>(parse_log_level(to_string(l)).value()) == static_cast<int>(l));
  for (const char* bad : {"", "INFO", "verbose", "info "}) {
    auto parsed = parse_log_level(bad);
    BOOST_TEST_REQUIRE(!parsed);
    BOOST_TEST(parsed.error().code == errc::invalid_value);
    BOOST_TEST(parsed.error().message.find("'" + std::string(bad) + "'") != std::string::npos);
    BOOST_TEST(parsed.error().message.find("error, warning, info, debug") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(line_format) {
  struct row {
    log_level level;
    bool journal;
    const char* guest;
    const char* message;
    const char* line;
  };
  const row rows[] = {
      {log_level::error, true, "", "boom", "<3>boom\n"},
      {log_level::warning, true, "web", "slow", "<4>guest 'web': slow\n"},
      {log_level::info, true, "", "ready", "<6>ready\n"},
      {log_level::debug, true, "db", "x", "<7>guest 'db': x\n"},
      {log_level::error, false, "", "boom", "ERROR: boom\n"},
      {log_level::warning, false, "web", "slow", "WARNING: guest 'web': slow\n"},
      {log_level::info, false, "", "ready", "INFO: ready\n"},
      {log_level::debug, false, "", "x", "DEBUG: x\n"},
      {log_level::error, false, "web", "QEMU said:\nline 2\r\n", "ERROR: guest 'web': QEMU said:\\nline 2\\n\n"},
  };
  for (const auto& r : rows) BOOST_TEST(format_log_line(r.level, r.journal, r.guest, r.message) == r.line);
}

BOOST_AUTO_TEST_CASE(level_filtering) {
  std::vector<std::string> lines;
  logger l([&](std::string_view line) { lines.emplace_back(line); }, log_level::warning);
  l.log(log_level::error, "e");
  l.log(log_level::warning, "w");
  l.log(log_level::info, "i");
  l.log(log_level::debug, "web", "d");
  BOOST_TEST(lines == (std::vector<std::string>{"ERROR: e\n", "WARNING: w\n"}));
  lines.clear();
  l.set_level(log_level::debug);
  l.log(log_level::debug, "web", "d");
  BOOST_TEST(lines == std::vector<std::string>{"DEBUG: guest 'web': d\n"});
  lines.clear();
  l.set_level(log_level::error);
  l.log(log_level::warning, "w");
  BOOST_TEST(lines.empty());
  BOOST_TEST(l.enabled(log_level::error));
  BOOST_TEST(!l.enabled(log_level::warning));
}

BOOST_AUTO_TEST_CASE(journal_stream_parsing) {
  BOOST_TEST(journal_stream_matches("8:12345", 8, 12345));
  BOOST_TEST(!journal_stream_matches("8:12345", 8, 12346));
  BOOST_TEST(!journal_stream_matches("9:12345", 8, 12345));
  BOOST_TEST(!journal_stream_matches("", 8, 12345));
  BOOST_TEST(!journal_stream_matches("8", 8, 12345));
  BOOST_TEST(!journal_stream_matches("8:", 8, 12345));
  BOOST_TEST(!journal_stream_matches("x:12345", 8, 12345));
  BOOST_TEST(!journal_stream_matches("8:12345x", 8, 12345));
}

// The real check: stderr's own dev:ino in JOURNAL_STREAM selects the journal
// prefixes; another inode (stderr redirected after systemd set it) does not.
BOOST_AUTO_TEST_CASE(stderr_detection_with_fake_journal_stream) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::fstat(STDERR_FILENO, &st) == 0);
  std::string mine = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
  std::string other = std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino + 1);

  ::setenv("JOURNAL_STREAM", mine.c_str(), 1);
  BOOST_TEST(stderr_is_journal());
  ::setenv("JOURNAL_STREAM", other.c_str(), 1);
  BOOST_TEST(!stderr_is_journal());
  ::unsetenv("JOURNAL_STREAM");
  BOOST_TEST(!stderr_is_journal());
}

// The global logger writes whole lines to fd 2: capture it through a pipe.
BOOST_AUTO_TEST_CASE(global_logger_writes_lines_to_stderr) {
  ::unsetenv("JOURNAL_STREAM");
  int fds[2];
  BOOST_TEST_REQUIRE(::pipe(fds) == 0);
  int saved = ::dup(STDERR_FILENO);
  ::dup2(fds[1], STDERR_FILENO);
  set_log_level(log_level::info);
  log(log_level::info, "hello");
  log_guest(log_level::warning, "web", "careful");
  log(log_level::debug, "hidden");
  ::dup2(saved, STDERR_FILENO);
  ::close(saved);
  ::close(fds[1]);
  std::string captured;
  char buf[256];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) captured.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  // Journal detection happened at first use; the expected prefix follows it.
  std::string info = global_logger().journal() ? "<6>" : "INFO: ";
  std::string warn = global_logger().journal() ? "<4>" : "WARNING: ";
  BOOST_TEST(captured == info + "hello\n" + warn + "guest 'web': careful\n");
}
