// The owner lock on real directories: a second taker is refused with the
// holder's pid (read back from /proc/locks), the lock goes with the holder,
// QEMU-like children do not inherit it, and a recreated directory is seen.
#define BOOST_TEST_MODULE owner_lock
#include <boost/test/unit_test.hpp>

#include "reactor/owner_lock.hpp"

#include <signal.h>
#include <sys/file.h>
#include <sys/wait.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

using namespace vnumad;
using namespace vnumad::reactor;
namespace fs = std::filesystem;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-lock-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

// A child that takes the lock itself and waits on a pipe; returns its pid.
pid_t lock_in_child(const fs::path& dir, int& release_fd) {
  int ready[2], release[2];
  BOOST_TEST_REQUIRE(::pipe(ready) == 0);
  BOOST_TEST_REQUIRE(::pipe(release) == 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    // Only the parent may hold the write end: its close is the release.
    ::close(release[1]);
    ::close(ready[0]);
    auto lock = owner_lock::take(dir, "state dir");
    char c = lock ? 'y' : 'n';
    (void)::write(ready[1], &c, 1);
    (void)::read(release[0], &c, 1);
    ::_exit(0);
  }
  char c = 0;
  BOOST_TEST_REQUIRE(::read(ready[0], &c, 1) == 1);
  BOOST_TEST_REQUIRE(c == 'y');
  ::close(ready[0]);
  ::close(ready[1]);
  ::close(release[0]);
  release_fd = release[1];
  return pid;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_second_taker_is_refused_naming_the_path_and_the_holder) {
  temp_dir dir;
  int release = -1;
  pid_t holder = lock_in_child(dir.path, release);
  auto second = owner_lock::take(dir.path, "state dir");
  BOOST_TEST_REQUIRE(!second.has_value());
  BOOST_TEST(second.error().code == errc::busy);
  BOOST_TEST(second.error().message.find("state dir " + dir.path.string() + " is locked by another vnumad (pid " +
                                         std::to_string(holder) + ")") != std::string::npos,
             second.error().message);
  BOOST_TEST(flock_holder(dir.path).value_or(-1) == holder);
  // The lock goes with its holder, however it ends.
  ::close(release);
  int status = 0;
  ::waitpid(holder, &status, 0);
  auto third = owner_lock::take(dir.path, "state dir");
  BOOST_TEST(third.has_value());
}

BOOST_AUTO_TEST_CASE(children_do_not_inherit_the_lock) {
  // vnumad spawns QEMU, which outlives it: a QEMU holding the daemon's lock
  // would keep a restarted daemon out.
  temp_dir dir;
  auto lock = owner_lock::take(dir.path, "state dir");
  BOOST_TEST_REQUIRE(lock.has_value());
  pid_t child = ::fork();
  if (child == 0) {
    ::execl("/bin/sleep", "sleep", "30", nullptr);
    ::_exit(127);
  }
  // Until exec the child shares the fd (CLOEXEC acts at exec): wait for it.
  for (int i = 0; i < 100; ++i) {
    std::ifstream comm("/proc/" + std::to_string(child) + "/comm");
    std::string name;
    if (std::getline(comm, name) && name == "sleep") break;
    ::usleep(20 * 1000);
  }
  // Dropped by us while the exec'd child runs: free, unless the child has it.
  lock = owner_lock{};
  auto again = owner_lock::take(dir.path, "state dir");
  BOOST_TEST(again.has_value(), (again ? "" : again.error().message));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

BOOST_AUTO_TEST_CASE(a_recreated_directory_is_no_longer_the_locked_one) {
  temp_dir dir;
  fs::path state = dir.path / "state";
  fs::create_directories(state);
  auto lock = owner_lock::take(state, "state dir");
  BOOST_TEST_REQUIRE(lock.has_value());
  BOOST_TEST(lock->still_at_path());
  fs::remove_all(state);
  BOOST_TEST(!lock->still_at_path());
  fs::create_directories(state);
  BOOST_TEST(!lock->still_at_path());
  BOOST_TEST(owner_lock::take(state, "state dir").has_value());
}

BOOST_AUTO_TEST_CASE(a_missing_directory_is_an_io_error_naming_it) {
  temp_dir dir;
  auto lock = owner_lock::take(dir.path / "nope", "cgroup dir");
  BOOST_TEST_REQUIRE(!lock.has_value());
  BOOST_TEST(lock.error().code == errc::io_error);
  BOOST_TEST(lock.error().message.find("cgroup dir " + (dir.path / "nope").string()) != std::string::npos);
}

BOOST_AUTO_TEST_CASE(proc_locks_lines_are_matched_by_device_and_inode) {
  BOOST_TEST(parse_proc_locks_line("1: FLOCK  ADVISORY  WRITE 4242 00:1d:8142 0 EOF", 0, 0x1d, 8142).value_or(-1) ==
             4242);
  BOOST_TEST(!parse_proc_locks_line("1: FLOCK  ADVISORY  WRITE 4242 00:1d:8142 0 EOF", 0, 0x1d, 8143));
  BOOST_TEST(!parse_proc_locks_line("1: FLOCK  ADVISORY  WRITE 4242 00:1e:8142 0 EOF", 0, 0x1d, 8142));
  BOOST_TEST(!parse_proc_locks_line("1: -> FLOCK  ADVISORY  WRITE 4243 00:1d:8142 0 EOF", 0, 0x1d, 8142));
  BOOST_TEST(parse_proc_locks_line("12: POSIX  ADVISORY  WRITE 77 fd:01:123456 0 EOF", 0xfd, 1, 123456).value_or(-1) ==
             77);
  BOOST_TEST(!parse_proc_locks_line("garbage", 0, 0, 0));
}
