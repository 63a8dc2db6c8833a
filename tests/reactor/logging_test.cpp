#define BOOST_TEST_MODULE logging
#include <boost/test/unit_test.hpp>

#include "reactor/logging.hpp"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <sched.h>
#include <unistd.h>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
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

BOOST_AUTO_TEST_CASE(journal_fields_name_guest_cell_and_code) {
  using fields = std::vector<std::string>;
  BOOST_TEST(journal_fields(log_level::info, {}, "ready") ==
             (fields{"MESSAGE=ready", "PRIORITY=6", "SYSLOG_IDENTIFIER=vnumad"}));
  BOOST_TEST(journal_fields(log_level::warning, {.guest = "web"}, "slow") ==
             (fields{"MESSAGE=guest 'web': slow", "PRIORITY=4", "SYSLOG_IDENTIFIER=vnumad", "GUEST=web"}));
  BOOST_TEST(journal_fields(log_level::info, {.guest = "db", .cell = 0u}, "attached") ==
             (fields{"MESSAGE=guest 'db': attached", "PRIORITY=6", "SYSLOG_IDENTIFIER=vnumad", "GUEST=db", "CELL=0"}));
  BOOST_TEST(journal_fields(log_level::error, {.guest = "db", .cell = 3u, .code = "insufficient_cpus"}, "no CPUs", "x") ==
             (fields{"MESSAGE=guest 'db': no CPUs", "PRIORITY=3", "SYSLOG_IDENTIFIER=x", "GUEST=db", "CELL=3",
                     "CODE=insufficient_cpus"}));
  BOOST_TEST(journal_fields(log_level::error, {.code = "xml_malformed"}, "a.xml: bad\nline\r") ==
             (fields{"MESSAGE=a.xml: bad\\nline", "PRIORITY=3", "SYSLOG_IDENTIFIER=vnumad", "CODE=xml_malformed"}));
}

// With stderr being the journal, events go to the journal sink as fields; a
// failed send falls back to the "<N>" line; off the journal the sink is unused.
BOOST_AUTO_TEST_CASE(logger_sends_entries_and_falls_back_to_lines) {
  std::vector<std::string> lines;
  std::vector<std::vector<std::string>> entries;
  bool journal_up = true;
  auto line_sink = [&](std::string_view line) { lines.emplace_back(line); };
  auto journal_sink = [&](const std::vector<std::string>& f) {
    if (journal_up) entries.push_back(f);
    return journal_up;
  };
  logger on_journal(line_sink, log_level::info, true, journal_sink);
  on_journal.log(log_level::error, log_context{.guest = "web", .code = "timeout"}, "no QMP");
  on_journal.log(log_level::debug, "web", "filtered out");
  BOOST_TEST_REQUIRE(entries.size() == 1u);
  BOOST_TEST(entries[0] == journal_fields(log_level::error, {.guest = "web", .code = "timeout"}, "no QMP"));
  BOOST_TEST(lines.empty());
  journal_up = false;
  on_journal.log(log_level::warning, "web", "journald gone");
  BOOST_TEST(lines == std::vector<std::string>{"<4>guest 'web': journald gone\n"});

  lines.clear();
  entries.clear();
  journal_up = true;
  logger off_journal(line_sink, log_level::info, false, journal_sink);
  off_journal.log(log_level::info, log_context{.guest = "web", .cell = 1u}, "attached");
  BOOST_TEST(entries.empty());
  BOOST_TEST(lines == std::vector<std::string>{"INFO: guest 'web': attached\n"});
}

