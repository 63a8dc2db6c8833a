// vnumactl console against the booted test guest: its ttyS0 runs each typed
// line (tests/guest/init.sh), so a command typed through vnumactl console,
// the daemon and QEMU's console socket comes back with its answer. One client
// at a time (a second is refused, --force takes over), never on the read-only
// socket, the escape key ends a session, the stream ends when the guest
// stops, and the console works again after a daemon restart. The serial log
// of a <serial type='file'> keeps everything meanwhile.
#define BOOST_TEST_MODULE console_live
#include "daemon_support.hpp"

#include <poll.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// vnumactl console NAME run with pipes for stdin, stdout and stderr, as a
// script would run it.
class console_client {
 public:
  console_client(const fs::path& socket, const std::string& guest, std::vector<std::string> extra = {}) {
    int in[2], out[2], err[2];
    BOOST_TEST_REQUIRE((::pipe2(in, O_CLOEXEC) == 0 && ::pipe2(out, O_CLOEXEC) == 0 && ::pipe2(err, O_CLOEXEC) == 0));
    std::vector<std::string> args = {vnumactl_binary.string(), "console", guest, "--socket", socket.string()};
    args.insert(args.end(), extra.begin(), extra.end());
    pid_ = spawn_program(args, [&] {
      ::dup2(in[0], 0);
      ::dup2(out[1], 1);
      ::dup2(err[1], 2);
    });
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    in_ = in[1];
    out_ = out[0];
    err_ = err[0];
  }
  ~console_client() {
    close_stdin();
    if (pid_ > 0) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    ::close(out_);
    ::close(err_);
  }

  void type(const std::string& text) { BOOST_TEST_REQUIRE(::write(in_, text.data(), text.size()) == ssize_t(text.size())); }
  void close_stdin() {
    if (in_ >= 0) ::close(in_);
    in_ = -1;
  }
  // Reads stdout and stderr until `done` holds or `timeout` passes.
  bool wait_for(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!done()) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0) return false;
      pollfd fds[2] = {{out_, POLLIN, 0}, {err_, POLLIN, 0}};
      if (::poll(fds, 2, static_cast<int>(std::min<long>(left.count(), 100))) <= 0) continue;
      char buf[4096];
      for (int i = 0; i < 2; ++i) {
        if (!fds[i].revents) continue;
        ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
        if (n > 0) (i == 0 ? out : err).append(buf, static_cast<std::size_t>(n));
      }
    }
    return true;
  }
  bool wait_output(const std::string& text, std::chrono::milliseconds timeout = 30s) {
    return wait_for([&] { return out.find(text) != std::string::npos; }, timeout);
  }
  // The exit status once it ended within `timeout`, else nullopt.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = 15s) {
    std::optional<int> code;
    wait_for(
        [&] {
          int status = 0;
          if (pid_ > 0 && ::waitpid(pid_, &status, WNOHANG) == pid_) {
            pid_ = -1;
            code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
          }
          return code.has_value();
        },
        timeout);
    if (code) wait_for([] { return false; }, 200ms);  // what it printed last
    return code;
  }

  std::string out, err;

 private:
  pid_t pid_ = -1;
  int in_ = -1, out_ = -1, err_ = -1;
};

// A command whose answer differs from its echo, so seeing the answer proves
// the guest ran it.
std::string ask(console_client& c, unsigned n) {
  const std::string answer = "hello-" + std::to_string(n + 1);
  c.type("echo hello-$((" + std::to_string(n) + "+1))\n");
  BOOST_TEST(c.wait_output(answer), "no answer " << answer << "; stdout:\n" << c.out << "\nstderr:\n" << c.err);
  return answer;
}

// A console client that is refused: it ends at once with `status`, its
// stderr naming `why`.
void expect_refused(const fs::path& socket, const std::string& guest, int status, const std::string& why) {
  console_client c(socket, guest);
  auto code = c.wait_exit();
  BOOST_TEST_REQUIRE(code.has_value(), "vnumactl console did not end");
  BOOST_TEST(*code == status);
  BOOST_TEST(c.err.find(why) != std::string::npos, c.err);
}

}  // namespace

