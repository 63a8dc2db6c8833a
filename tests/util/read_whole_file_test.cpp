#define BOOST_TEST_MODULE read_whole_file
#include <boost/test/unit_test.hpp>

// The /proc reads of the QEMU scans: a process that exits between open and
// read must give "nothing", never an exception out of the scan (libstdc++'s
// istreambuf_iterator threw "basic_filebuf::underflow error reading the
// file: No such process" there, and a daemon start-up died of it).
#include "util/read_whole_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <string>

using namespace vnumad;

BOOST_AUTO_TEST_CASE(reads_a_whole_file_and_proc_files) {
  const std::string path = "/tmp/vnumad-read-whole-" + std::to_string(::getpid());
  std::string big(10000, 'x');
  std::ofstream(path) << big << "end";
  auto text = read_whole_file(path);
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(*text == big + "end");
  ::unlink(path.c_str());
  BOOST_TEST(!read_whole_file(path).has_value());
  // /proc files report size 0 but have content.
  auto cmdline = read_whole_file("/proc/self/cmdline");
  BOOST_TEST_REQUIRE(cmdline.has_value());
  BOOST_TEST(cmdline->find("read_whole_file_test") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(a_proc_file_whose_process_exited_after_open_reads_as_nothing) {
  const pid_t child = ::fork();
  BOOST_TEST_REQUIRE(child >= 0);
  if (child == 0) {
    ::pause();
    ::_exit(0);
  }
  const int fd = ::open(("/proc/" + std::to_string(child) + "/cmdline").c_str(), O_RDONLY | O_CLOEXEC);
  BOOST_TEST_REQUIRE(fd >= 0);
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  std::optional<std::string> text;
  BOOST_CHECK_NO_THROW(text = read_to_end(fd));
  BOOST_TEST(!text.has_value());
  BOOST_TEST(errno == ESRCH);
  ::close(fd);
}
