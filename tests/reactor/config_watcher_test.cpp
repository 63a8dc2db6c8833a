#define BOOST_TEST_MODULE config_watcher
#include <boost/test/unit_test.hpp>

#include "reactor/config_watcher.hpp"

#include <boost/asio/io_context.hpp>

#include <stdlib.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <functional>
#include <sstream>

using namespace vnumad::reactor;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

namespace {

struct seen {
  config_event_kind kind;
  std::string name;
  std::string content;  // read when the event was delivered
};

// A real temp dir, a watcher on it, and a loop to drive it. Short periods
// keep the suite quick; the logic does not depend on their size.
struct fixture {
  // Long enough that a loaded machine's scheduling delays between the test's
  // writes stay well inside it.
  static constexpr std::chrono::milliseconds quiet{250};
  fs::path dir;
  boost::asio::io_context io;
  std::vector<seen> events;
  std::unique_ptr<config_watcher> watcher;

  fixture() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-watch-XXXXXX").string();
    dir = ::mkdtemp(tmpl.data());
    watcher = std::make_unique<config_watcher>(io, dir, [this](const config_event& e) {
      std::ifstream in(e.path);
      std::stringstream content;
      content << in.rdbuf();
      events.push_back({e.kind, e.path.filename().string(), content.str()});
    }, config_watcher_options{.quiet = quiet, .dir_poll = 100ms});
    BOOST_TEST_REQUIRE(watcher->start().has_value());
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
  // Runs until `n` events arrived (or 5 s passed), then a while longer, so a
  // spurious extra event would be caught too.
  void run_until(std::size_t n) {
    auto deadline = std::chrono::steady_clock::now() + 5s;
    while (events.size() < n && std::chrono::steady_clock::now() < deadline) run(20ms);
    run(quiet + 300ms);
  }
  // Where no event is expected: long enough for one to have arrived.
  void settle() { run(quiet + 300ms); }
  void write(const std::string& name, const std::string& content) { std::ofstream(dir / name) << content; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(names_that_count) {
  for (const char* yes : {"web.xml", "a.xml", "guest-1.xml", "x.y.xml"}) BOOST_TEST(is_config_file_name(yes), yes);
  for (const char* no : {".xml", "web.xml~", ".web.xml.swp", ".#web.xml", "#web.xml#", "4913", "web.xml.tmp",
                         "web.XML", "web.xmlx", "web", ".hidden.xml", "web.xml.swp", ""})
    BOOST_TEST(!is_config_file_name(no), no);
}

BOOST_FIXTURE_TEST_CASE(create_gives_one_changed, fixture) {
  write("web.xml", "<domain/>");
  run_until(1);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST((events[0].kind == config_event_kind::changed));
  BOOST_TEST(events[0].name == "web.xml");
  BOOST_TEST(events[0].content == "<domain/>");
}

BOOST_FIXTURE_TEST_CASE(atomic_rename_gives_exactly_one_changed_with_final_content, fixture) {
  write("web.xml", "old");
  run_until(1);
  events.clear();
  // What editors and config tools do: write a temp, then rename over.
  write(".web.xml.tmp", "new");
  run(20ms);
  fs::rename(dir / ".web.xml.tmp", dir / "web.xml");
  run_until(1);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST((events[0].kind == config_event_kind::changed));
  BOOST_TEST(events[0].content == "new");
}

BOOST_FIXTURE_TEST_CASE(a_file_renamed_in_is_read_at_once, fixture) {
  // Written elsewhere and renamed in, it is complete: no quiet period.
  std::ofstream(dir / ".new.tmp") << "whole";
  run(20ms);
  const auto renamed = std::chrono::steady_clock::now();
  fs::rename(dir / ".new.tmp", dir / "new.xml");
  while (events.empty() && std::chrono::steady_clock::now() - renamed < 2s) run(5ms);
  const auto took = std::chrono::steady_clock::now() - renamed;
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].content == "whole");
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < quiet.count() / 2);
  // A write in place after it still waits for its quiet period, and is one event.
  events.clear();
  write("new.xml", "edited");
  run(quiet / 3);
  BOOST_TEST(events.empty());
  run_until(1);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].content == "edited");
}

