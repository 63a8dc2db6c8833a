// What vnumad reads from disk, attacked (issue 12): a config-dir scan that
// fails must change no guest; deep, huge and untrusted domain files are
// refused with an error while the daemon serves the others; <emulator> comes
// from an allow-list; a link planted at a log path is not followed. Real
// vnumad, real QEMU; guests' liveness is read from /proc.
#define BOOST_TEST_MODULE hostile_config
#include <boost/test/unit_test.hpp>

#include "daemon_support.hpp"

#include <pwd.h>
#include <sys/resource.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// From /proc, not from the daemon: the pid is a QEMU of this guest.
bool qemu_of(pid_t pid, const std::string& guest) {
  return command_line(pid).find("guest=" + guest + ",") != std::string::npos;
}

// How long the daemon has to log what it refused.
constexpr auto log_wait = 20s;

uid_t nobody() {
  const passwd* pw = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(pw != nullptr);
  return pw->pw_uid;
}

void set_nofile(pid_t pid, rlim_t soft) {
  rlimit now{};
  BOOST_TEST_REQUIRE(::prlimit(pid, RLIMIT_NOFILE, nullptr, &now) == 0);
  now.rlim_cur = soft;
  BOOST_TEST_REQUIRE(::prlimit(pid, RLIMIT_NOFILE, &now, nullptr) == 0, std::strerror(errno));
}

}  // namespace

BOOST_AUTO_TEST_CASE(reload_during_fd_exhaustion_keeps_every_guest_and_a_real_removal_still_works) {
  daemon_fixture d;
  guest_spec g1 = small_test_guest(unique_name("fd1")), g2 = small_test_guest(unique_name("fd2"));
  d.define(g1);
  d.define(g2);
  BOOST_TEST_REQUIRE(d.wait_state(g1.name, "running"), d.daemon_log());
  BOOST_TEST_REQUIRE(d.wait_state(g2.name, "running"), d.daemon_log());
  const pid_t pid1 = d.guest_pid(g1.name).value(), pid2 = d.guest_pid(g2.name).value();

  // No fd left for the daemon (as when clients hold them all): its rescan
  // cannot open the config dir. Before, every guest was "removed" here.
  rlimit saved{};
  BOOST_TEST_REQUIRE(::prlimit(d.pid, RLIMIT_NOFILE, nullptr, &saved) == 0);
  set_nofile(d.pid, 0);
  ::kill(d.pid, SIGHUP);
  const bool refused = d.wait_log("Too many open files: no guest changed", log_wait);
  std::this_thread::sleep_for(3s);  // a shutdown would have begun by now
  const bool alive = qemu_of(pid1, g1.name) && qemu_of(pid2, g2.name);
  set_nofile(d.pid, saved.rlim_cur);
  BOOST_TEST_REQUIRE(refused, d.daemon_log());
  BOOST_TEST(alive, "a guest's QEMU died while the daemon had no fds");
  BOOST_TEST(d.daemon_log().find("config file removed") == std::string::npos, d.daemon_log());

  // With fds again the daemon serves, and a reload changes nothing.
  BOOST_TEST_REQUIRE(d.call("reload").has_value());
  BOOST_TEST(qemu_of(pid1, g1.name));
  BOOST_TEST(qemu_of(pid2, g2.name));
  BOOST_TEST(d.guest_pid(g1.name).value_or(0) == pid1);

  // A file really gone still shuts its guest down.
  fs::remove(d.domain_file(g2.name));
  BOOST_TEST(wait_until([&] { return !pid_alive(pid2); }, 60s), "the removed guest's QEMU still runs");
  BOOST_TEST(wait_until([&] { return d.state(g2.name).empty(); }, 10s));
  BOOST_TEST(qemu_of(pid1, g1.name));
  BOOST_TEST(d.state(g1.name) == "running");
}

BOOST_AUTO_TEST_CASE(a_200000_deep_and_a_huge_file_are_refused_at_start_and_the_others_run) {
  daemon_fixture d;
  d.stop(SIGTERM);
  {
    std::ofstream deep(d.dir / "domains.d" / "deep.xml");
    deep << "<domain type='qemu'>";
    for (int i = 0; i < 200000; ++i) deep << "<a>";
  }
  {
    std::ofstream huge(d.dir / "domains.d" / "huge.xml");
    huge << "<domain type='qemu'><description>" << std::string(2 * 1024 * 1024, 'x') << "</description></domain>";
  }
  guest_spec ok = small_test_guest(unique_name("beside-deep"));
  d.define(ok);
  d.start();  // crashed (stack overflow) at every start before
  BOOST_TEST_REQUIRE(d.wait_state(ok.name, "running"), d.daemon_log());
  BOOST_TEST(d.wait_log((d.dir / "domains.d" / "deep.xml").string() +
                            ": elements nest deeper than the limit of 64 levels",
                        log_wait),
             d.daemon_log());
  BOOST_TEST(d.wait_log((d.dir / "domains.d" / "huge.xml").string() + ": " +
                            std::to_string(std::filesystem::file_size(d.dir / "domains.d" / "huge.xml")) +
                            " bytes is over the domain file size limit", log_wait),
             d.daemon_log());
  int status = 0;
  BOOST_TEST(::waitpid(d.pid, &status, WNOHANG) == 0, "vnumad exited");
  BOOST_TEST(d.list_names().size() == 1u);
}

