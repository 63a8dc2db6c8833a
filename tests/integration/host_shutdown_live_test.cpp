// Host shutdown (issue 11): `vnumactl host-shutdown`, the ExecStop= of
// vnumad-guests.service, run as systemd would run it when the host powers
// off, against a daemon with real guests. on_host_shutdown = shutdown: the
// test guest (tests/guest) gets the ACPI power button, prints it on its
// serial console and powers off by itself before its QEMU ends, while a
// firmware-only guest, which has no OS to hear the button, is ended after
// host_shutdown_timeout, with progress in the log; destroy ends QEMU at once;
// leave leaves it running. QEMU's end is read from /proc, the power-off from
// the guest's own console and QEMU's QMP SHUTDOWN event.
#define BOOST_TEST_MODULE host_shutdown
#include <boost/test/unit_test.hpp>

#include "daemon_support.hpp"

using namespace vnumad;
using namespace vnumad::testing;

namespace {

guest_spec test_guest(const std::string& name) {
  // on_poweroff restart: a host shutdown must not start it again.
  guest_spec g = small_test_guest(name);
  g.on_poweroff = "restart";
  return g;
}

// Firmware only: nobody handles ACPI.
void define_firmware_guest(daemon_fixture& d, const std::string& name) {
  write_text(d.domain_file(name), firmware_domain_xml({.name = name, .vcpu_cpuset = "0-1"}));
}

struct run_result {
  int exit_status = -1;
  std::string out;
  double seconds = 0;
  json::object reply;
};

// vnumactl host-shutdown, as ExecStop= runs it (with --json: the reply is parsed).
run_result host_shutdown(daemon_fixture& d, bool as_json = true) {
  run_result r;
  auto t0 = std::chrono::steady_clock::now();
  auto ran = run_vnumactl("host-shutdown --socket " + d.socket().string() + (as_json ? " --json" : ""),
                          vnumactl_stderr::discarded);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  r.exit_status = ran.exit_status;
  r.out = ran.out;
  boost::system::error_code ec;
  auto v = json::parse(r.out, ec);
  if (!ec && v.is_object()) r.reply = v.as_object();
  return r;
}

// The reply's entry for one guest.
json::object outcome_of(const run_result& r, const std::string& name) {
  if (!r.reply.contains("guests")) return {};
  for (const auto& g : r.reply.at("guests").as_array())
    if (g.at("name").as_string() == name) return g.as_object();
  return {};
}
std::string outcome(const run_result& r, const std::string& name) {
  auto o = outcome_of(r, name);
  return o.contains("outcome") ? std::string(o.at("outcome").as_string()) : "";
}

}  // namespace