BOOST_FIXTURE_TEST_CASE(editor_temp_files_are_ignored, fixture) {
  for (const char* name : {"web.xml~", ".web.xml.swp", ".#web.xml", "4913", "web.xml.tmp", "#web.xml#"}) {
    write(name, "junk");
    fs::remove(dir / name);
    write(name, "junk");
  }
  settle();
  BOOST_TEST(events.empty());
}

BOOST_FIXTURE_TEST_CASE(delete_gives_removed, fixture) {
  write("web.xml", "<domain/>");
  run_until(1);
  fs::remove(dir / "web.xml");
  run_until(2);
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST((events[1].kind == config_event_kind::removed));
  BOOST_TEST(events[1].name == "web.xml");
}

BOOST_FIXTURE_TEST_CASE(created_and_deleted_within_the_quiet_period_gives_nothing, fixture) {
  write("web.xml", "<domain/>");
  run(20ms);
  fs::remove(dir / "web.xml");
  settle();
  BOOST_TEST(events.empty());
}

BOOST_FIXTURE_TEST_CASE(rapid_writes_give_one_event_after_quiet, fixture) {
  // A writer that closes between chunks (a slow copy, a script appending):
  // each close is an IN_CLOSE_WRITE, only the finished file may be read.
  auto start = std::chrono::steady_clock::now();
  std::string full;
  for (int i = 0; i < 12; ++i) {
    full += "chunk" + std::to_string(i) + "\n";
    std::ofstream(dir / "web.xml", std::ios::app) << "chunk" << i << "\n";
    run(30ms);
  }
  auto last_write = std::chrono::steady_clock::now();
  run_until(1);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].content == full);
  BOOST_TEST((last_write - start > quiet));  // the burst outlasted the quiet period
}

BOOST_FIXTURE_TEST_CASE(same_content_rewritten_gives_no_event, fixture) {
  write("web.xml", "<domain/>");
  run_until(1);
  BOOST_TEST_REQUIRE(events.size() == 1u);
  write("web.xml", "<domain/>");  // an editor's :w without changes
  settle();
  write(".tmp", "<domain/>");
  fs::rename(dir / ".tmp", dir / "web.xml");
  settle();
  BOOST_TEST(events.size() == 1u);
  write("web.xml", "<domain name='x'/>");
  run_until(2);
  BOOST_TEST(events.size() == 2u);
}

BOOST_FIXTURE_TEST_CASE(scan_lists_xml_and_sets_the_baseline, fixture) {
  write("b.xml", "b");
  write("a.xml", "a");
  write("notes.txt", "x");
  write(".c.xml", "c");
  fs::create_directory(dir / "d.xml");  // a directory is no definition
  run_until(2);
  events.clear();
  auto listed = watcher->scan();
  BOOST_TEST_REQUIRE(listed.has_value());
  auto files = *listed;
  BOOST_TEST_REQUIRE(files.size() == 2u);
  BOOST_TEST(files[0] == dir / "a.xml");
  BOOST_TEST(files[1] == dir / "b.xml");
  // The scan's files are the caller's now: re-saving them unchanged is silent.
  write("a.xml", "a");
  settle();
  BOOST_TEST(events.empty());
}

BOOST_FIXTURE_TEST_CASE(rename_within_the_dir_is_removed_plus_changed, fixture) {
  write("a.xml", "x");
  run_until(1);
  fs::rename(dir / "a.xml", dir / "b.xml");
  run_until(3);
  BOOST_TEST_REQUIRE(events.size() == 3u);
  bool removed_a = false;
  bool changed_b = false;
  for (std::size_t i = 1; i < 3; ++i) {
    removed_a |= events[i].kind == config_event_kind::removed && events[i].name == "a.xml";
    changed_b |= events[i].kind == config_event_kind::changed && events[i].name == "b.xml";
  }
  BOOST_TEST(removed_a);
  BOOST_TEST(changed_b);
}

