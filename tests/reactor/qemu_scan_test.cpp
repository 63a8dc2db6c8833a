// Recognising this daemon's QEMUs by their command line, and finding a real
// process in /proc by it (a stand-in named qemu-system-x86_64 with vnumad's
// -name and -chardev arguments: the parsing is what is under test; the live
// tests use real QEMU).
#define BOOST_TEST_MODULE qemu_scan
#include <boost/test/unit_test.hpp>

#include "reactor/qemu_scan.hpp"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <thread>

using namespace vnumad::reactor;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> argv_for(const std::string& binary, const std::string& name, const std::string& socket) {
  return {binary, "-name", "guest=" + name + ",debug-threads=on", "-S", "-chardev",
          "socket,id=charmonitor,path=" + socket + ",server=on,wait=off", "-mon", "chardev=charmonitor,mode=control"};
}

}  // namespace

BOOST_AUTO_TEST_CASE(a_qemu_of_this_state_dir_names_its_guest) {
  BOOST_TEST(guest_of_qemu_argv(argv_for("/usr/bin/qemu-system-x86_64", "web", "/run/vnumad/web/qmp.sock"),
                                "/run/vnumad")
                 .value_or("") == "web");
}

BOOST_AUTO_TEST_CASE(other_state_dirs_other_names_and_other_programs_are_not_ours) {
  // Another daemon's state dir.
  BOOST_TEST(!guest_of_qemu_argv(argv_for("/usr/bin/qemu-system-x86_64", "web", "/tmp/other/web/qmp.sock"), "/run/vnumad"));
  // The socket of another guest than the -name says.
  BOOST_TEST(!guest_of_qemu_argv(argv_for("/usr/bin/qemu-system-x86_64", "web", "/run/vnumad/db/qmp.sock"), "/run/vnumad"));
  // Not QEMU (an editor with the same words in its arguments).
  BOOST_TEST(!guest_of_qemu_argv(argv_for("/usr/bin/vim", "web", "/run/vnumad/web/qmp.sock"), "/run/vnumad"));
  // No -name.
  BOOST_TEST(!guest_of_qemu_argv({"/usr/bin/qemu-system-x86_64", "-chardev", "socket,id=c,path=/run/vnumad/web/qmp.sock,server=on"},
                                 "/run/vnumad"));
  BOOST_TEST(!guest_of_qemu_argv({}, "/run/vnumad"));
}

BOOST_AUTO_TEST_CASE(a_live_process_is_found_in_proc) {
  // A shell whose argv[0] is qemu-system-x86_64 and whose further arguments
  // are the ones vnumad gives QEMU ($0, $1... of `sh -c`, unparsed by sh).
  const fs::path state = "/tmp/vnumad-scan-" + std::to_string(::getpid()) + "/state";
  const std::string name = "scan" + std::to_string(::getpid());
  auto args = argv_for("qemu-system-x86_64", name, (state / name / "qmp.sock").string());
  args.insert(args.begin() + 1, {"-c", "while :; do sleep 1; done"});
  pid_t pid = ::fork();
  if (pid == 0) {
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv("/bin/sh", argv.data());
    ::_exit(127);
  }
  bool found = false;
  for (int i = 0; i < 50 && !found; ++i) {
    for (const auto& q : find_qemus_of(state))
      if (q.pid == pid && q.guest == name) found = true;
    if (!found) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  BOOST_TEST(found);
  // Nothing of another state dir.
  BOOST_TEST(find_qemus_of(state.parent_path() / "other").empty());
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
}