BOOST_AUTO_TEST_CASE(console_types_into_the_guest_and_reads_its_answer) {
  const fs::path ro_socket = "/tmp/vnumad-console-ro-" + std::to_string(::getpid()) + ".sock";
  daemon_fixture d("readonly_socket = " + ro_socket.string() + "\n");
  d.define(small_test_guest("con"));
  BOOST_TEST_REQUIRE(d.wait_state("con", "running"), d.daemon_log());
  d.wait_guest_ready("con");

  // QEMU serves the console; vnumad connects to it only while attached.
  const pid_t qemu = d.guest_pid("con").value_or(0);
  const std::string cmdline = command_line(qemu);
  // The serial file is its log (passed by fd when QEMU runs unprivileged).
  BOOST_TEST(cmdline.find("socket,id=charserial0,path=" + (d.dir / "state/con/qemu/console.sock").string() +
                          ",server=on,wait=off,logfile=") != std::string::npos,
             cmdline);

  auto first = std::make_unique<console_client>(d.socket(), "con");
  BOOST_TEST_REQUIRE(first->wait_for([&] { return first->err.find("Escape character is ^]") != std::string::npos; }, 10s),
                     first->err);
  BOOST_TEST(first->err.find("Connected to domain con") != std::string::npos, first->err);
  const std::string answer = ask(*first, 41000);
  // The serial log of the <serial type='file'> has it too.
  BOOST_TEST(wait_until([&] { return read_text(d.serial("con")).find(answer) != std::string::npos; }, 10s));
  // The daemon serves others meanwhile.
  BOOST_TEST(d.call("list", {}, 5s).has_value());

  // A second client is refused while the first is attached.
  expect_refused(d.socket(), "con", 1, "console attached");
  // Never on the read-only socket.
  {
    reactor::control_client ro;
    BOOST_TEST_REQUIRE(ro.connect(ro_socket.string()).has_value());
    auto refused = ro.call("console", {{"name", "con"}}, 5s);
    BOOST_TEST_REQUIRE(!refused.has_value());
    BOOST_TEST(refused.error().code == errc::permission_denied);
    BOOST_TEST(refused.error().message.find("read-write socket") != std::string::npos, refused.error().message);
  }
  // The first still works after those.
  ask(*first, 42000);

  // --force takes it over: the first client's stream ends.
  console_client third(d.socket(), "con", {"--force", "--escape", "^A"});
  BOOST_TEST(third.wait_for([&] { return third.err.find("Escape character is ^A") != std::string::npos; }, 10s), third.err);
  auto first_code = first->wait_exit();
  BOOST_TEST_REQUIRE(first_code.has_value(), "the taken-over client did not end");
  BOOST_TEST(*first_code == 0);
  BOOST_TEST(first->err.find("closed by vnumad") != std::string::npos, first->err);
  first.reset();
  ask(third, 43000);
  // The escape key ends the session at once, and frees the console.
  third.type("\x01");
  auto third_code = third.wait_exit();
  BOOST_TEST_REQUIRE(third_code.has_value(), "the escape key did not end the session");
  BOOST_TEST(*third_code == 0);

  // The end of stdin ends a piped session too.
  {
    console_client piped(d.socket(), "con");
    ask(piped, 44000);
    piped.close_stdin();
    auto code = piped.wait_exit();
    BOOST_TEST_REQUIRE(code.has_value());
    BOOST_TEST(*code == 0);
  }

  // A daemon restart ends the attached session; the guest keeps running and
  // the console works again once the new daemon has re-attached.
  {
    console_client attached(d.socket(), "con");
    ask(attached, 45000);
    d.stop(SIGTERM);
    BOOST_TEST(attached.wait_exit().has_value(), "the session outlived its daemon");
  }
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state("con", "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid("con").value_or(0) == qemu);
  {
    console_client again(d.socket(), "con");
    ask(again, 46000);
    // The stream ends cleanly when the guest stops.
    BOOST_TEST(d.call("destroy", {{"name", "con"}}, 30s).has_value());
    auto code = again.wait_exit();
    BOOST_TEST_REQUIRE(code.has_value(), "the session outlived its guest");
    BOOST_TEST(*code == 0);
    BOOST_TEST(again.err.find("closed by vnumad") != std::string::npos, again.err);
  }
  // A guest that is not running has no console (not_running, as other verbs
  // on a stopped guest: exit status 2).
  expect_refused(d.socket(), "con", 2, "is not running");
  std::error_code ec;
  fs::remove(ro_socket, ec);
}