BOOST_FIXTURE_TEST_CASE(dir_removed_is_no_removal_until_it_returns_without_the_file, fixture) {
  write("a.xml", "a");
  write("keep.xml", "k");
  run_until(2);
  BOOST_TEST(watcher->watching());
  fs::remove_all(dir);
  settle();
  settle();
  // A vanished dir is a failed read, not news about its files.
  BOOST_TEST_REQUIRE(events.size() == 2u);
  BOOST_TEST(!watcher->watching());
  BOOST_TEST(!watcher->scan().has_value());

  // Recreated with keep.xml (unchanged) and b.xml, without a.xml: only now is
  // a.xml seen gone.
  fs::create_directory(dir);
  write("keep.xml", "k");
  write("b.xml", "b");
  run_until(4);
  BOOST_TEST_REQUIRE(events.size() == 4u);
  bool removed_a = false, changed_b = false;
  for (std::size_t i = 2; i < 4; ++i) {
    removed_a |= events[i].kind == config_event_kind::removed && events[i].name == "a.xml";
    changed_b |= events[i].kind == config_event_kind::changed && events[i].name == "b.xml";
  }
  BOOST_TEST(removed_a);
  BOOST_TEST(changed_b);
  BOOST_TEST(watcher->watching());
  // And inotify works again.
  write("c.xml", "c");
  run_until(5);
  BOOST_TEST_REQUIRE(events.size() == 5u);
  BOOST_TEST(events[4].name == "c.xml");
}

BOOST_FIXTURE_TEST_CASE(dir_moved_away_is_no_removal, fixture) {
  write("a.xml", "a");
  run_until(1);
  fs::path aside = dir.string() + ".aside";
  fs::rename(dir, aside);
  settle();
  // Changes in the moved directory are no longer ours.
  std::ofstream(aside / "z.xml") << "z";
  settle();
  BOOST_TEST(events.size() == 1u);
  // Moved back: a.xml is there, unchanged; nothing to report.
  fs::rename(aside, dir);
  fs::remove(dir / "z.xml");
  run_until(2);
  BOOST_TEST(events.size() == 1u);
  BOOST_TEST(watcher->watching());
}

BOOST_FIXTURE_TEST_CASE(scan_without_file_descriptors_fails_instead_of_listing_nothing, fixture) {
  write("a.xml", "a");
  run_until(1);
  // No fd left for opendir: EMFILE. The old scan returned an empty list here,
  // which the daemon took as "every file removed".
  rlimit saved{};
  BOOST_TEST_REQUIRE(::getrlimit(RLIMIT_NOFILE, &saved) == 0);
  rlimit none = saved;
  none.rlim_cur = 0;
  BOOST_TEST_REQUIRE(::setrlimit(RLIMIT_NOFILE, &none) == 0);
  auto scanned = watcher->scan();
  ::setrlimit(RLIMIT_NOFILE, &saved);
  BOOST_TEST_REQUIRE(!scanned.has_value());
  BOOST_TEST(scanned.error().message.find("cannot read config dir " + dir.string()) != std::string::npos,
             scanned.error().message);
  BOOST_TEST(scanned.error().message.find("Too many open files") != std::string::npos, scanned.error().message);
  auto again = watcher->scan();
  BOOST_TEST_REQUIRE(again.has_value());
  BOOST_TEST(again->size() == 1u);
  BOOST_TEST(events.size() == 1u);
}

BOOST_AUTO_TEST_CASE(missing_dir_at_start_is_polled_for) {
  std::string tmpl = (fs::temp_directory_path() / "vnumad-watch-XXXXXX").string();
  fs::path parent = ::mkdtemp(tmpl.data());
  fs::path dir = parent / "domains.d";
  boost::asio::io_context io;
  std::vector<config_event> events;
  config_watcher w(io, dir, [&](const config_event& e) { events.push_back(e); },
                   config_watcher_options{.quiet = 100ms, .dir_poll = 50ms});
  BOOST_TEST_REQUIRE(w.start().has_value());
  BOOST_TEST(!w.scan().has_value());  // missing: an error, not "no files"
  BOOST_TEST(!w.watching());
  fs::create_directory(dir);
  std::ofstream(dir / "web.xml") << "w";
  auto deadline = std::chrono::steady_clock::now() + 5s;
  while (events.empty() && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(20ms);
  }
  BOOST_TEST_REQUIRE(events.size() == 1u);
  BOOST_TEST(events[0].path == dir / "web.xml");
  BOOST_TEST(w.watching());
  w.stop();
  fs::remove_all(parent);
}

BOOST_FIXTURE_TEST_CASE(no_callback_after_stop, fixture) {
  write("web.xml", "x");
  run(20ms);  // the event is read, the quiet period runs
  watcher->stop();
  run(quiet + 300ms);
  BOOST_TEST(events.empty());
}
