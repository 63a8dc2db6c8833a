// QEMU runs as the unprivileged vnumad-qemu by default and opens only what
// its guest was given: checked on real daemons and real QEMUs from /proc and
// stat(2). The guests here are hand-written (no <vnuma>, so not locked):
// vNUMA guests lock their memory, which an unprivileged QEMU can only do where
// vnumad may raise RLIMIT_MEMLOCK, and this machine forbids that (the
// locked-guest case below checks the error it gives instead).
#define BOOST_TEST_MODULE least_privilege_live
#include "integration/daemon_support.hpp"

#include "qemu/qemu_user.hpp"

#include <sys/stat.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

// Keeps the fixture from choosing runas = root for locked vNUMA guests
// (daemon_support.hpp): vnumad's own default applies.
const std::string default_runas = "# runas: vnumad's default (vnumad-qemu)\n";

std::string unique(const std::string& base) { return base + std::to_string(::getpid() % 10000); }

qemu::qemu_credentials qemu_user() {
  auto who = qemu::resolve_qemu_user("vnumad-qemu");
  BOOST_TEST_REQUIRE(who.has_value(), (who ? "" : who.error().message));
  return *who;
}

struct file_id {
  uid_t uid;
  gid_t gid;
  mode_t mode;
  off_t size;
  timespec mtime;
};

file_id id_of(const fs::path& p) {
  struct stat st {};
  BOOST_TEST_REQUIRE(::stat(p.c_str(), &st) == 0, p);
  return {st.st_uid, st.st_gid, st.st_mode, st.st_size, st.st_mtim};
}

// A small unlocked guest: direct kernel boot, optional disk, serial to `serial`.
std::string plain_guest(const std::string& name, const fs::path& kernel, const fs::path& initrd, const fs::path& serial,
                        const std::string& extra_devices = "", const std::string& memory_backing = "") {
  return "<domain type='qemu'>\n  <name>" + name + "</name>\n  <memory unit='MiB'>256</memory>\n" + memory_backing +
         "  <vcpu placement='static'>1</vcpu>\n"
         "  <os><type arch='x86_64' machine='q35'>hvm</type><kernel>" + kernel.string() + "</kernel><initrd>" +
         initrd.string() + "</initrd><cmdline>console=ttyS0 loglevel=1</cmdline></os>\n"
         "  <features><acpi/><apic/></features>\n"
         "  <cpu mode='custom' match='exact'><model fallback='allow'>max</model></cpu>\n"
         "  <on_poweroff>destroy</on_poweroff><on_crash>destroy</on_crash>\n"
         "  <devices>" + extra_devices + "<serial type='file'><source path='" + serial.string() +
         "'/><target port='0'/></serial></devices>\n</domain>\n";
}

// How long the daemon has to log a refusal.
constexpr auto log_wait = 30s;

// Root-only copies of the test guest's kernel and initrd plus a raw disk, in
// an image dir: QEMU's user can read them only because vnumad gives them.
struct images {
  explicit images(const fs::path& dir) : dir(dir) {
    fs::create_directories(dir);
    fs::permissions(dir, fs::perms(0755));
    fs::copy_file(guest_image / "vmlinuz", kernel);
    fs::copy_file(guest_image / "initrd.gz", initrd);
    write_text(disk, std::string(1 << 20, '\0'));
    fs::permissions(kernel, fs::perms(0600));
    fs::permissions(initrd, fs::perms(0600));
    fs::permissions(disk, fs::perms(0640));
  }
  fs::path dir, kernel = dir / "vmlinuz", initrd = dir / "initrd.gz", disk = dir / "disk.img";
  std::string disk_xml() const {
    return "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='" + disk.string() +
           "'/><target dev='vda' bus='virtio'/></disk>";
  }
};

void check_given(const images& im, const qemu::qemu_credentials& who) {
  for (const auto& p : {im.kernel, im.initrd, im.disk}) {
    BOOST_TEST(id_of(p).uid == who.uid, p << " is given to vnumad-qemu");
    BOOST_TEST(id_of(p).gid == who.gid, p);
  }
}

