#define BOOST_TEST_MODULE config_path_trust
#include <boost/test/unit_test.hpp>

#include "config/path_trust.hpp"
#include "support/files_and_processes.hpp"

#include <fcntl.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

// StrictModes for domain files, and O_NOFOLLOW for vnumad's own files, on
// real files and directories chowned to nobody or opened to group/others.

namespace fs = std::filesystem;
using namespace vnumad::config;
using vnumad::errc;

namespace {

uid_t nobody() {
  const passwd* pw = ::getpwnam("nobody");
  BOOST_TEST_REQUIRE(pw != nullptr);
  return pw->pw_uid;
}

// mkdtemp under /tmp (sticky, root's) as root: 0700, trusted.
struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = "/tmp/vnumad-trust-XXXXXX";
    path = ::mkdtemp(tmpl.data());
    fs::create_directory(path / "domains.d");
    fs::permissions(path / "domains.d", fs::perms(0755));
    std::ofstream(path / "domains.d" / "g.xml") << "<domain/>";
    fs::permissions(path / "domains.d" / "g.xml", fs::perms(0644));
  }
  ~temp_dir() { fs::remove_all(path); }
  fs::path dir() const { return path / "domains.d"; }
  fs::path file() const { return dir() / "g.xml"; }
};

}  // namespace

BOOST_AUTO_TEST_CASE(reasons_from_owner_and_mode) {
  BOOST_TEST(!distrust_reason({0, S_IFREG | 0644}, 0).has_value());
  BOOST_TEST(!distrust_reason({0, S_IFDIR | 01777}, 0).has_value());  // /tmp
  BOOST_TEST(!distrust_reason({1000, S_IFREG | 0600}, 1000).has_value());  // the daemon's own euid
  BOOST_TEST(distrust_reason({1000, S_IFREG | 0644}, 0).value().find("owned by uid 1000") == 0u);
  BOOST_TEST(distrust_reason({0, S_IFREG | 0664}, 0).value() == "writable by group (mode 0664)");
  BOOST_TEST(distrust_reason({0, S_IFREG | 0646}, 0).value() == "writable by others (mode 0646)");
  BOOST_TEST(distrust_reason({0, S_IFDIR | 0777}, 0).value() == "writable by group and others (mode 0777)");
  // The sticky bit excuses directories only.
  BOOST_TEST(distrust_reason({0, S_IFREG | 01666}, 0).has_value());
}

BOOST_AUTO_TEST_CASE(roots_files_in_roots_dirs_are_trusted) {
  temp_dir t;
  BOOST_TEST(check_trusted_path(t.file(), "domain file").has_value());
  BOOST_TEST(check_trusted_path(t.dir(), "config dir").has_value());
}

BOOST_AUTO_TEST_CASE(a_file_owned_by_nobody_is_refused) {
  temp_dir t;
  BOOST_TEST_REQUIRE(::chown(t.file().c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
  auto r = check_trusted_path(t.file(), "domain file");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().code == errc::permission_denied);
  BOOST_TEST(r.error().message.find("domain file " + t.file().string() + " refused: " + t.file().string() +
                                    " is owned by uid " + std::to_string(nobody()) + " (nobody), not root") !=
                 std::string::npos,
             r.error().message);
}

BOOST_AUTO_TEST_CASE(a_group_or_other_writable_file_is_refused) {
  temp_dir t;
  fs::permissions(t.file(), fs::perms(0664));
  auto g = check_trusted_path(t.file(), "domain file");
  BOOST_TEST_REQUIRE(!g.has_value());
  BOOST_TEST(g.error().message.find("writable by group (mode 0664)") != std::string::npos, g.error().message);
  fs::permissions(t.file(), fs::perms(0646));
  auto o = check_trusted_path(t.file(), "domain file");
  BOOST_TEST_REQUIRE(!o.has_value());
  BOOST_TEST(o.error().message.find("writable by others (mode 0646)") != std::string::npos, o.error().message);
}

BOOST_AUTO_TEST_CASE(an_ancestor_dir_anyone_can_write_is_refused_unless_sticky) {
  temp_dir t;
  fs::permissions(t.path, fs::perms(0777));
  auto r = check_trusted_path(t.file(), "domain file");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find(t.path.string() + " is writable by group and others (mode 0777)") !=
                 std::string::npos,
             r.error().message);
  fs::permissions(t.path, fs::perms(01777));
  BOOST_TEST(check_trusted_path(t.file(), "domain file").has_value());
}

BOOST_AUTO_TEST_CASE(a_config_dir_a_user_created_is_refused) {
  temp_dir t;
  BOOST_TEST_REQUIRE(::chown(t.dir().c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
  auto r = check_trusted_path(t.file(), "domain file");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find(t.dir().string() + " is owned by uid") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(a_link_to_a_users_file_is_refused) {
  temp_dir t;
  fs::create_directory(t.path / "home");
  BOOST_TEST_REQUIRE(::chown((t.path / "home").c_str(), nobody(), static_cast<gid_t>(-1)) == 0);
  std::ofstream(t.path / "home" / "mine.xml") << "<domain/>";
  fs::permissions(t.path / "home" / "mine.xml", fs::perms(0644));
  fs::create_symlink(t.path / "home" / "mine.xml", t.dir() / "linked.xml");
  auto r = check_trusted_path(t.dir() / "linked.xml", "domain file");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST(r.error().message.find((t.path / "home").string() + " is owned by uid") != std::string::npos,
             r.error().message);
}

BOOST_AUTO_TEST_CASE(a_link_planted_at_a_log_path_is_not_followed) {
  temp_dir t;
  const fs::path target = t.path / "target";
  std::ofstream(target) << "precious\n";
  const fs::path log = t.dir() / "g.log";
  fs::create_symlink(target, log);
  auto fd = open_in_trusted_dir(log, O_WRONLY | O_CREAT | O_APPEND, 0640);
  BOOST_TEST_REQUIRE(!fd.has_value());
  BOOST_TEST(fd.error().code == errc::permission_denied);
  BOOST_TEST(fd.error().message.find(log.string() + ": is a symbolic link") != std::string::npos, fd.error().message);
  BOOST_TEST(vnumad::testing::read_text(target) == "precious\n");
}

BOOST_AUTO_TEST_CASE(logs_go_only_in_dirs_root_alone_can_write) {
  temp_dir t;
  auto ok = open_in_trusted_dir(t.dir() / "g.log", O_WRONLY | O_CREAT | O_APPEND, 0640);
  BOOST_TEST_REQUIRE(ok.has_value(), ok.error().message);
  BOOST_TEST((::fcntl(*ok, F_GETFD) & FD_CLOEXEC) != 0);
  ::close(*ok);
  fs::permissions(t.dir(), fs::perms(0775));
  auto refused = open_in_trusted_dir(t.dir() / "h.log", O_WRONLY | O_CREAT | O_APPEND, 0640);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("its directory " + t.dir().string() + " is writable by group") !=
                 std::string::npos,
             refused.error().message);
  BOOST_TEST(!fs::exists(t.dir() / "h.log"));
}
