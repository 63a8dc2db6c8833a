#define BOOST_TEST_MODULE reactor_removal_waits
#include <boost/test/unit_test.hpp>

#include "reactor/removal_waits.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

using namespace vnumad::reactor;
namespace asio = boost::asio;
using namespace std::chrono_literals;

BOOST_AUTO_TEST_CASE(a_wait_ends_when_its_ids_are_deleted) {
  asio::io_context io;
  removal_waits waits(io.get_executor());
  std::set<std::string> got;
  waits.expect("vcpu3");
  waits.expect("vcpu5");
  const std::set<std::string> both{"vcpu3", "vcpu5"};
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { got = co_await waits.wait(both, 5s); }, asio::detached);
  asio::post(io, [&] {
    BOOST_TEST(waits.deleted("vcpu5"));
    BOOST_TEST(!waits.deleted("dimm0"));  // nobody waits for it
    BOOST_TEST(waits.deleted("vcpu3"));
  });
  auto t0 = std::chrono::steady_clock::now();
  io.run();
  BOOST_TEST((got == std::set<std::string>{"vcpu3", "vcpu5"}));
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 1s));
  BOOST_TEST(!waits.expecting("vcpu3"));
}

BOOST_AUTO_TEST_CASE(a_late_event_does_not_satisfy_a_later_wait_for_the_same_id) {
  asio::io_context io;
  removal_waits waits(io.get_executor());
  std::set<std::string> first, second;
  const std::set<std::string> dimm0{"dimm0"};
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        waits.expect("dimm0");
        first = co_await waits.wait(dimm0, 20ms);  // the guest does not release it in time
        // The late event for the first unplug: applied, but awaited by nobody.
        BOOST_TEST(!waits.deleted("dimm0"));
        waits.expect("dimm0");
        second = co_await waits.wait(dimm0, 20ms);
      },
      asio::detached);
  io.run();
  BOOST_TEST(first.empty());
  BOOST_TEST(second.empty());
}

BOOST_AUTO_TEST_CASE(clear_ends_a_wait_with_what_it_has) {
  asio::io_context io;
  removal_waits waits(io.get_executor());
  std::set<std::string> got{"x"};
  waits.expect("vcpu1");
  const std::set<std::string> vcpu1{"vcpu1"};
  asio::co_spawn(io, [&]() -> asio::awaitable<void> { got = co_await waits.wait(vcpu1, 10s); }, asio::detached);
  asio::post(io, [&] { waits.clear(); });
  auto t0 = std::chrono::steady_clock::now();
  io.run();
  BOOST_TEST(got.empty());
  BOOST_TEST((std::chrono::steady_clock::now() - t0 < 1s));
}