void check_restored(const images& im) {
  BOOST_TEST(id_of(im.kernel).uid == 0u);
  BOOST_TEST(id_of(im.kernel).gid == 0u);
  BOOST_TEST((id_of(im.kernel).mode & 07777) == 0600u);
  BOOST_TEST((id_of(im.initrd).mode & 07777) == 0600u);
  BOOST_TEST(id_of(im.disk).uid == 0u);
  BOOST_TEST((id_of(im.disk).mode & 07777) == 0640u);
}

}  // namespace

BOOST_AUTO_TEST_CASE(qemu_runs_as_vnumad_qemu_with_given_files_restored_at_stop_and_after_a_daemon_kill) {
  const auto who = qemu_user();
  // The real default image dir stays in the list: image_dirs adds one, the
  // rule is the same.
  const temp_dir image_root("img");
  images im(image_root.path / "images");
  daemon_fixture d(default_runas + "image_dirs = /var/lib/vnumad/images " + im.dir.string() + "\n");
  const std::string name = unique("lp");
  const pid_t pid = d.run_guest(name, plain_guest(name, im.kernel, im.initrd, d.serial(name), im.disk_xml()));

  // QEMU's real credentials, from the kernel.
  const std::string uid = std::to_string(who.uid), gid = std::to_string(who.gid);
  BOOST_TEST(status_value(pid, "Uid") == uid + "\t" + uid + "\t" + uid + "\t" + uid);
  BOOST_TEST(status_value(pid, "Gid") == gid + "\t" + gid + "\t" + gid + "\t" + gid);
  std::string groups;
  for (gid_t g : who.groups) groups += std::to_string(g) + " ";
  BOOST_TEST(status_value(pid, "Groups") == groups);
  BOOST_TEST(status_value(pid, "CapEff") == "0000000000000000");
  check_given(im, who);
  // The serial log (in log_dir, root's) was opened by vnumad and passed: the
  // guest's kernel writes to it although QEMU could not open the path.
  BOOST_TEST(wait_until([&] { return !read_text(d.serial(name)).empty(); }, 60s), "no serial output");
  BOOST_TEST(id_of(d.serial(name)).uid == 0u);
  BOOST_TEST(id_of(d.dir / "state" / name / "qemu").uid == who.uid);
  BOOST_TEST(id_of(d.dir / "state" / name / "grants.json").uid == 0u);

  // Killed daemon, restarted: it re-attaches, and destroy still gives back.
  d.stop(SIGKILL);
  d.start();
  BOOST_TEST_REQUIRE(d.wait_state(name, "running", 30s), d.daemon_log());
  BOOST_TEST(d.guest_pid(name).value_or(0) == pid);
  check_given(im, who);
  BOOST_TEST_REQUIRE(d.call("destroy", {{"name", name}}).has_value());
  BOOST_TEST(wait_until([&] { return id_of(im.disk).uid == 0u; }, 10s));
  check_restored(im);

  // Killed daemon and a QEMU that died meanwhile: the stale record is cleaned
  // up at the next start, which gives the files back.
  BOOST_TEST_REQUIRE(d.call("start", {{"name", name}}).has_value(), d.daemon_log());
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  check_given(im, who);
  const pid_t second = d.guest_pid(name).value_or(0);
  d.stop(SIGKILL);
  ::kill(second, SIGKILL);
  // Gone, or a zombie its new parent has not reaped yet: either way dead.
  BOOST_TEST(wait_until([&] { return !pid_alive(second) || status_value(second, "State").rfind("Z", 0) == 0; }, 10s));
  fs::remove(d.domain_file(name));  // else the restarted daemon starts (and gives) it again
  d.start();
  BOOST_TEST(wait_until([&] { return id_of(im.disk).uid == 0u; }, 30s), d.daemon_log());
  check_restored(im);
}