BOOST_AUTO_TEST_CASE(shutdown_powers_guests_off_and_ends_the_one_that_ignores_the_button) {
  daemon_fixture d("on_host_shutdown = shutdown\nhost_shutdown_timeout = 8\n");
  const std::string hears = unique_name("hears"), deaf = unique_name("deaf");
  d.define(test_guest(hears));
  define_firmware_guest(d, deaf);
  BOOST_TEST_REQUIRE(d.wait_state(hears, "running"), d.daemon_log());
  BOOST_TEST_REQUIRE(d.wait_state(deaf, "running"), d.daemon_log());
  d.wait_guest_ready(hears);  // its acpid listens for the button from here on
  const pid_t hears_pid = d.guest_pid(hears).value(), deaf_pid = d.guest_pid(deaf).value();

  reactor::control_client events;
  BOOST_TEST_REQUIRE(events.connect(d.socket().string()).has_value());
  BOOST_TEST_REQUIRE(events.call("events", {}, 10s).has_value());

  run_result r = host_shutdown(d);
  BOOST_TEST(r.exit_status == 0, r.out);
  BOOST_TEST_REQUIRE(r.reply.contains("guests"), "reply: " << r.out);
  BOOST_TEST(r.reply.at("action").as_string() == "shutdown");

  // The guest heard the button: its console says so, written by its QEMU,
  // which was therefore still running; then QEMU is gone (from /proc).
  const std::string serial = read_text(d.serial(hears));
  BOOST_TEST(serial.find("VNUMA POWEROFF") != std::string::npos, serial);
  BOOST_TEST(!pid_alive(hears_pid), "QEMU of " << hears << " still runs");
  BOOST_TEST(outcome(r, hears) == "powered off", r.out);
  BOOST_TEST(outcome_of(r, hears).at("seconds").to_number<double>() < 8.0);
  // QEMU's own word: the guest shut itself down, before vnumad ended QEMU.
  int guest_shutdown_at = -1, shut_off_at = -1;
  for (int i = 0; auto ev = events.next_event(2s); ++i) {
    const auto& e = *ev;
    if (!e.contains("guest") || e.at("guest").as_string() != hears) continue;
    if (e.at("event").as_string() == "shutdown" && e.contains("reason") &&
        e.at("reason").as_string() == "guest-shutdown" && guest_shutdown_at < 0)
      guest_shutdown_at = i;
    if (e.at("event").as_string() == "state" && e.at("state").as_string() == "shut off" && shut_off_at < 0)
      shut_off_at = i;
  }
  BOOST_TEST(guest_shutdown_at >= 0, "no shutdown event (QMP SHUTDOWN) with reason guest-shutdown for " << hears);
  BOOST_TEST(shut_off_at > guest_shutdown_at);

  // The firmware guest never powered off: ended once the timeout had passed.
  BOOST_TEST(!pid_alive(deaf_pid), "QEMU of " << deaf << " still runs");
  BOOST_TEST(outcome(r, deaf) == "ended after the timeout", r.out);
  BOOST_TEST(outcome_of(r, deaf).at("seconds").to_number<double>() >= 8.0);
  BOOST_TEST(r.seconds >= 8.0);
  BOOST_TEST(r.seconds < 8.0 + 25.0);
  // Progress in the log: who is still up and the seconds left.
  const std::string log = d.daemon_log();
  BOOST_TEST(log.find("host shutdown: ACPI power button to 2 guest(s)") != std::string::npos, log);
  BOOST_TEST(log.find("host shutdown: 1 guest(s) still up (" + deaf + "), ") != std::string::npos, log);
  BOOST_TEST(log.find(" s left") != std::string::npos, log);
  BOOST_TEST(log.find("1 guest(s) powered off by themselves, 1 ended by vnumad") != std::string::npos, log);

  // <on_poweroff>restart</on_poweroff> does not bring it back during a host shutdown.
  std::this_thread::sleep_for(3s);
  BOOST_TEST(d.state(hears) == "shut off");
  BOOST_TEST(!d.guest_pid(hears).has_value());
}

BOOST_AUTO_TEST_CASE(destroy_ends_qemu_at_once) {
  daemon_fixture d("on_host_shutdown = destroy\nhost_shutdown_timeout = 60\n");
  const std::string name = unique_name("destroyed");
  d.define(test_guest(name));
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  d.wait_guest_ready(name);
  const pid_t pid = d.guest_pid(name).value();
  run_result r = host_shutdown(d);
  BOOST_TEST(r.exit_status == 0, r.out);
  BOOST_TEST(outcome(r, name) == "destroyed", r.out);
  BOOST_TEST(r.seconds < 10.0);
  BOOST_TEST(!pid_alive(pid));
  // No power button: the guest never printed it.
  BOOST_TEST(read_text(d.serial(name)).find("VNUMA POWEROFF") == std::string::npos);
}

BOOST_AUTO_TEST_CASE(leave_leaves_qemu_running) {
  daemon_fixture d("on_host_shutdown = leave\n");
  const std::string name = unique_name("left");
  define_firmware_guest(d, name);
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  const pid_t pid = d.guest_pid(name).value();
  run_result r = host_shutdown(d);
  BOOST_TEST(r.exit_status == 0, r.out);
  BOOST_TEST(outcome(r, name) == "left running", r.out);
  BOOST_TEST(pid_alive(pid));
  BOOST_TEST(d.state(name) == "running");
  BOOST_TEST(d.guest_pid(name).value_or(0) == pid);
  // What ExecStop= writes to the journal.
  run_result text = host_shutdown(d, false);
  BOOST_TEST(text.exit_status == 0, text.out);
  BOOST_TEST(text.out.find("host shutdown (on_host_shutdown = leave, timeout 120 s): 1 guest(s)") != std::string::npos,
             text.out);
  BOOST_TEST(text.out.find("  " + name + ": left running") != std::string::npos, text.out);
  BOOST_TEST(pid_alive(pid));
}
