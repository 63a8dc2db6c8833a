// What a domain makes QEMU open and what vnumad does about it: the pure rule
// (host_files, treatment_for, is_within, memlock_limit_bytes) and, on real
// temp files as root, prepare_file_access / restore_file_grants with the
// user `nobody` (always present) standing in for the QEMU user.
#define BOOST_TEST_MODULE qemu_file_access
#include <boost/test/unit_test.hpp>

#include "config/domain_xml.hpp"
#include "qemu/file_access.hpp"
#include "qemu/file_grants.hpp"
#include "qemu/memlock.hpp"
#include "qemu/qemu_user.hpp"
#include "support/files_and_processes.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>

using namespace vnumad;
namespace fs = std::filesystem;
using vnumad::testing::read_text;
using vnumad::testing::write_text;

namespace {

config::domain parse(const std::string& devices, const std::string& os_extra = "", const std::string& top = "") {
  std::string xml = "<domain type='qemu'><name>g</name><memory unit='MiB'>512</memory><vcpu>1</vcpu>" + top +
                    "<os><type arch='x86_64' machine='q35'>hvm</type>" + os_extra + "</os><devices>" + devices +
                    "</devices></domain>";
  auto d = config::parse_domain_string(xml, "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  return *d;
}

// A root-owned 0755 temp dir (mkdtemp makes 0700), removed at the end.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/vnumad-fa-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
    fs::permissions(path, fs::perms(0755));
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

struct stat stat_of(const fs::path& p) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::lstat(p.c_str(), &st) == 0, p);
  return st;
}

qemu::qemu_credentials nobody() {
  auto who = qemu::resolve_qemu_user("nobody");
  BOOST_TEST_REQUIRE(who.has_value(), (who ? "" : who.error().message));
  return *who;
}

}  // namespace

BOOST_AUTO_TEST_CASE(host_files_lists_every_path_with_its_element) {
  auto d = parse("<disk type='file' device='disk'><source file='/img/a.qcow2'/><target dev='vda' bus='virtio'/></disk>"
                 "<disk type='file' device='cdrom'><source file='/img/b.iso'/><target dev='sda' bus='sata'/></disk>"
                 "<serial type='file'><source path='/var/log/vnumad/g.serial'/><target port='0'/></serial>"
                 "<serial type='pty'><target port='1'/></serial>",
                 "<kernel>/boot/k</kernel><initrd>/boot/i</initrd>");
  auto files = qemu::host_files(d);
  BOOST_TEST_REQUIRE(files.size() == 5u);
  BOOST_TEST(files[0].element == "<os><kernel>/boot/k</kernel>");
  BOOST_TEST((files[0].role == qemu::file_role::image_read));
  BOOST_TEST(files[1].element == "<os><initrd>/boot/i</initrd>");
  BOOST_TEST(files[2].element == "<disk><target dev='vda'><source file='/img/a.qcow2'>");
  BOOST_TEST((files[2].role == qemu::file_role::image_read_write));
  BOOST_TEST((files[3].role == qemu::file_role::image_read));  // a cdrom is read-only
  BOOST_TEST(files[4].element == "<serial type='file'> #1 <source path='/var/log/vnumad/g.serial'>");
  BOOST_TEST((files[4].role == qemu::file_role::chardev_log));
}

BOOST_AUTO_TEST_CASE(within_means_the_dir_or_below_it_by_component) {
  BOOST_TEST(qemu::is_within("/var/lib/vnumad/images/a.img", "/var/lib/vnumad/images"));
  BOOST_TEST(qemu::is_within("/var/lib/vnumad/images/sub/a.img", "/var/lib/vnumad/images/"));
  BOOST_TEST(!qemu::is_within("/var/lib/vnumad/images2/a.img", "/var/lib/vnumad/images"));
  BOOST_TEST(!qemu::is_within("/etc/shadow", "/var/lib/vnumad/images"));
  BOOST_TEST(!qemu::is_within("/etc/shadow", ""));
}

BOOST_AUTO_TEST_CASE(treatment_gives_images_passes_logs_and_probes_the_rest) {
  qemu::access_rules rules{.image_dirs = {"/var/lib/vnumad/images"}, .log_dir = "/var/log/vnumad"};
  qemu::host_file_use disk{.element = "<disk>", .path = "x", .role = qemu::file_role::image_read_write};
  qemu::host_file_use log{.element = "<serial>", .path = "x", .role = qemu::file_role::chardev_log};
  using t = qemu::file_treatment;
  BOOST_TEST((qemu::treatment_for(disk, "/var/lib/vnumad/images/a.img", rules) == t::give));
  BOOST_TEST((qemu::treatment_for(disk, "/etc/shadow", rules) == t::user_must_open));
  // A disk in the log dir is not given: the log dir is for logs only.
  BOOST_TEST((qemu::treatment_for(disk, "/var/log/vnumad/a.img", rules) == t::user_must_open));
  BOOST_TEST((qemu::treatment_for(log, "/var/log/vnumad/g.serial", rules) == t::open_and_pass));
  BOOST_TEST((qemu::treatment_for(log, "/var/lib/vnumad/images/g.serial", rules) == t::open_and_pass));
  BOOST_TEST((qemu::treatment_for(log, "/etc/shadow", rules) == t::user_must_open));
}