BOOST_AUTO_TEST_CASE(shadow_as_disk_serial_or_kernel_is_refused_and_left_alone) {
  const auto before = id_of("/etc/shadow");
  daemon_fixture d(default_runas);  // every default: runas = vnumad-qemu, image_dirs = /var/lib/vnumad/images
  const fs::path kernel = guest_image / "vmlinuz", initrd = guest_image / "initrd.gz";
  struct attempt {
    std::string name, xml, error;
  };
  const std::string disk = unique("shdisk"), serial = unique("shserial"), boot = unique("shkernel");
  const attempt attempts[] = {
      {disk,
       plain_guest(disk, kernel, initrd, d.serial(disk),
                   "<disk type='file' device='disk'><driver name='qemu' type='raw'/><source file='/etc/shadow'/>"
                   "<target dev='vda' bus='virtio'/></disk>"),
       "<disk><target dev='vda'><source file='/etc/shadow'>: refused: QEMU runs as user 'vnumad-qemu', which may "
       "not read and write /etc/shadow"},
      {serial, plain_guest(serial, kernel, initrd, "/etc/shadow"),
       "<serial type='file'> #1 <source path='/etc/shadow'>: refused: QEMU runs as user 'vnumad-qemu', which may "
       "not write /etc/shadow"},
      {boot, plain_guest(boot, "/etc/shadow", initrd, d.serial(boot)),
       "<os><kernel>/etc/shadow</kernel>: refused: QEMU runs as user 'vnumad-qemu', which may not read /etc/shadow"},
  };
  for (const auto& a : attempts) {
    d.define(a.name, a.xml);
    BOOST_TEST(d.wait_log(a.error, log_wait), a.name << ":\n" << d.daemon_log());
    BOOST_TEST(d.state(a.name) == "shut off");
    BOOST_TEST(!d.guest_pid(a.name).has_value());
  }
  const auto after = id_of("/etc/shadow");
  BOOST_TEST(after.uid == before.uid);
  BOOST_TEST(after.gid == before.gid);
  BOOST_TEST(after.mode == before.mode);
  BOOST_TEST(after.size == before.size);
  BOOST_TEST(after.mtime.tv_sec == before.mtime.tv_sec);
  BOOST_TEST(after.mtime.tv_nsec == before.mtime.tv_nsec);
}

BOOST_AUTO_TEST_CASE(a_locked_guest_gets_its_memlock_limit_or_a_clear_error) {
  daemon_fixture d("runas = vnumad-qemu\n");
  const std::string name = unique("lplock");
  d.define(name, plain_guest(name, guest_image / "vmlinuz", guest_image / "initrd.gz", d.serial(name), "",
                             "  <memoryBacking><locked/></memoryBacking>\n"));
  if (memlock_raisable()) {
    BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
    const pid_t pid = d.guest_pid(name).value_or(0);
    // 256 MiB + 1 GiB for QEMU + 1 GiB of TCG translation cache.
    const std::string want = std::to_string((256ull << 20) + (2ull << 30));
    BOOST_TEST(read_text("/proc/" + std::to_string(pid) + "/limits").find(want) != std::string::npos,
               read_text("/proc/" + std::to_string(pid) + "/limits"));
  } else {
    BOOST_TEST_MESSAGE("root cannot raise RLIMIT_MEMLOCK here (no CAP_SYS_RESOURCE): checking the error");
    BOOST_TEST(d.wait_log("cannot raise RLIMIT_MEMLOCK to 2415919104 bytes for a guest with "
                          "<memoryBacking><locked/>",
                          log_wait),
               d.daemon_log());
    BOOST_TEST(d.daemon_log().find("LimitMEMLOCK=infinity in vnumad.service") != std::string::npos);
    BOOST_TEST(d.state(name) == "shut off");
  }
}

BOOST_AUTO_TEST_CASE(runas_root_still_works_with_a_warning) {
  daemon_fixture d("runas = root\n");
  const std::string name = unique("lproot");
  d.define(name, plain_guest(name, guest_image / "vmlinuz", guest_image / "initrd.gz", d.serial(name)));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  BOOST_TEST(status_value(d.guest_pid(name).value_or(0), "Uid") == "0\t0\t0\t0");
  BOOST_TEST(d.daemon_log().find("runas = root: QEMU runs as root") != std::string::npos, d.daemon_log());
  BOOST_TEST(wait_until([&] { return !read_text(d.serial(name)).empty(); }, 60s), "no serial output");
}

BOOST_AUTO_TEST_CASE(a_missing_runas_user_fails_the_start_naming_user_and_key) {
  daemon_fixture d("runas = vnumad-no-such-user\n");
  const std::string name = unique("lpnouser");
  d.define(name, plain_guest(name, guest_image / "vmlinuz", guest_image / "initrd.gz", d.serial(name)));
  BOOST_TEST(d.wait_log("runas = vnumad-no-such-user: no such user", log_wait), d.daemon_log());
  BOOST_TEST(d.state(name) == "shut off");
}
