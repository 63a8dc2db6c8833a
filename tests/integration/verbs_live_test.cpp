#define BOOST_TEST_MODULE verbs_live
#include <boost/test/unit_test.hpp>

// The verb table against a running vnumad: its read-only socket serves
// exactly the verbs the table marks read-only and the read-write socket
// dispatches every verb; vnumactl --json carries the daemon's error code; and
// `events` (issue 14) gives each lifecycle and hot-plug event of a real guest,
// in order, with an RFC 3339 time in microseconds and its reason, to every
// subscriber or, filtered by the daemon, to those of that guest only.
#include "integration/daemon_support.hpp"
#include "reactor/verbs.hpp"

#include <regex>

using namespace vnumad;
using namespace vnumad::testing;

BOOST_AUTO_TEST_CASE(the_read_only_socket_serves_exactly_the_read_only_verbs) {
  const std::string ro_socket = (fs::temp_directory_path() / unique_name("vnumad-ro")).string() + ".sock";
  daemon_fixture d("readonly_socket = " + ro_socket + "\n");
  BOOST_TEST_REQUIRE(wait_until([&] { return fs::exists(ro_socket); }, 10s));
  // host-shutdown last: afterwards the daemon starts nothing.
  std::vector<const reactor::verb*> ordered;
  for (const auto& v : reactor::verbs())
    if (v.name != "host-shutdown") ordered.push_back(&v);
  ordered.push_back(reactor::find_verb("host-shutdown"));
  for (const reactor::verb* v : ordered) {
    const std::string op(v->name);
    // One connection per verb: "events" turns its connection into a subscription.
    reactor::control_client ro;
    BOOST_TEST_REQUIRE(ro.connect(ro_socket).has_value());
    auto on_ro = ro.call(op, {}, 30s);
    const bool refused = !on_ro && on_ro.error().code == errc::permission_denied;
    BOOST_TEST(refused == (v->access == reactor::access_level::read_write),
               op << " on the read-only socket: " << (on_ro ? "ok" : on_ro.error().message));
    if (refused) BOOST_TEST(on_ro.error().message.find("needs the read-write socket") != std::string::npos);
    reactor::control_client rw;
    BOOST_TEST_REQUIRE(rw.connect(d.socket().string()).has_value());
    auto on_rw = rw.call(op, {}, 60s);
    // Served: a result, or an argument error ("missing argument"), never
    // "unknown op" or refused.
    BOOST_TEST((on_rw || on_rw.error().message.find("missing argument") != std::string::npos),
               op << " on the read-write socket: " << on_rw.error().message << "\n" << d.daemon_log());
  }
  reactor::control_client rw;
  BOOST_TEST_REQUIRE(rw.connect(d.socket().string()).has_value());
  auto unknown = rw.call("frobnicate", {}, 10s);
  BOOST_TEST_REQUIRE(!unknown.has_value());
  BOOST_TEST(unknown.error().message == "unknown op \"frobnicate\" (valid: " + reactor::verb_names() + ")");

  // vnumactl --json: the daemon's own error code.
  auto r = run_vnumactl("dominfo no-such-guest --json -c " + d.socket().string(), vnumactl_stderr::discarded);
  BOOST_TEST(r.exit_status == 2, r.out);
  auto v = json::parse(r.out);
  BOOST_TEST(v.at("error").at("code").as_string() == "not_found", r.out);
  BOOST_TEST(std::string(v.at("error").at("message").as_string()).find("no-such-guest") != std::string::npos);
  auto denied = run_vnumactl("destroy anyone --json -c " + ro_socket, vnumactl_stderr::discarded);
  BOOST_TEST(denied.exit_status == 1, denied.out);
  BOOST_TEST(json::parse(denied.out).at("error").at("code").as_string() == "permission_denied", denied.out);
}