BOOST_AUTO_TEST_CASE(memlock_is_guest_memory_plus_one_gib_plus_the_tcg_cache) {
  constexpr std::uint64_t MiB = 1024 * 1024, GiB = 1024 * MiB;
  auto plain = parse("");
  BOOST_TEST(!qemu::memlock_limit_bytes(plain).has_value());
  auto locked = parse("", "", "<memoryBacking><locked/></memoryBacking>");
  BOOST_TEST(qemu::memlock_limit_bytes(locked).value() == 512 * MiB + GiB + GiB);  // TCG: 1 GiB cache by default
  locked.type = "kvm";
  BOOST_TEST(qemu::memlock_limit_bytes(locked).value() == 512 * MiB + GiB);
  locked.max_memory_bytes = 4 * GiB;  // hot-added DIMMs are locked too
  BOOST_TEST(qemu::memlock_limit_bytes(locked).value() == 5 * GiB);
}

BOOST_AUTO_TEST_CASE(a_missing_user_names_the_key_and_the_user) {
  auto r = qemu::resolve_qemu_user("vnumad-no-such-user");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::not_found));
  BOOST_TEST(r.error().message.find("runas = vnumad-no-such-user: no such user") != std::string::npos, r.error().message);
}

BOOST_AUTO_TEST_CASE(shadow_as_disk_kernel_or_serial_is_refused_and_untouched) {
  const auto before = stat_of("/etc/shadow");
  temp_dir t;
  qemu::access_rules rules{.image_dirs = {t.path / "images"}, .log_dir = t.path / "log"};
  fs::create_directories(t.path / "log");
  // A symlink in the log dir does not launder the path: it is resolved first.
  fs::create_symlink("/etc/shadow", t.path / "log" / "evil.serial");
  struct attempt {
    std::string devices, os, element;
  };
  const attempt attempts[] = {
      {"<disk type='file' device='disk'><source file='/etc/shadow'/><target dev='vda' bus='virtio'/></disk>", "",
       "<disk><target dev='vda'><source file='/etc/shadow'>"},
      {"<serial type='file'><source path='/etc/shadow'/><target port='0'/></serial>", "",
       "<serial type='file'> #1 <source path='/etc/shadow'>"},
      {"<serial type='file'><source path='" + (t.path / "log" / "evil.serial").string() + "'/><target port='0'/></serial>",
       "", "<serial type='file'> #1 <source path='" + (t.path / "log" / "evil.serial").string() + "'>"},
      {"", "<kernel>/etc/shadow</kernel>", "<os><kernel>/etc/shadow</kernel>"},
  };
  for (const auto& a : attempts) {
    auto d = parse(a.devices, a.os);
    auto r = qemu::prepare_file_access(d, nobody(), rules, t.path / "grants.json", {});
    BOOST_TEST_REQUIRE(!r.has_value(), a.element);
    BOOST_TEST((r.error().code == errc::permission_denied));
    BOOST_TEST(r.error().message.rfind(a.element + ": refused: QEMU runs as user 'nobody'", 0) == 0, r.error().message);
    BOOST_TEST(r.error().message.find("/etc/shadow") != std::string::npos, r.error().message);
  }
  const auto after = stat_of("/etc/shadow");
  BOOST_TEST(after.st_size == before.st_size);
  BOOST_TEST(after.st_mtim.tv_sec == before.st_mtim.tv_sec);
  BOOST_TEST(after.st_mtim.tv_nsec == before.st_mtim.tv_nsec);
  BOOST_TEST(after.st_uid == before.st_uid);
  BOOST_TEST(after.st_gid == before.st_gid);
  BOOST_TEST(after.st_mode == before.st_mode);
  BOOST_TEST(!fs::exists(t.path / "grants.json"));
}

