// build_argv for <qemu:commandline> (arguments last, vnumad's own options
// refused), <iothreads> (-object iothread, virtio disks attached to them),
// <memoryBacking><nosharepages> and the environment QEMU gets.
#define BOOST_TEST_MODULE qemu_argv_passthrough
#include <boost/test/unit_test.hpp>

#include "qemu/argv.hpp"
#include "qemu/environment.hpp"

#include "config/domain_xml.hpp"

#include <algorithm>
#include <string>

using namespace vnumad;
using strings = std::vector<std::string>;

namespace {

qemu::host_facts host() {
  qemu::host_facts h;
  h.qmp_socket_path = "/run/vnumad/g/qmp.sock";
  h.state_dir = "/var/lib/vnumad/state/g";
  return h;
}

const std::string qemu_ns = " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'";

std::string guest(const std::string& top, const std::string& devices = "", const std::string& attrs = "") {
  return "<domain type='qemu'" + attrs + "><name>g</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>" +
         "<os><type arch='x86_64' machine='q35'>hvm</type></os><cpu mode='maximum'/>" + top +
         "<devices><controller type='pci' index='0' model='pcie-root'/>" + devices +
         "<memballoon model='none'/></devices></domain>";
}

result<strings> argv_of(const std::string& xml) {
  auto d = config::parse_domain_string(xml, "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  return qemu::build_argv(*d, host());
}

std::ptrdiff_t index_of(const strings& argv, const std::string& word) {
  auto it = std::find(argv.begin(), argv.end(), word);
  return it == argv.end() ? -1 : it - argv.begin();
}

}  // namespace

BOOST_AUTO_TEST_CASE(passthrough_arguments_come_last_as_written) {
  auto argv = argv_of(guest("<qemu:commandline><qemu:arg value='-global'/><qemu:arg value='ICH9-LPC.noreboot=off'/>"
                            "<qemu:arg value='a,b c'/></qemu:commandline>", "", qemu_ns));
  BOOST_TEST_REQUIRE(argv.has_value(), argv.error().message);
  BOOST_TEST_REQUIRE(argv->size() > 3u);
  const strings tail(argv->end() - 3, argv->end());
  BOOST_TEST(tail == (strings{"-global", "ICH9-LPC.noreboot=off", "a,b c"}), boost::test_tools::per_element());
  // After vnumad's own -sandbox, which they therefore could override: hence the refusals below.
  BOOST_TEST(index_of(*argv, "-sandbox") < index_of(*argv, "-global"));
}

BOOST_AUTO_TEST_CASE(options_vnumad_sets_itself_are_refused_naming_the_argument) {
  for (const std::string arg : {"-sandbox", "--sandbox", "-runas", "-run-with", "-chroot", "-daemonize", "-name",
                                "-qmp", "-mon", "-monitor"}) {
    auto argv = argv_of(guest("<qemu:commandline><qemu:arg value='" + arg + "'/><qemu:arg value='off'/></qemu:commandline>",
                              "", qemu_ns));
    BOOST_TEST_REQUIRE(!argv.has_value(), arg);
    BOOST_TEST(argv.error().code == errc::unsupported);
    BOOST_TEST(argv.error().message.find("<qemu:commandline><qemu:arg value='" + arg + "'>: vnumad sets") !=
                   std::string::npos,
               argv.error().message);
  }
  // A value that merely contains such a word is an ordinary argument.
  auto ok = argv_of(guest("<qemu:commandline><qemu:arg value='-set'/><qemu:arg value='x.name=-sandbox'/></qemu:commandline>",
                          "", qemu_ns));
  BOOST_TEST(ok.has_value());
}

BOOST_AUTO_TEST_CASE(passthrough_env_is_merged_into_the_daemons_environment) {
  auto d = config::parse_domain_string(
      guest("<qemu:commandline><qemu:env name='HOME' value='/tmp/q'/><qemu:env name='QEMU_X' value=''/></qemu:commandline>",
            "", qemu_ns),
      "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), d.error().message);
  const strings env = qemu::passthrough_env(*d);
  BOOST_TEST(env == (strings{"HOME=/tmp/q", "QEMU_X="}), boost::test_tools::per_element());
  char a[] = "HOME=/root", b[] = "PATH=/bin", c[] = "HOMEDIR=/x";
  char* base[] = {a, b, c, nullptr};
  BOOST_TEST(qemu::merged_environment(base, env) == (strings{"PATH=/bin", "HOMEDIR=/x", "HOME=/tmp/q", "QEMU_X="}),
             boost::test_tools::per_element());
  BOOST_TEST(qemu::merged_environment(base, {}) == (strings{"HOME=/root", "PATH=/bin", "HOMEDIR=/x"}),
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(iothreads_become_objects_after_smp_and_virtio_disks_use_them) {
  auto argv = argv_of(guest("<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='0'/></cputune>",
                            "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='2'/>"
                            "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"));
  BOOST_TEST_REQUIRE(argv.has_value(), argv.error().message);
  const auto one = index_of(*argv, R"({"qom-type":"iothread","id":"iothread1"})");
  const auto two = index_of(*argv, R"({"qom-type":"iothread","id":"iothread2"})");
  BOOST_TEST_REQUIRE(one > 0);
  BOOST_TEST(two == one + 2);
  BOOST_TEST((*argv)[static_cast<std::size_t>(one - 1)] == "-object");
  // libvirt's place: right after -smp (cputune-numatune.x86_64-latest.args).
  BOOST_TEST(index_of(*argv, "-smp") == one - 3);
  bool attached = false;
  for (const auto& a : *argv)
    attached = attached || (a.find("\"driver\":\"virtio-blk-pci\"") != std::string::npos &&
                            a.find("\"iothread\":\"iothread2\"") != std::string::npos);
  BOOST_TEST(attached);
  // No <iothreads>: no objects.
  auto plain = argv_of(guest(""));
  BOOST_TEST_REQUIRE(plain.has_value());
  BOOST_TEST(std::none_of(plain->begin(), plain->end(),
                          [](const std::string& a) { return a.find("iothread") != std::string::npos; }));
}

BOOST_AUTO_TEST_CASE(nosharepages_turns_off_memory_merging) {
  auto argv = argv_of(guest("<memoryBacking><nosharepages/></memoryBacking>"));
  BOOST_TEST_REQUIRE(argv.has_value(), argv.error().message);
  const auto m = index_of(*argv, "-machine");
  BOOST_TEST_REQUIRE(m > 0);
  BOOST_TEST((*argv)[static_cast<std::size_t>(m + 1)].find(",dump-guest-core=off,mem-merge=off") != std::string::npos,
             (*argv)[static_cast<std::size_t>(m + 1)]);
}