BOOST_AUTO_TEST_CASE(a_config_dir_a_user_creates_later_runs_nothing_of_theirs) {
  daemon_fixture d;
  d.stop(SIGTERM);
  const fs::path conf = d.dir / "domains.d";
  fs::remove_all(conf);
  d.start();  // the dir does not exist yet: the daemon waits for it
  BOOST_TEST_REQUIRE(d.wait_log("does not exist; waiting for it", log_wait), d.daemon_log());

  // The user's script: it would leave a marker if anything ran it.
  const fs::path marker = d.dir / "ran-as-root";
  const fs::path script = d.dir / "evil.sh";
  write_text(script, "#!/bin/sh\ntouch " + marker.string() + "\nexec /usr/bin/qemu-system-x86_64 \"$@\"\n");
  fs::permissions(script, fs::perms(0755));
  BOOST_TEST_REQUIRE(::chown(script.c_str(), nobody(), static_cast<gid_t>(-1)) == 0);

  guest_spec g = small_test_guest(unique_name("user-made"));
  std::string xml = domain_xml(g, d.serial(g.name));
  xml.replace(xml.find("<devices>"), 9, "<devices>\n    <emulator>" + script.string() + "</emulator>");
  fs::create_directory(d.dir / "staging");
  write_text(d.dir / "staging" / "g.xml", xml);
  BOOST_TEST_REQUIRE(::chown((d.dir / "staging" / "g.xml").c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
  // mkdir as the user, then the file renamed in.
  fs::create_directory(conf);
  BOOST_TEST_REQUIRE(::chown(conf.c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
  fs::rename(d.dir / "staging" / "g.xml", d.domain_file(g.name));

  const std::string owner = " is owned by uid " + std::to_string(nobody()) + " (nobody), not root";
  BOOST_TEST(
      d.wait_log("domain file " + d.domain_file(g.name).string() + " refused: " + conf.string() + owner, log_wait),
      d.daemon_log());

  // The dir made root's: the user's file itself is still refused...
  BOOST_TEST_REQUIRE(::chown(conf.c_str(), 0, static_cast<gid_t>(-1)) == 0);
  BOOST_TEST_REQUIRE(d.call("reload").has_value());
  BOOST_TEST(d.wait_log("refused: " + d.domain_file(g.name).string() + owner, log_wait), d.daemon_log());
  // ...and so is a root-owned one that others may write...
  BOOST_TEST_REQUIRE(::chown(d.domain_file(g.name).c_str(), 0, static_cast<gid_t>(-1)) == 0);
  fs::permissions(d.domain_file(g.name), fs::perms(0646));
  BOOST_TEST_REQUIRE(d.call("reload").has_value());
  BOOST_TEST(d.wait_log(d.domain_file(g.name).string() + " is writable by others (mode 0646)", log_wait),
             d.daemon_log());
  // ...and, trusted at last, its <emulator> is not on the allow-list.
  fs::permissions(d.domain_file(g.name), fs::perms(0644));
  BOOST_TEST_REQUIRE(d.call("reload").has_value());
  BOOST_TEST(d.wait_log("<emulator>" + script.string() + "</emulator>: not an allowed emulator", log_wait),
             d.daemon_log());

  BOOST_TEST(!fs::exists(marker), "the user's emulator ran");
  BOOST_TEST(d.list_names().empty());
}

BOOST_AUTO_TEST_CASE(a_link_planted_at_the_qemu_log_path_is_not_followed) {
  daemon_fixture d;
  guest_spec g = small_test_guest(unique_name("log-link"));
  const fs::path target = d.dir / "precious";
  write_text(target, "precious\n");
  fs::create_symlink(target, d.dir / "log" / (g.name + ".log"));
  d.define(g);
  BOOST_TEST(d.wait_log("QEMU log " + (d.dir / "log" / (g.name + ".log")).string() + ": is a symbolic link", log_wait),
             d.daemon_log());
  BOOST_TEST(read_text(target) == "precious\n");
  BOOST_TEST(d.wait_state(g.name, "shut off", 20s), d.state(g.name));
  BOOST_TEST(!d.guest_pid(g.name).has_value());
}