BOOST_AUTO_TEST_CASE(images_are_given_for_the_guest_and_given_back) {
  temp_dir t;
  fs::create_directories(t.path / "images");
  fs::create_directories(t.path / "log");
  const fs::path image = t.path / "images" / "a.img";
  write_text(image, std::string(4096, '\0'));
  fs::permissions(image, fs::perms(0640));
  qemu::access_rules rules{.image_dirs = {t.path / "images"}, .log_dir = t.path / "log"};
  const fs::path serial = t.path / "log" / "g.serial";
  write_text(serial, "old output\n");
  auto d = parse("<disk type='file' device='disk'><source file='" + image.string() +
                 "'/><target dev='vda' bus='virtio'/></disk>"
                 "<serial type='file'><source path='" + serial.string() + "'/><target port='0'/></serial>");
  const auto who = nobody();
  const fs::path grants = t.path / "grants.json";
  auto r = qemu::prepare_file_access(d, who, rules, grants, {});
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(stat_of(image).st_uid == who.uid);
  BOOST_TEST(stat_of(image).st_gid == who.gid);
  // The serial log is opened by vnumad, truncated, and passed as an fd set.
  BOOST_TEST_REQUIRE(r->fds.size() == 1u);
  BOOST_TEST(read_text(serial).empty());
  BOOST_TEST(r->argv_domain.devices.serials[0].path.value() == "/dev/fdset/1");
  BOOST_TEST_REQUIRE(r->extra_args.size() == 2u);
  BOOST_TEST(r->extra_args[1] == "fd=" + std::to_string(r->fds[0].get()) + ",set=1");
  BOOST_TEST(stat_of(serial).st_uid == 0u);  // the log itself stays root's

  // A second guest on the same image takes the original owner from the first
  // guest's grants; the first stopping does not take it away from the second.
  const fs::path grants2 = t.path / "grants2.json";
  auto second = qemu::prepare_file_access(d, who, rules, grants2, {grants});
  BOOST_TEST_REQUIRE(second.has_value(), (second ? "" : second.error().message));
  BOOST_TEST(qemu::restore_file_grants(grants, {grants2}).empty());
  BOOST_TEST(stat_of(image).st_uid == who.uid);
  BOOST_TEST(qemu::restore_file_grants(grants2, {}).empty());
  BOOST_TEST(stat_of(image).st_uid == 0u);
  BOOST_TEST(stat_of(image).st_gid == 0u);
  BOOST_TEST((stat_of(image).st_mode & 07777) == 0640u);
  BOOST_TEST(!fs::exists(grants));
}

BOOST_AUTO_TEST_CASE(a_replaced_file_is_not_chowned_back) {
  temp_dir t;
  fs::create_directories(t.path / "images");
  const fs::path image = t.path / "images" / "a.img";
  write_text(image, "x");
  qemu::access_rules rules{.image_dirs = {t.path / "images"}, .log_dir = t.path / "log"};
  auto d = parse("<disk type='file' device='disk'><source file='" + image.string() +
                 "'/><target dev='vda' bus='virtio'/></disk>");
  const auto who = nobody();
  auto r = qemu::prepare_file_access(d, who, rules, t.path / "grants.json", {});
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  // Swapped for another file of the user's meanwhile: not ours to change.
  // (The old file is kept, so that the new one cannot reuse its inode.)
  fs::rename(image, t.path / "images" / "old.img");
  write_text(image, "y");
  BOOST_TEST_REQUIRE(::chown(image.c_str(), who.uid, who.gid) == 0);
  BOOST_TEST(qemu::restore_file_grants(t.path / "grants.json", {}).empty());
  BOOST_TEST(stat_of(image).st_uid == who.uid);
}

BOOST_AUTO_TEST_CASE(hard_links_and_loose_image_dirs_are_refused) {
  temp_dir t;
  fs::create_directories(t.path / "images");
  const fs::path image = t.path / "images" / "a.img";
  write_text(image, "x");
  fs::create_hard_link(image, t.path / "images" / "b.img");
  qemu::access_rules rules{.image_dirs = {t.path / "images"}, .log_dir = t.path / "log"};
  auto d = parse("<disk type='file' device='disk'><source file='" + image.string() +
                 "'/><target dev='vda' bus='virtio'/></disk>");
  auto linked = qemu::prepare_file_access(d, nobody(), rules, t.path / "grants.json", {});
  BOOST_TEST_REQUIRE(!linked.has_value());
  BOOST_TEST(linked.error().message.find("has 2 hard links") != std::string::npos, linked.error().message);
  fs::remove(t.path / "images" / "b.img");
  fs::permissions(t.path / "images", fs::perms(0777));
  auto loose = qemu::prepare_file_access(d, nobody(), rules, t.path / "grants.json", {});
  BOOST_TEST_REQUIRE(!loose.has_value());
  BOOST_TEST(loose.error().message.find("must be owned by root and not writable by group or others") != std::string::npos,
             loose.error().message);
  BOOST_TEST(stat_of(image).st_uid == 0u);
}
