// process_state against real processes: a running child, the same child
// SIGSTOPped ('T', which makes a QEMU "not responding" before anything is
// sent to it) and SIGCONTed again. The guest-level reports are checked
// against real QEMU in tests/integration/one_owner_live_test.cpp.
#define BOOST_TEST_MODULE qemu_responsive
#include <boost/test/unit_test.hpp>

#include "reactor/qemu_responsive.hpp"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <thread>

using namespace vnumad::reactor;

namespace {

bool becomes(pid_t pid, char wanted) {
  for (int i = 0; i < 100; ++i) {
    if (process_state(pid) == wanted) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return false;
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_stopped_process_reads_T_and_a_continued_one_does_not) {
  pid_t child = ::fork();
  if (child == 0) {
    ::execl("/bin/sleep", "sleep", "30", nullptr);
    ::_exit(127);
  }
  BOOST_TEST(becomes(child, 'S'));
  BOOST_TEST_REQUIRE(::kill(child, SIGSTOP) == 0);
  BOOST_TEST(becomes(child, 'T'));
  BOOST_TEST_REQUIRE(::kill(child, SIGCONT) == 0);
  BOOST_TEST(becomes(child, 'S'));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
}

BOOST_AUTO_TEST_CASE(a_process_that_is_gone_reads_nothing) {
  pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  ::waitpid(child, nullptr, 0);
  BOOST_TEST(process_state(child) == 0);
}
