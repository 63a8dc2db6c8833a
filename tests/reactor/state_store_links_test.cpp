#define BOOST_TEST_MODULE reactor_state_store_links
#include <boost/test/unit_test.hpp>

#include "reactor/state_store.hpp"
#include "support/files_and_processes.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

// The state dir's files are opened with O_NOFOLLOW in a directory only root
// can write (config/path_trust.hpp): a link planted there is never followed,
// for writing (record.json, domain.xml) nor for reading.

namespace fs = std::filesystem;
using namespace vnumad::reactor;

namespace {

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = "/tmp/vnumad-state-XXXXXX";
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { fs::remove_all(path); }
};

guest_record record(const std::string& name) {
  guest_record r;
  r.name = name;
  r.pid = 1234;
  r.config_file = "/etc/vnumad/domains.d/" + name + ".xml";
  r.expanded_xml = "<domain/>";
  r.place.guest = name;
  return r;
}

}  // namespace

BOOST_AUTO_TEST_CASE(save_and_load_round_trip) {
  temp_dir t;
  state_store store(t.path / "state");
  BOOST_TEST_REQUIRE(store.save(record("g")).has_value());
  auto back = store.load("g");
  BOOST_TEST_REQUIRE(back.has_value(), back.error().message);
  BOOST_TEST(back->pid == 1234);
  BOOST_TEST(back->expanded_xml == "<domain/>");
}

BOOST_AUTO_TEST_CASE(a_link_planted_in_the_state_dir_is_not_followed) {
  temp_dir t;
  state_store store(t.path / "state");
  BOOST_TEST_REQUIRE(store.prepare("g").has_value());
  const fs::path target = t.path / "precious";
  std::ofstream(target) << "precious\n";
  // At the temp name the writer opens, and at the name the reader opens.
  fs::create_symlink(target, store.guest_dir("g") / "domain.xml.tmp");
  auto saved = store.save(record("g"));
  BOOST_TEST_REQUIRE(!saved.has_value());
  BOOST_TEST(saved.error().message.find("domain.xml.tmp: is a symbolic link") != std::string::npos,
             saved.error().message);
  BOOST_TEST(vnumad::testing::read_text(target) == "precious\n");

  fs::remove(store.guest_dir("g") / "domain.xml.tmp");
  fs::create_symlink(target, store.guest_dir("g") / "record.json");
  std::ofstream(store.guest_dir("g") / "domain.xml") << "<domain/>";
  auto loaded = store.load("g");
  BOOST_TEST_REQUIRE(!loaded.has_value());
  BOOST_TEST(loaded.error().message.find("record.json: is a symbolic link") != std::string::npos,
             loaded.error().message);
}

BOOST_AUTO_TEST_CASE(a_state_dir_others_can_write_is_refused) {
  temp_dir t;
  state_store store(t.path / "state");
  BOOST_TEST_REQUIRE(store.prepare("g").has_value());
  fs::permissions(store.guest_dir("g"), fs::perms(0777));
  auto saved = store.save(record("g"));
  // prepare() sets 0700 again before writing: the daemon repairs its own dir.
  BOOST_TEST(saved.has_value());
  BOOST_TEST(((fs::status(store.guest_dir("g")).permissions() & fs::perms::others_write) == fs::perms::none));
}
