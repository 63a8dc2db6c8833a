// vnumactl console: the guest's serial console through the control socket,
// as virsh console. On a terminal, stdin goes raw (restored on every exit,
// signals included) and the escape character (Ctrl-] by default) ends the
// session; without one (a pipe), bytes pass through unchanged, so scripts
// and tests can drive it, and the end of stdin ends the session.
#include "cli/cmd_console.hpp"

#include <array>
#include <cerrno>
#include <csignal>
#include <cctype>
#include <cstring>
#include <ostream>
#include <poll.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

namespace vnumad::cli {

namespace {

// The terminal as it was, for the signal handler too.
termios saved_terminal{};
volatile sig_atomic_t terminal_raw = 0;

void restore_terminal() {
  if (terminal_raw) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_terminal);
  terminal_raw = 0;
}

void restore_and_reraise(int sig) {
  restore_terminal();
  ::signal(sig, SIG_DFL);
  ::raise(sig);
}

constexpr int restored_signals[] = {SIGTERM, SIGHUP, SIGINT, SIGQUIT, SIGPIPE};

// Raw mode for the session's lifetime.
struct raw_terminal {
  bool active = false;
  raw_terminal() {
    if (!::isatty(STDIN_FILENO) || ::tcgetattr(STDIN_FILENO, &saved_terminal) != 0) return;
    struct sigaction sa {};
    sa.sa_handler = restore_and_reraise;
    for (int sig : restored_signals) ::sigaction(sig, &sa, nullptr);
    termios raw = saved_terminal;
    ::cfmakeraw(&raw);
    terminal_raw = ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) == 0;
    active = terminal_raw;
  }
  ~raw_terminal() {
    restore_terminal();
    for (int sig : restored_signals) ::signal(sig, SIG_DFL);
  }
};

bool write_all(int fd, const char* data, std::size_t size, bool socket) {
  while (size > 0) {
    ssize_t n = socket ? ::send(fd, data, size, MSG_NOSIGNAL) : ::write(fd, data, size);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Bytes both ways until the escape byte, the end of stdin or the daemon
// closing. Returns whether the daemon closed the stream.
result<bool> relay(int sock, std::optional<char> escape, const std::string& already) {
  if (!already.empty() && !write_all(STDOUT_FILENO, already.data(), already.size(), false))
    return make_error(errc::io_error, std::string("console: write to stdout: ") + std::strerror(errno));
  std::array<char, 16 * 1024> chunk;
  pollfd fds[2] = {{STDIN_FILENO, POLLIN, 0}, {sock, POLLIN, 0}};
  for (;;) {
    if (::poll(fds, 2, -1) < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io_error, std::string("console: poll: ") + std::strerror(errno));
    }
    if (fds[1].revents) {
      ssize_t n = ::read(sock, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return true;
      if (!write_all(STDOUT_FILENO, chunk.data(), static_cast<std::size_t>(n), false))
        return make_error(errc::io_error, std::string("console: write to stdout: ") + std::strerror(errno));
    }
    if (fds[0].revents) {
      ssize_t n = ::read(STDIN_FILENO, chunk.data(), chunk.size());
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return false;
      std::size_t size = static_cast<std::size_t>(n);
      const char* end = escape ? static_cast<const char*>(std::memchr(chunk.data(), *escape, size)) : nullptr;
      if (end) size = static_cast<std::size_t>(end - chunk.data());
      if (!write_all(sock, chunk.data(), size, true))
        return make_error(errc::io_error, std::string("console: send to vnumad: ") + std::strerror(errno));
      if (end) return false;
    }
  }
}

}  // namespace

result<std::optional<char>> parse_escape(const std::string& text) {
  if (text == "none") return std::optional<char>();
  if (text.size() == 2 && text[0] == '^') {
    const char c = static_cast<char>(std::toupper(static_cast<unsigned char>(text[1])));
    if (c >= '@' && c <= '_') return std::optional<char>(static_cast<char>(c & 0x1f));
  }
  if (text.size() == 1) return std::optional<char>(text[0]);
  return make_error(errc::invalid_value, "--escape '" + text + "' is not valid (a control key as ^X, e.g. ^] or ^A, "
                                                                "one character, or none)");
}

int run_console(reactor::control_client& client, const std::string& name, const boost::json::object& args,
                std::optional<char> escape, const std::string& escape_text, const cli_io& io) {
  auto reply = client.call("console", args);
  if (!reply) return report(io, reply.error());
  io.err << "Connected to domain " << name << "\n";
  if (escape) io.err << "Escape character is " << escape_text << "\n";
  io.err.flush();
  result<bool> closed = false;
  {
    raw_terminal terminal;
    closed = relay(client.native_handle(), escape, client.take_buffered());
  }
  if (!closed) return report(io, closed.error());
  io.err << "\n" << (*closed ? "Console of " + name + " closed by vnumad (the guest stopped, or another client took it over)\n"
                             : std::string());
  return exit_ok;
}

}  // namespace vnumad::cli
