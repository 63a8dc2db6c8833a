// What a domain file says that vnumad does not act on: each element or
// attribute the parser never reads is named in domain::warnings, and
// check_strict turns them into an error. Table-driven: a snippet placed in a
// minimal domain -> the warnings it must give (none for what vnumad acts on
// or deliberately keeps).
#define BOOST_TEST_MODULE config_domain_xml_warnings
#include <boost/test/unit_test.hpp>

#include "config/domain_xml.hpp"

#include <filesystem>
#include <string>
#include <vector>

using namespace vnumad::config;
using vnumad::errc;

namespace {

// `top` goes under <domain>, `devices` under <devices>.
std::string domain_with(const std::string& top, const std::string& devices = "", const std::string& attrs = "") {
  return "<domain type='qemu'" + attrs + "><name>w</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>" +
         "<os><type arch='x86_64' machine='q35'>hvm</type></os>" + top + "<devices>" + devices +
         "</devices></domain>";
}

std::vector<std::string> warnings_of(const std::string& xml) {
  auto d = parse_domain_string(xml, "w.xml");
  BOOST_TEST_REQUIRE(d.has_value(), d.error().message);
  return d->warnings;
}

struct row {
  const char* what;
  std::string xml;
  std::vector<std::string> expected;
};

std::vector<row> table() {
  return {
      {"acted-on elements give nothing",
       domain_with("<features><acpi/><apic/><pae/></features><clock offset='utc'/><on_reboot>restart</on_reboot>",
                   "<disk type='file' device='disk'><driver name='qemu' type='raw' cache='none'/>"
                   "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"
                   "<input type='mouse' bus='ps2'/><memballoon model='none'/>"),
       {}},
      {"notes are kept on purpose",
       domain_with("<title>t</title><description>d</description><metadata><app:x xmlns:app='urn:a' k='v'/></metadata>"),
       {}},
      {"an unknown device", domain_with("", "<sound model='ich9'/>"),
       {"<devices><sound model='ich9'>: not supported, ignored"}},
      {"an unknown top-level element with children", domain_with("<pm><suspend-to-mem enabled='no'/></pm>"),
       {"<pm>: not supported, ignored"}},
      {"an unknown attribute of a known element",
       domain_with("", "<disk type='file' device='disk'><driver name='qemu' type='raw' io='native'/>"
                       "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"),
       {"<devices><disk><driver io='native'>: attribute not supported, ignored"}},
      {"a driver other than qemu",
       domain_with("", "<disk type='file' device='disk'><driver name='tap' type='raw'/>"
                       "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"),
       {"<devices><disk><driver name='tap'>: attribute not supported, ignored"}},
      {"features vnumad does not set", domain_with("<features><acpi/><hyperv mode='custom'><relaxed state='on'/></hyperv></features>"),
       {"<features><hyperv mode='custom'>: not supported, ignored"}},
      {"a USB tablet is not created", domain_with("", "<input type='tablet' bus='usb'/>"),
       {"<devices><input type='tablet' bus='usb'>: not supported, ignored"}},
      {"an attribute of <domain> itself", domain_with("", "", " id='3'"),
       {"<domain id='3'>: attribute not supported, ignored"}},
      {"cpu check other than none", domain_with("<cpu mode='host-model' check='partial'/>"),
       {"<cpu check='partial'>: attribute not supported, ignored"}},
      {"cpu check='none' is what vnumad does", domain_with("<cpu mode='maximum' check='none' migratable='on'/>"), {}},
      {"qemu:commandline without its namespace is not libvirt's",
       domain_with("<qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline>"),
       {"<qemu:commandline>: not supported, ignored"}},
      {"qemu:commandline with its namespace is acted on",
       domain_with("<qemu:commandline><qemu:arg value='-no-hpet'/><qemu:env name='A' value='1'/></qemu:commandline>", "",
                   " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"),
       {}},
      {"iothreads are acted on",
       domain_with("<iothreads>2</iothreads><cputune><iothreadpin iothread='1' cpuset='0'/></cputune>",
                   "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='2'/>"
                   "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"),
       {}},
      {"several, in document order", domain_with("<genid/><blkiotune><weight>800</weight></blkiotune>", "<rng model='virtio'/>"),
       {"<genid>: not supported, ignored", "<blkiotune>: not supported, ignored",
        "<devices><rng model='virtio'>: not supported, ignored"}},
  };
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_snippet_gives_exactly_its_warnings) {
  for (const row& r : table()) {
    BOOST_TEST_CONTEXT(r.what) { BOOST_TEST(warnings_of(r.xml) == r.expected, boost::test_tools::per_element()); }
  }
}

BOOST_AUTO_TEST_CASE(unread_children_of_a_read_element_are_named_by_their_path) {
  const std::string xml =
      "<domain type='qemu'><name>w</name><memory unit='MiB'>128</memory>"
      "<os firmware='efi'><type arch='x86_64' machine='q35'>hvm</type><loader readonly='yes'>/x.fd</loader>"
      "<boot dev='hd'/></os><devices/></domain>";
  const std::vector<std::string> expected{"<os firmware='efi'>: attribute not supported, ignored",
                                          "<os><loader readonly='yes'>: not supported, ignored"};
  BOOST_TEST(warnings_of(xml) == expected, boost::test_tools::per_element());
}

// Every file the project ships or tests with parses; the fixtures of vnumad's
// own guests (tests/data/fixtures/domains) use nothing vnumad ignores.
BOOST_AUTO_TEST_CASE(the_projects_own_domains_give_no_warnings) {
  namespace fs = std::filesystem;
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(fs::path(VNUMAD_REFERENCE_DIR) / "fixtures/domains")) {
    if (e.path().extension() != ".xml") continue;
    auto d = parse_domain_file(e.path(), {.validate = false});
    if (!d) continue;  // the hostile and invalid fixtures are other tests' business
    ++files;
    BOOST_TEST(d->warnings.empty(), e.path().filename() << ": " << (d->warnings.empty() ? "" : d->warnings.front()));
  }
  BOOST_TEST(files > 0u);
}

