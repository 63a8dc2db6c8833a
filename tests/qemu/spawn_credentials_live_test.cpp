// process::spawn's privilege work, read back from /proc of the real child:
// the runas user's uid/gid/groups, RLIMIT_MEMLOCK raised before the drop (or
// the clear error where this machine forbids it), and -add-fd descriptors
// kept open while every other one is closed. The child is /bin/sleep: what is
// checked happens before exec and is the same for QEMU.
#define BOOST_TEST_MODULE spawn_credentials_live
#include <boost/test/unit_test.hpp>

#include "qemu/process.hpp"
#include "qemu/qemu_user.hpp"
#include "support/files_and_processes.hpp"
#include "support/process_facts.hpp"

#include <boost/asio/io_context.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>

using namespace vnumad;
namespace fs = std::filesystem;
using vnumad::testing::read_text;
using vnumad::testing::status_value;

namespace {

// The soft limit of "Max locked memory" in /proc/PID/limits.
std::string memlock_soft(pid_t pid) {
  std::istringstream in(read_text("/proc/" + std::to_string(pid) + "/limits"));
  for (std::string line; std::getline(in, line);)
    if (line.rfind("Max locked memory", 0) == 0) {
      std::istringstream fields(line.substr(17));
      std::string soft;
      fields >> soft;
      return soft;
    }
  return {};
}

struct sleeper {
  explicit sleeper(qemu::spawn_options options) {
    char tmpl[] = "/tmp/vnumad-spawn-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    dir = tmpl;
    options.argv = {"/bin/sleep", "30"};
    options.log_file = dir / "log";
    auto p = qemu::process::spawn(io.get_executor(), options);
    if (p) proc.emplace(std::move(*p));
    else failure = p.error();
  }
  ~sleeper() {
    if (proc) {
      (void)proc->send_signal(SIGKILL);
      int status;
      ::waitpid(proc->pid(), &status, 0);
    }
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  boost::asio::io_context io;
  fs::path dir;
  std::optional<qemu::process> proc;
  std::optional<error> failure;
};

qemu::qemu_credentials qemu_user() {
  auto who = qemu::resolve_qemu_user(std::string(qemu::default_qemu_user));
  BOOST_TEST_REQUIRE(who.has_value(), (who ? "" : who.error().message) << " (ctest's guest/qemu_user creates it)");
  return *who;
}

}  // namespace

BOOST_AUTO_TEST_CASE(child_runs_as_the_qemu_user_with_its_groups) {
  const auto who = qemu_user();
  qemu::spawn_options o;
  o.run_as = who;
  sleeper s(o);
  BOOST_TEST_REQUIRE(s.proc.has_value(), (s.failure ? s.failure->message : ""));
  const pid_t pid = s.proc->pid();
  const std::string uid = std::to_string(who.uid), gid = std::to_string(who.gid);
  // Real, effective, saved and filesystem ids: nothing is left to regain root with.
  BOOST_TEST(status_value(pid, "Uid") == uid + "\t" + uid + "\t" + uid + "\t" + uid);
  BOOST_TEST(status_value(pid, "Gid") == gid + "\t" + gid + "\t" + gid + "\t" + gid);
  std::string groups;
  for (gid_t g : who.groups) groups += std::to_string(g) + " ";
  BOOST_TEST(status_value(pid, "Groups") == groups);
  BOOST_TEST(status_value(pid, "CapEff") == "0000000000000000");
}

BOOST_AUTO_TEST_CASE(without_run_as_the_child_stays_root) {
  sleeper s(qemu::spawn_options{});
  BOOST_TEST_REQUIRE(s.proc.has_value());
  BOOST_TEST(status_value(s.proc->pid(), "Uid") == "0\t0\t0\t0");
}

BOOST_AUTO_TEST_CASE(passed_fds_stay_open_and_others_close) {
  const int passed = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
  const int other = ::open("/dev/null", O_RDONLY);  // not CLOEXEC: spawn closes it anyway
  BOOST_TEST_REQUIRE((passed > 2 && other > 2));
  qemu::spawn_options o;
  o.run_as = qemu_user();
  o.inherit_fds = {passed};
  sleeper s(o);
  ::close(passed);
  ::close(other);
  BOOST_TEST_REQUIRE(s.proc.has_value(), (s.failure ? s.failure->message : ""));
  const std::string fds = "/proc/" + std::to_string(s.proc->pid()) + "/fd/";
  BOOST_TEST(fs::read_symlink(fds + std::to_string(passed)) == "/dev/null");
  std::error_code ec;
  BOOST_TEST(!fs::exists(fs::symlink_status(fds + std::to_string(other), ec)));
}

BOOST_AUTO_TEST_CASE(memlock_is_raised_before_the_drop_or_the_spawn_says_why_not) {
  constexpr std::uint64_t want = 16ull << 30;
  qemu::spawn_options o;
  o.run_as = qemu_user();
  o.memlock_bytes = want;
  sleeper s(o);
  // Whether this machine lets root raise the hard limit (CAP_SYS_RESOURCE):
  // the NUMA test host does, the development container does not.
  rlimit now{};
  ::getrlimit(RLIMIT_MEMLOCK, &now);
  const pid_t probe = ::fork();
  if (probe == 0) {
    rlimit big{want, want};
    ::_exit(::setrlimit(RLIMIT_MEMLOCK, &big) == 0 ? 0 : 1);
  }
  int status = 0;
  ::waitpid(probe, &status, 0);
  const bool raisable = WIFEXITED(status) && WEXITSTATUS(status) == 0;
  if (raisable || now.rlim_max == RLIM_INFINITY || now.rlim_max >= want) {
    BOOST_TEST_REQUIRE(s.proc.has_value(), (s.failure ? s.failure->message : ""));
    const std::string soft = memlock_soft(s.proc->pid());
    BOOST_TEST((soft == std::to_string(want) || soft == "unlimited"), soft);
  } else {
    BOOST_TEST_MESSAGE("this machine cannot raise RLIMIT_MEMLOCK past " << now.rlim_max << ": checking the error");
    BOOST_TEST_REQUIRE(!s.proc.has_value());
    BOOST_TEST((s.failure->code == errc::permission_denied));
    BOOST_TEST(s.failure->message.find("cannot raise RLIMIT_MEMLOCK to 17179869184 bytes") != std::string::npos,
               s.failure->message);
    BOOST_TEST(s.failure->message.find("LimitMEMLOCK=") != std::string::npos, s.failure->message);
    BOOST_TEST(s.failure->message.find("runas = root") != std::string::npos, s.failure->message);
  }
}

BOOST_AUTO_TEST_CASE(memlock_within_the_hard_limit_needs_no_privilege) {
  // Lower our own soft limit, then ask for one between it and the hard limit:
  // any process may do that, so it must work everywhere.
  rlimit saved{};
  ::getrlimit(RLIMIT_MEMLOCK, &saved);
  BOOST_TEST_REQUIRE((saved.rlim_max == RLIM_INFINITY || saved.rlim_max >= (4u << 20)));
  rlimit low{1u << 20, saved.rlim_max};
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_MEMLOCK, &low) == 0);
  qemu::spawn_options o;
  o.run_as = qemu_user();
  o.memlock_bytes = 3u << 20;
  sleeper s(o);
  ::setrlimit(RLIMIT_MEMLOCK, &saved);
  BOOST_TEST_REQUIRE(s.proc.has_value(), (s.failure ? s.failure->message : ""));
  BOOST_TEST(memlock_soft(s.proc->pid()) == std::to_string(3u << 20));
}
