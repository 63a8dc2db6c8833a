#define BOOST_TEST_MODULE domain_redact
#include <boost/test/unit_test.hpp>

// What the read-only control socket shows of a domain: no passwords, no
// <description>, <metadata> or comments; everything else as written.
#include "config/domain_redact.hpp"
#include "config/domain_xml.hpp"

using namespace vnumad;

namespace {

const std::string xml = R"(<domain type='qemu'>
  <name>web</name>
  <description>root password is hunter2</description>
  <metadata><app:info xmlns:app='http://example.org/app'>token=abc123</app:info></metadata>
  <memory unit='MiB'>256</memory>
  <vcpu placement='static'>2</vcpu>
  <os><type arch='x86_64' machine='q35'>hvm</type></os>
  <!-- the spice password is s3cret -->
  <devices>
    <graphics type='vnc' port='-1' passwd='vncpass' passwdValidTo='2030-01-01T00:00:00' keymap='de'/>
    <graphics type='spice' autoport='yes' passwd='spicepass'>
      <listen type='address' address='127.0.0.1' secretKey='rbdkey'/>
    </graphics>
  </devices>
</domain>
)";

bool has(const std::string& text, const std::string& fragment) { return text.find(fragment) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_CASE(secrets_description_metadata_and_comments_are_left_out) {
  auto d = config::parse_domain_string(xml, "web.xml", {.validate = false});
  BOOST_TEST_REQUIRE(d.has_value(), (d ? "" : d.error().message));
  const std::string full = config::write_domain_xml(*d);
  const std::string shown = config::write_domain_xml(config::redacted(*d));
  // The full XML (read-write socket) has them all.
  for (const char* secret : {"vncpass", "spicepass", "hunter2", "token=abc123", "s3cret", "rbdkey", "passwdValidTo"})
    BOOST_TEST(has(full, secret), secret);
  for (const char* secret : {"vncpass", "spicepass", "hunter2", "token=abc123", "s3cret", "rbdkey", "passwd",
                             "<description", "<metadata", "<!--"})
    BOOST_TEST(!has(shown, secret), secret << " in\n" << shown);
  // The rest stays, and the redacted text is still a domain that parses.
  for (const char* kept : {"keymap=\"de\"", "type=\"spice\"", "address=\"127.0.0.1\"", "<name>web</name>"})
    BOOST_TEST(has(shown, kept), kept << " missing from\n" << shown);
  BOOST_TEST(config::parse_domain_string(shown, "redacted", {.validate = false}).has_value());
  // The original is untouched.
  BOOST_TEST(config::write_domain_xml(*d) == full);
}

BOOST_AUTO_TEST_CASE(secret_attribute_names) {
  for (const char* name : {"passwd", "password", "passwdValidTo", "secretKey", "PASSWORD", "client_secret"})
    BOOST_TEST(config::is_secret_attribute(name), name);
  for (const char* name : {"port", "keymap", "usage", "type", "uuid"}) BOOST_TEST(!config::is_secret_attribute(name), name);
}