BOOST_AUTO_TEST_CASE(strict_turns_the_warnings_into_one_error) {
  auto d = parse_domain_string(domain_with("<pm/>", "<sound model='ich9'/>"), "w.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  BOOST_TEST(check_strict(*d, false).has_value());
  auto refused = check_strict(*d, true);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().code == errc::unsupported);
  BOOST_TEST(refused.error().message ==
             "w.xml: vnumad.conf has strict = true, and vnumad does not act on: <pm>: not supported, ignored; "
             "<devices><sound model='ich9'>: not supported, ignored");
  auto clean = parse_domain_string(domain_with(""), "w.xml");
  BOOST_TEST_REQUIRE(clean.has_value());
  BOOST_TEST(check_strict(*clean, true).has_value());
}

BOOST_AUTO_TEST_CASE(load_notes_name_the_file_and_the_passthrough) {
  auto d = parse_domain_string(
      domain_with("<qemu:commandline><qemu:arg value='-no-hpet'/></qemu:commandline>", "<sound model='ich9'/>",
                  " xmlns:qemu='http://libvirt.org/schemas/domain/qemu/1.0'"),
      "w.xml");
  BOOST_TEST_REQUIRE(d.has_value());
  auto notes = load_notes(*d);
  BOOST_TEST_REQUIRE(notes.size() == 2u);
  BOOST_TEST(notes[0] == "w.xml: <devices><sound model='ich9'>: not supported, ignored");
  BOOST_TEST(notes[1].find("w.xml: <qemu:commandline> passes 1 argument(s) and 0 environment variable(s) to QEMU") == 0u,
             notes[1]);
}

