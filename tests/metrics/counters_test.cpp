#define BOOST_TEST_MODULE metrics_counters
#include <boost/test/unit_test.hpp>

#include "metrics/counters.hpp"

using namespace vnumad::metrics;
namespace json = boost::json;

namespace {
json::object state(const char* guest, const char* s) { return {{"event", "state"}, {"guest", guest}, {"state", s}}; }
}  // namespace

BOOST_AUTO_TEST_CASE(requests_are_counted_by_verb_and_code) {
  counters c;
  c.count_request("list", "ok");
  c.count_request("list", "ok");
  c.count_request("start", "not_found");
  BOOST_TEST(c.requests().size() == 2u);
  BOOST_TEST(c.requests().at({"list", "ok"}) == 2u);
  BOOST_TEST(c.requests().at({"start", "not_found"}) == 1u);
}

BOOST_AUTO_TEST_CASE(a_start_after_the_guest_was_up_is_a_restart_and_undefining_forgets_it) {
  counters c;
  // The first start, a failed one and its retry are no restarts: it was never up.
  for (const char* s : {"starting", "shut off", "starting", "running"}) c.observe(state("web", s));
  BOOST_TEST(c.restarts("web") == 0u);
  // A crash and the policy's restart; a reboot that restarts QEMU.
  for (const char* s : {"crashed", "starting", "running", "shut off", "starting", "paused"}) c.observe(state("web", s));
  BOOST_TEST(c.restarts("web") == 2u);
  // A guest re-attached paused has been up too.
  c.observe(state("db", "paused"));
  c.observe(state("db", "starting"));
  BOOST_TEST(c.restarts("db") == 1u);
  // Other events and other guests change nothing.
  c.observe({{"event", "crashed"}, {"guest", "web"}, {"status", "killed"}});
  c.observe({{"event", "config_error"}, {"file", "/x.xml"}});
  BOOST_TEST(c.restarts("web") == 2u);
  BOOST_TEST(c.restarts("none") == 0u);
  c.observe({{"event", "undefined"}, {"guest", "web"}});
  BOOST_TEST(c.restarts("web") == 0u);
  c.observe(state("web", "starting"));  // defined again: a first start
  BOOST_TEST(c.restarts("web") == 0u);
}
