// Serial ports with a console socket (qemu/argv_serial.cpp): port 0 of type
// pty or file is the socket chardev vnumactl console attaches to, a file
// serial's path becoming its logfile; other types and other ports are as
// without one.
#define BOOST_TEST_MODULE qemu_argv_serial
#include <boost/test/unit_test.hpp>

#include "qemu/argv.hpp"
#include "qemu/argv_compare.hpp"

#include "config/domain_xml.hpp"

#include <string>

using namespace vnumad;
using strings = std::vector<std::string>;

namespace {

// The -chardev values after QMP's, for a small guest with `serials`.
strings serial_chardevs(const std::string& serials, const std::string& console_socket) {
  qemu::host_facts h;
  h.qmp_socket_path = "/run/vnumad/g/qemu/qmp.sock";
  h.console_socket_path = console_socket;
  auto d = config::parse_domain_string(
      "<domain type='qemu'><name>g</name><memory unit='MiB'>128</memory><vcpu>1</vcpu>"
      "<os><type arch='x86_64' machine='q35'>hvm</type></os><devices>" + serials +
          "<memballoon model='none'/></devices></domain>",
      "inline.xml");
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  auto argv = qemu::build_argv(*d, h);
  BOOST_TEST_REQUIRE(argv.has_value(), (argv ? "" : argv.error().message));
  auto chardevs = argv_compare::values_of(*argv, "-chardev");
  BOOST_TEST_REQUIRE(!chardevs.empty());
  return strings(chardevs.begin() + 1, chardevs.end());
}

const std::string sock = "/run/vnumad/g/qemu/console.sock";

}  // namespace

BOOST_AUTO_TEST_CASE(a_pty_serial_becomes_the_console_socket) {
  BOOST_TEST(serial_chardevs("<serial type='pty'><target port='0'/></serial>", sock) ==
                 strings{"socket,id=charserial0,path=" + sock + ",server=on,wait=off"},
             boost::test_tools::per_element());
  // A <console> alone stands for serial port 0.
  BOOST_TEST(serial_chardevs("<console type='pty'><target type='serial' port='0'/></console>", sock) ==
                 strings{"socket,id=charserial0,path=" + sock + ",server=on,wait=off"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(a_file_serial_keeps_its_file_as_the_log_of_the_console_socket) {
  BOOST_TEST(serial_chardevs("<serial type='file'><source path='/var/log/vnumad/g,1.serial'/></serial>", sock) ==
                 strings{"socket,id=charserial0,path=" + sock + ",server=on,wait=off,logfile=/var/log/vnumad/g,,1.serial"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(only_port_0_of_pty_or_file_is_the_console) {
  BOOST_TEST(serial_chardevs("<serial type='pty'/><serial type='file'><source path='/var/log/b'/></serial>", sock) ==
                 (strings{"socket,id=charserial0,path=" + sock + ",server=on,wait=off", "file,id=charserial1,path=/var/log/b"}),
             boost::test_tools::per_element());
  BOOST_TEST(serial_chardevs("<serial type='unix'><source mode='bind' path='/run/s'/></serial>", sock) ==
                 strings{"socket,id=charserial0,path=/run/s,server=on,wait=off"},
             boost::test_tools::per_element());
  BOOST_TEST(serial_chardevs("<serial type='null'/>", sock) == strings{"null,id=charserial0"},
             boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(without_a_console_socket_serials_are_plain) {
  BOOST_TEST(serial_chardevs("<serial type='pty'/><serial type='file'><source path='/var/log/b'/></serial>", "") ==
                 (strings{"pty,id=charserial0", "file,id=charserial1,path=/var/log/b"}),
             boost::test_tools::per_element());
}