BOOST_AUTO_TEST_CASE(qemu_commandline_is_read_and_written_back) {
  const std::string ns = " xmlns:q='http://libvirt.org/schemas/domain/qemu/1.0'";
  auto d = parse_domain_string(
      domain_with("<q:commandline><q:arg value='-set'/><q:arg value='device.x.y=z'/><q:env name='FOO' value='a b'/>"
                  "</q:commandline>", "", ns),
      "w.xml");
  BOOST_TEST_REQUIRE(d.has_value(), d.error().message);
  BOOST_TEST_REQUIRE(d->qemu_commandline.has_value());
  BOOST_TEST(d->qemu_commandline->args == (std::vector<std::string>{"-set", "device.x.y=z"}));
  BOOST_TEST_REQUIRE(d->qemu_commandline->env.size() == 1u);
  BOOST_TEST(d->qemu_commandline->env[0].name == "FOO");
  BOOST_TEST(d->qemu_commandline->env[0].value == "a b");
  // Kept tree and a domain built in memory both write it.
  for (bool from_scratch : {false, true}) {
    domain copy = *d;
    if (from_scratch) copy.xml.clear();
    auto again = parse_domain_string(write_domain_xml(copy), "again.xml");
    BOOST_TEST_REQUIRE(again.has_value(), again.error().message);
    BOOST_TEST((again->qemu_commandline == d->qemu_commandline));
    BOOST_TEST(again->warnings.empty());
  }
  auto bad = parse_domain_string(
      domain_with("<q:commandline><q:env name='1X' value='a'/></q:commandline>", "", ns), "w.xml");
  BOOST_TEST_REQUIRE(!bad.has_value());
  BOOST_TEST(bad.error().message.find("<q:commandline><q:env name='1X'>") != std::string::npos, bad.error().message);
}

BOOST_AUTO_TEST_CASE(iothreads_are_read_validated_and_written_back) {
  auto d = parse_domain_string(
      domain_with("<iothreads>2</iothreads><cputune><iothreadpin iothread='2' cpuset='1'/></cputune>",
                  "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1'/>"
                  "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>"),
      "w.xml");
  BOOST_TEST_REQUIRE(d.has_value(), d.error().message);
  BOOST_TEST(d->iothreads == 2u);
  BOOST_TEST_REQUIRE(d->cputune->iothreadpins.size() == 1u);
  BOOST_TEST(d->cputune->iothreadpins[0].iothread == 2u);
  BOOST_TEST(d->devices.disks[0].iothread.value_or(0) == 1u);
  for (bool from_scratch : {false, true}) {
    domain copy = *d;
    if (from_scratch) copy.xml.clear();
    auto again = parse_domain_string(write_domain_xml(copy), "again.xml");
    BOOST_TEST_REQUIRE(again.has_value(), again.error().message);
    BOOST_TEST(again->iothreads == 2u);
    BOOST_TEST((again->cputune->iothreadpins == d->cputune->iothreadpins));
    BOOST_TEST(again->devices.disks[0].iothread.value_or(0) == 1u);
  }
  struct bad {
    std::string xml, fragment;
  };
  const std::string disk3 = "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='3'/>"
                            "<source file='/d.img'/><target dev='vda' bus='virtio'/></disk>";
  const std::string sata = "<disk type='file' device='disk'><driver name='qemu' type='raw' iothread='1'/>"
                           "<source file='/d.img'/><target dev='sda' bus='sata'/></disk>";
  for (const bad& b : {bad{domain_with("<iothreads>2</iothreads>", disk3), "iothread 3 does not exist (valid: 1..2)"},
                       bad{domain_with("<iothreads>1</iothreads>", sata), "only virtio disks run in an iothread"},
                       bad{domain_with("<cputune><iothreadpin iothread='1' cpuset='0'/></cputune>"),
                           "<iothreadpin iothread='1'>: iothread 1 does not exist (no <iothreads>)"}}) {
    auto r = parse_domain_string(b.xml, "w.xml");
    BOOST_TEST_REQUIRE(!r.has_value(), b.xml);
    BOOST_TEST(r.error().message.find(b.fragment) != std::string::npos, r.error().message);
  }
}