BOOST_AUTO_TEST_CASE(events_name_every_step_with_its_time_and_reason_and_filter_by_guest) {
  daemon_fixture d;
  const std::string name = unique_name("ev");
  reactor::control_client all, mine, other;
  for (auto* c : {&all, &mine, &other}) BOOST_TEST_REQUIRE(c->connect(d.socket().string()).has_value());
  BOOST_TEST_REQUIRE(all.call("events", {}, 10s).has_value());
  auto mine_reply = mine.call("events", {{"name", name}}, 10s);
  BOOST_TEST_REQUIRE(mine_reply.has_value());
  BOOST_TEST(mine_reply->at("defined").as_bool() == false);
  BOOST_TEST_REQUIRE(other.call("events", {{"name", "someone-else"}}, 10s).has_value());

  d.define(guest_spec{.name = name, .current = 4});
  BOOST_TEST_REQUIRE(d.wait_state(name, "running"), d.daemon_log());
  d.wait_guest_ready(name);
  auto grown = d.call("setvcpus", {{"name", name}, {"count", 8}}, 120s);
  BOOST_TEST_REQUIRE(grown.has_value(), grown.error().message);
  // A file that is no domain: an event of no guest, for the unfiltered only.
  write_text(d.dir / "domains.d" / "broken.xml", "<domain>");
  auto destroyed = d.call("destroy", {{"name", name}}, 60s);
  BOOST_TEST_REQUIRE(destroyed.has_value());

  // Everything up to the destroy's "shut off", from the unfiltered subscriber.
  std::vector<json::object> seen;
  bool config_error = false, shut_off = false;
  while (!(config_error && shut_off)) {
    auto ev = all.next_event(15s);
    if (!ev) break;
    if (ev->at("event").as_string() == "config_error") config_error = true;
    seen.push_back(*ev);
    if (ev->at("event").as_string() == "state" && ev->at("state").as_string() == "shut off" &&
        ev->at("guest").as_string() == name)
      shut_off = true;
  }
  BOOST_TEST(shut_off);
  BOOST_TEST(config_error);
  const std::regex rfc3339(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)");
  std::string previous;
  std::vector<std::string> kinds;
  std::map<std::string, json::object> first;
  for (const auto& e : seen) {
    const std::string time(e.at("time").as_string());
    BOOST_TEST(std::regex_match(time, rfc3339), time);
    BOOST_TEST(time >= previous, "events out of order: " << previous << " then " << time);
    previous = time;
    if (!e.contains("guest") || e.at("guest").as_string() != name) continue;
    const std::string kind(e.at("event").as_string());
    kinds.push_back(kind);
    first.emplace(kind, e);
  }
  auto at = [&](const std::string& kind) {
    return std::find(kinds.begin(), kinds.end(), kind) - kinds.begin();
  };
  std::string all_kinds;
  for (const auto& k : kinds) all_kinds += k + " ";
  for (const std::string kind : {"started", "vcpus_changed", "shutdown"})
    BOOST_TEST_REQUIRE(first.contains(kind), "no " << kind << " event; got: " << all_kinds);
  BOOST_TEST(at("started") < at("vcpus_changed"), all_kinds);
  BOOST_TEST(at("vcpus_changed") < at("shutdown"), all_kinds);
  BOOST_TEST(first.at("started").at("reason").as_string() == "defined in the config dir");
  BOOST_TEST(first.at("vcpus_changed").at("reason").as_string() == "setvcpus request");
  BOOST_TEST(first.at("vcpus_changed").at("added").as_array().size() == 4u);
  // QEMU's own reason: vnumad's destroy is a QMP quit.
  BOOST_TEST(first.at("shutdown").at("reason").as_string() == "host-qmp-quit");
  BOOST_TEST(first.at("shutdown").at("qmp").as_string() == "SHUTDOWN");
  BOOST_TEST(first.at("state").at("state").as_string() == "starting");

  // The filtered subscriber got the same events of this guest, and nothing else.
  std::vector<std::string> filtered;
  while (filtered.size() < kinds.size()) {
    auto ev = mine.next_event(5s);
    BOOST_TEST_REQUIRE(ev.has_value(), "filtered stream ended after " << filtered.size() << " of " << kinds.size());
    BOOST_TEST(ev->at("guest").as_string() == name);
    filtered.emplace_back(ev->at("event").as_string());
  }
  BOOST_TEST(filtered == kinds);
  BOOST_TEST(!other.next_event(1s).has_value(), "a subscriber of another guest got an event");
}
