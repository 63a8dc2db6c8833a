// The state watcher on real directories and inotify: a deleted directory, a
// deleted file in a watched one and a renamed-away directory each bring one
// check soon (an rm -rf burst is one check), a recreated directory is
// watched again once the owner says so, and the poll runs without events.
#define BOOST_TEST_MODULE state_watcher
#include <boost/test/unit_test.hpp>

#include "reactor/state_watcher.hpp"

#include <boost/asio/io_context.hpp>

#include <stdlib.h>

#include <fstream>

using namespace vnumad::reactor;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct fixture {
  fs::path dir;
  boost::asio::io_context io;
  int checks = 0;
  std::unique_ptr<state_watcher> watcher;

  explicit fixture(std::chrono::milliseconds poll = 60s) {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-statewatch-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    fs::create_directories(dir / "state" / "g1");
    std::ofstream(dir / "state" / "g1" / "record.json") << "{}";
    watcher = std::make_unique<state_watcher>(io, [this] { ++checks; },
                                              state_watcher_options{.quiet = 50ms, .poll = poll});
    BOOST_TEST_REQUIRE(watcher->start().has_value());
    watcher->watch({dir / "state", dir / "state" / "g1"});
  }
  ~fixture() {
    watcher.reset();
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
  void run(std::chrono::milliseconds d) {
    io.restart();
    io.run_for(d);
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(nothing_vanishing_means_no_check) {
  fixture f;
  std::ofstream(f.dir / "state" / "new-file") << "x";
  f.run(300ms);
  BOOST_TEST(f.checks == 0);
}

BOOST_AUTO_TEST_CASE(an_rm_rf_is_a_check_not_one_per_event) {
  fixture f;
  fs::remove_all(f.dir / "state");
  f.run(400ms);
  // Four events (a file, a folder, the state dir, and its watch going); one
  // check, two at most when the machine is slow enough to split the burst.
  BOOST_TEST(f.checks >= 1);
  BOOST_TEST(f.checks <= 2);
}

BOOST_AUTO_TEST_CASE(a_deleted_file_in_a_guest_folder_is_a_check) {
  fixture f;
  fs::remove(f.dir / "state" / "g1" / "record.json");
  f.run(400ms);
  BOOST_TEST(f.checks == 1);
  // A file renamed away (what an editor or mv does) too.
  std::ofstream(f.dir / "state" / "g1" / "domain.xml") << "x";
  fs::rename(f.dir / "state" / "g1" / "domain.xml", f.dir / "elsewhere.xml");
  f.run(400ms);
  BOOST_TEST(f.checks == 2);
}

BOOST_AUTO_TEST_CASE(a_directory_renamed_away_is_a_check) {
  fixture f;
  fs::rename(f.dir / "state", f.dir / "moved");
  f.run(400ms);
  BOOST_TEST(f.checks == 1);
}

BOOST_AUTO_TEST_CASE(a_recreated_directory_is_watched_again_when_the_owner_says_so) {
  fixture f;
  fs::remove_all(f.dir / "state");
  f.run(400ms);
  BOOST_TEST_REQUIRE(f.checks >= 1);
  const int before = f.checks;
  fs::create_directories(f.dir / "state");
  std::ofstream(f.dir / "state" / "x") << "x";
  fs::remove(f.dir / "state" / "x");
  f.run(400ms);
  BOOST_TEST(f.checks == before);  // the new directory is not watched yet
  f.watcher->watch({f.dir / "state"});
  std::ofstream(f.dir / "state" / "y") << "y";
  fs::remove(f.dir / "state" / "y");
  f.run(400ms);
  BOOST_TEST(f.checks == before + 1);
}

BOOST_AUTO_TEST_CASE(the_poll_checks_without_events) {
  fixture f(200ms);
  f.run(700ms);
  BOOST_TEST(f.checks >= 2);
  BOOST_TEST(f.checks <= 4);
}

BOOST_AUTO_TEST_CASE(no_check_after_stop) {
  fixture f;
  f.watcher->stop();
  fs::remove_all(f.dir / "state");
  f.run(300ms);
  BOOST_TEST(f.checks == 0);
}