namespace {

// journald's native protocol (systemd's "Native Journal Protocol"): fields
// "KEY=value\n", or "KEY\n" + little-endian 64-bit size + value + "\n" for
// values with newlines.
std::map<std::string, std::string> parse_native_entry(const std::string& d) {
  std::map<std::string, std::string> out;
  std::size_t i = 0;
  while (i < d.size()) {
    std::size_t nl = d.find('\n', i);
    if (nl == std::string::npos) throw std::runtime_error("unterminated field at " + std::to_string(i));
    std::string line = d.substr(i, nl - i);
    std::size_t eq = line.find('=');
    if (eq != std::string::npos) {
      out[line.substr(0, eq)] = line.substr(eq + 1);
      i = nl + 1;
      continue;
    }
    std::uint64_t size = 0;
    if (nl + 1 + 8 > d.size()) throw std::runtime_error("binary field " + line + " without size");
    std::memcpy(&size, d.data() + nl + 1, 8);  // x86-64 is little-endian, like the protocol
    std::size_t start = nl + 1 + 8;
    if (start + size + 1 > d.size() || d[start + size] != '\n') throw std::runtime_error("binary field " + line);
    out[line] = d.substr(start, size);
    i = start + size + 1;
  }
  return out;
}

bool is_root() { return ::geteuid() == 0; }

// In a child with its own mount namespace: a tmpfs over /run/systemd and at
// journald's path /run/systemd/journal/socket either a datagram socket
// (`with_socket`) or a plain file, which no one can send to. The child sends
// `fields` with send_to_journal and writes "1" or "0" (its result) followed
// by the datagram it received. Returns what the child wrote; throws if the
// set-up failed.
std::string send_in_namespace(const std::vector<std::string>& fields, bool with_socket) {
  int fds[2];
  if (::pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(fds[0]);
    auto die = [&](const char* what) {
      std::string m = std::string("E") + what + ": " + std::strerror(errno);
      (void)!::write(fds[1], m.data(), m.size());
      ::_exit(1);
    };
    if (::unshare(CLONE_NEWNS) != 0) die("unshare(CLONE_NEWNS)");
    if (::mount("none", "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) die("mount --make-rprivate /");
    ::mkdir("/run/systemd", 0755);
    if (::mount("tmpfs", "/run/systemd", "tmpfs", 0, "mode=0755") != 0) die("mount tmpfs /run/systemd");
    int sock = -1;
    if (::mkdir("/run/systemd/journal", 0755) != 0) die("mkdir /run/systemd/journal");
    if (!with_socket) {
      int f = ::open("/run/systemd/journal/socket", O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
      if (f < 0) die("create /run/systemd/journal/socket");
      ::close(f);
    } else {
      sock = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
      sockaddr_un addr{};
      addr.sun_family = AF_UNIX;
      std::strcpy(addr.sun_path, "/run/systemd/journal/socket");
      if (sock < 0 || ::bind(sock, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) die("bind journal socket");
    }
    bool sent = send_to_journal(fields);
    std::string report = sent ? "1" : "0";
    if (sock >= 0 && sent) {
      std::string buf(1 << 16, '\0');
      ssize_t n = ::recv(sock, buf.data(), buf.size(), MSG_DONTWAIT);
      if (n < 0) die("recv");
      report.append(buf.data(), static_cast<std::size_t>(n));
    }
    (void)!::write(fds[1], report.data(), report.size());
    ::_exit(0);
  }
  ::close(fds[1]);
  std::string got;
  char buf[4096];
  for (ssize_t n; (n = ::read(fds[0], buf, sizeof buf)) > 0;) got.append(buf, static_cast<std::size_t>(n));
  ::close(fds[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!got.empty() && got[0] == 'E') throw std::runtime_error(got.substr(1));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || got.empty())
    throw std::runtime_error("child failed, status " + std::to_string(status));
  return got;
}

}  // namespace

// The nearest thing to journald this machine has (no systemd here): a
// datagram socket at journald's own path, in a private mount namespace, read
// by the test. libsystemd's sd_journal_sendv writes the entry; the test
// parses the native protocol it received.
BOOST_AUTO_TEST_CASE(entries_reach_a_journal_socket_in_native_protocol,
                     *boost::unit_test::precondition([](boost::unit_test::test_unit_id) {
                       return boost::test_tools::assertion_result(is_root());
                     })) {
  auto fields = journal_fields(log_level::error, {.guest = "web", .cell = 2u, .code = "insufficient_memory"},
                               "start failed: node 0 lacks memory");
  fields.push_back("VNUMAD_TEST=two\nlines");  // a value sd-journal must send in the binary form
  std::string got = send_in_namespace(fields, true);
  BOOST_TEST_REQUIRE(got[0] == '1');
  auto entry = parse_native_entry(got.substr(1));
  BOOST_TEST(entry["MESSAGE"] == "guest 'web': start failed: node 0 lacks memory");
  BOOST_TEST(entry["PRIORITY"] == "3");
  BOOST_TEST(entry["SYSLOG_IDENTIFIER"] == "vnumad");
  BOOST_TEST(entry["GUEST"] == "web");
  BOOST_TEST(entry["CELL"] == "2");
  BOOST_TEST(entry["CODE"] == "insufficient_memory");
  BOOST_TEST(entry["VNUMAD_TEST"] == "two\nlines");
  for (const auto& [key, value] : entry) BOOST_TEST_MESSAGE("received " << key << "=" << value);
  BOOST_TEST(entry.size() == 7u);  // those, and no CODE_FILE= & co. naming journal_send.cpp

  // journald's path is there but takes nothing: the send reports failure, so
  // the logger falls back to stderr. (With no path at all libsystemd drops
  // the entry and reports success: no journald is not an error to it.)
  BOOST_TEST(send_in_namespace(fields, false) == "0");
}
