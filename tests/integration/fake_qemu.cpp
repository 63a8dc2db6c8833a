// A stand-in for qemu-system-x86_64 used by the fault-injection tests: it
// runs the real QEMU as its child and relays QMP between the daemon and it,
// so everything up to the planned fault is real. The fault comes from a plan
// file, $VNUMAD_FAKE_QEMU_PLAN_DIR/<guest name>, one line:
//
//   exit-at-spawn        print a QEMU-style error and exit 1 before QMP exists
//   no-greeting          accept the daemon's QMP connection, never send a byte
//   delay-greeting SECS  accept it, greet only SECS seconds later (a QEMU that
//                        first faults in a large locked RAM), on every connection
//   kill-at COMMAND      SIGKILL itself and QEMU when the daemon sends COMMAND
//   kill-after COMMAND   relay COMMAND's reply, then SIGKILL itself and QEMU
//   close-at COMMAND     close the daemon's QMP connection on COMMAND, keep running
//   hang-at COMMAND      swallow COMMAND: its reply never comes
//
// The plan is read at spawn, on each QMP connection and on each command.
// When the fault fires, "<guest name>.reached" is written next to the plan,
// so a test knows its fault really happened at that step. Without a plan the
// relay is transparent. The real binary is $VNUMAD_FAKE_QEMU_REAL, or
// /usr/bin/qemu-system-x86_64. QEMU dies with this process (PDEATHSIG), as a
// real QEMU would with its own threads.
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

namespace {

struct plan {
  std::string action;   // empty: no fault
  std::string command;  // the QMP command it applies to
};

std::string guest_name;
std::string plan_dir;
pid_t real_qemu = -1;

[[noreturn]] void die(const std::string& message) {
  std::fprintf(stderr, "qemu-system-x86_64: fake: %s\n", message.c_str());
  if (real_qemu > 0) ::kill(real_qemu, SIGKILL);
  std::exit(1);
}

void mark_reached(const plan& p) {
  std::ofstream(plan_dir + "/" + guest_name + ".reached") << p.action << ' ' << p.command << '\n';
}

[[noreturn]] void kill_everything() {
  if (real_qemu > 0) ::kill(real_qemu, SIGKILL);
  ::kill(::getpid(), SIGKILL);
  std::abort();
}

plan read_plan() {
  plan p;
  const char* dir = std::getenv("VNUMAD_FAKE_QEMU_PLAN_DIR");
  if (!dir) return p;
  plan_dir = dir;
  std::ifstream in(plan_dir + "/" + guest_name);
  in >> p.action >> p.command;
  return p;
}

// "key=value" out of a comma-separated option string.
std::string option_value(const std::string& options, const std::string& key) {
  std::size_t start = 0;
  while (start <= options.size()) {
    std::size_t end = options.find(',', start);
    if (end == std::string::npos) end = options.size();
    std::string item = options.substr(start, end - start);
    if (item.rfind(key + "=", 0) == 0) return item.substr(key.size() + 1);
    start = end + 1;
  }
  return {};
}

sockaddr_un unix_address(const std::string& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  if (path.size() >= sizeof(addr.sun_path)) die("socket path too long: " + path);
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  return addr;
}

int listen_on(const std::string& path) {
  ::unlink(path.c_str());
  int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un addr = unix_address(path);
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(fd, 4) != 0)
    die("cannot listen on " + path + ": " + std::strerror(errno));
  return fd;
}

// Exits like the real QEMU did once it has gone.
void exit_if_qemu_gone() {
  int status = 0;
  if (::waitpid(real_qemu, &status, WNOHANG) != real_qemu) return;
  real_qemu = -1;
  if (WIFSIGNALED(status)) {
    ::signal(WTERMSIG(status), SIG_DFL);
    ::raise(WTERMSIG(status));
  }
  std::exit(WIFEXITED(status) ? WEXITSTATUS(status) : 1);
}

int connect_to_qemu(const std::string& path) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  sockaddr_un addr = unix_address(path);
  while (std::chrono::steady_clock::now() < deadline) {
    exit_if_qemu_gone();
    int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) return fd;
    ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  die("the real QEMU never opened " + path);
}

// Waits for a readable fd, watching the real QEMU meanwhile.
void wait_readable(int fd) {
  for (;;) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) > 0) return;
    exit_if_qemu_gone();
  }
}

