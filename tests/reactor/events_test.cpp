#define BOOST_TEST_MODULE reactor_events
#include <boost/test/unit_test.hpp>

// The events of `vnumactl events`: their time format, and QEMU's events
// named with QEMU's own reason.
#include "reactor/events.hpp"

using namespace vnumad;
using namespace vnumad::reactor;
namespace json = boost::json;

BOOST_AUTO_TEST_CASE(times_are_rfc3339_utc_with_microseconds) {
  using namespace std::chrono;
  const system_clock::time_point t{seconds(1795700396) + microseconds(1362)};
  BOOST_TEST(rfc3339_micro(t) == "2026-11-26T13:39:56.001362Z");
  BOOST_TEST(rfc3339_micro(system_clock::time_point{}) == "1970-01-01T00:00:00.000000Z");
  BOOST_TEST(rfc3339_micro(system_clock::time_point{microseconds(-1)}) == "1969-12-31T23:59:59.999999Z");
}

BOOST_AUTO_TEST_CASE(qmp_events_are_named_with_qemus_reason) {
  auto shutdown = qmp_guest_event("web", {"SHUTDOWN", json::object{{"guest", true}, {"reason", "guest-shutdown"}}});
  BOOST_TEST(shutdown.at("event").as_string() == "shutdown");
  BOOST_TEST(shutdown.at("guest").as_string() == "web");
  BOOST_TEST(shutdown.at("reason").as_string() == "guest-shutdown");
  BOOST_TEST(shutdown.at("qmp").as_string() == "SHUTDOWN");
  BOOST_TEST(shutdown.at("by_guest").as_bool() == true);
  auto panic = qmp_guest_event("web", {"GUEST_PANICKED", json::object{{"action", "pause"}}});
  BOOST_TEST(panic.at("event").as_string() == "panicked");
  BOOST_TEST(panic.at("reason").as_string() == "pause");
  auto stop = qmp_guest_event("web", {"STOP", {}});
  BOOST_TEST(stop.at("event").as_string() == "suspended");
  BOOST_TEST(!stop.contains("reason"));
  auto deleted = qmp_guest_event("web", {"DEVICE_DELETED", json::object{{"device", "vcpu7"}, {"path", "/x"}}});
  BOOST_TEST(deleted.at("event").as_string() == "device_deleted");
  BOOST_TEST(deleted.at("device").as_string() == "vcpu7");
  auto other = qmp_guest_event("web", {"RTC_CHANGE", json::object{{"offset", 1}}});
  BOOST_TEST(other.at("event").as_string() == "qmp");
  BOOST_TEST(other.at("qmp").as_string() == "RTC_CHANGE");
  BOOST_TEST(other.at("data").at("offset").as_int64() == 1);
}

BOOST_AUTO_TEST_CASE(hot_plugs_carry_the_operations_result_and_reason) {
  json::value reply = json::object{{"online", "0-3"}, {"added", json::array{2, 3}}};
  auto e = hotplug_event("setvcpus", "web", reply, "config edit");
  BOOST_TEST(e.at("event").as_string() == "vcpus_changed");
  BOOST_TEST(e.at("reason").as_string() == "config edit");
  BOOST_TEST(e.at("added").as_array().size() == 2u);
  BOOST_TEST(hotplug_event("attach-memory", "web", json::object{}, "r").at("event").as_string() == "memory_attached");
  BOOST_TEST(hotplug_event("detach-memory", "web", json::object{}, "r").at("event").as_string() == "memory_detached");
  std::vector<json::object> sent;
  auto sink = [&](json::object o) { sent.push_back(std::move(o)); };
  publish_hotplug(sink, "setvcpus", "web", result<json::value>(reply), "x");
  publish_hotplug(sink, "setvcpus", "web", result<json::value>(make_error(errc::timeout, "refused")), "x");
  BOOST_TEST(sent.size() == 1u, "a failed operation is no event");
}