bool is_command(const std::string& line, const std::string& command) {
  return !command.empty() && line.find("\"execute\":\"" + command + "\"") != std::string::npos;
}
bool is_reply(const std::string& line) {
  return line.find("\"return\"") != std::string::npos || line.find("\"error\"") != std::string::npos;
}

bool write_all(int fd, const std::string& data) {
  std::size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n <= 0) return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

// Relays one daemon connection until either side closes it. The plan is read
// again for every command, so a test can arm a fault on a running guest.
void relay(int daemon_fd, int qemu_fd) {
  std::string from_daemon, from_qemu;
  bool kill_on_next_reply = false;
  char buf[65536];
  for (;;) {
    pollfd fds[2] = {{daemon_fd, POLLIN, 0}, {qemu_fd, POLLIN, 0}};
    if (::poll(fds, 2, 200) <= 0) {
      exit_if_qemu_gone();
      continue;
    }
    if (fds[0].revents) {
      ssize_t n = ::read(daemon_fd, buf, sizeof buf);
      if (n <= 0) return;
      from_daemon.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = from_daemon.find('\n')) != std::string::npos;) {
        std::string line = from_daemon.substr(0, nl + 1);
        from_daemon.erase(0, nl + 1);
        const plan p = read_plan();
        if (is_command(line, p.command)) {
          mark_reached(p);
          if (p.action == "kill-at") kill_everything();
          if (p.action == "close-at") {
            ::close(daemon_fd);
            for (;;) wait_readable(-1);  // keep running until killed or QEMU ends
          }
          if (p.action == "hang-at") continue;
          if (p.action == "kill-after") kill_on_next_reply = true;
        }
        if (!write_all(qemu_fd, line)) return;
      }
    }
    if (fds[1].revents) {
      ssize_t n = ::read(qemu_fd, buf, sizeof buf);
      if (n <= 0) return;
      from_qemu.append(buf, static_cast<std::size_t>(n));
      for (std::size_t nl; (nl = from_qemu.find('\n')) != std::string::npos;) {
        std::string line = from_qemu.substr(0, nl + 1);
        from_qemu.erase(0, nl + 1);
        if (!write_all(daemon_fd, line)) return;
        if (kill_on_next_reply && is_reply(line)) kill_everything();
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  std::string qmp_path;
  std::size_t chardev_index = 0;
  for (std::size_t i = 1; i + 1 < args.size(); ++i) {
    if (args[i] == "-name") guest_name = option_value(args[i + 1], "guest");
    if (args[i] == "-chardev" && option_value(args[i + 1], "id") == "charmonitor") {
      qmp_path = option_value(args[i + 1], "path");
      chardev_index = i + 1;
    }
  }
  if (guest_name.empty() || qmp_path.empty()) die("no -name guest=... or QMP -chardev on the command line");
  if (const plan p = read_plan(); p.action == "exit-at-spawn") {
    mark_reached(p);
    die("planned failure at spawn");
  }

  int listener = listen_on(qmp_path);
  const std::string real_path = qmp_path + ".real";
  std::string& chardev = args[chardev_index];
  chardev.replace(chardev.find("path=" + qmp_path), 5 + qmp_path.size(), "path=" + real_path);
  const char* real = std::getenv("VNUMAD_FAKE_QEMU_REAL");
  args[0] = real ? real : "/usr/bin/qemu-system-x86_64";

  const pid_t parent = ::getpid();
  real_qemu = ::fork();
  if (real_qemu == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) std::_Exit(1);
    std::vector<char*> cargv;
    for (auto& a : args) cargv.push_back(a.data());
    cargv.push_back(nullptr);
    ::execv(cargv[0], cargv.data());
    std::_Exit(127);
  }

  for (;;) {
    wait_readable(listener);
    int daemon_fd = ::accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (daemon_fd < 0) continue;
    if (const plan p = read_plan(); p.action == "no-greeting") {
      mark_reached(p);
      for (;;) wait_readable(-1);  // silent until killed
    } else if (p.action == "delay-greeting") {
      mark_reached(p);
      auto until = std::chrono::steady_clock::now() + std::chrono::seconds(std::atoi(p.command.c_str()));
      while (std::chrono::steady_clock::now() < until) {
        exit_if_qemu_gone();
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
    }
    int qemu_fd = connect_to_qemu(real_path);
    relay(daemon_fd, qemu_fd);
    ::close(daemon_fd);
    ::close(qemu_fd);
  }
}
