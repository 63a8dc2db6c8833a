#define BOOST_TEST_MODULE reactor_guest_job
#include <boost/test/unit_test.hpp>

#include "reactor/guest_job.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <stdexcept>
#include <string>
#include <vector>

using namespace vnumad;
using namespace vnumad::reactor;
namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

asio::awaitable<void> pause(std::chrono::milliseconds d) {
  asio::steady_timer t(co_await asio::this_coro::executor, d);
  co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
}

// Holds the job for `hold`, logging when it starts and ends.
asio::awaitable<void> operation(guest_job& job, std::string name, std::chrono::milliseconds hold,
                                std::vector<std::string>& log, std::chrono::milliseconds wait = guest_job::socket_wait) {
  auto lease = co_await job.begin(name, wait);
  if (!lease) {
    log.push_back("refused " + name + ": " + lease.error().message);
    co_return;
  }
  log.push_back("begin " + name);
  co_await pause(hold);
  log.push_back("end " + name);
}

}  // namespace

BOOST_AUTO_TEST_CASE(operations_queue_in_order_and_never_interleave) {
  asio::io_context io;
  guest_job job(io.get_executor(), "web");
  std::vector<std::string> log;
  asio::co_spawn(io, operation(job, "start", 50ms, log), asio::detached);
  asio::co_spawn(io, operation(job, "config edit", 10ms, log, guest_job::no_limit), asio::detached);
  asio::co_spawn(io, operation(job, "setvcpus", 10ms, log), asio::detached);
  io.run();
  const std::vector<std::string> wanted{"begin start",       "end start",     "begin config edit",
                                        "end config edit",   "begin setvcpus", "end setvcpus"};
  BOOST_TEST(log == wanted, boost::test_tools::per_element());
  BOOST_TEST(!job.busy());
  BOOST_TEST(job.queued() == 0u);
}

BOOST_AUTO_TEST_CASE(a_wait_past_its_bound_is_refused_naming_the_operation_in_progress) {
  asio::io_context io;
  guest_job job(io.get_executor(), "web");
  std::vector<std::string> log;
  asio::co_spawn(io, operation(job, "start", 200ms, log), asio::detached);
  asio::co_spawn(io, operation(job, "setvcpus", 10ms, log, 20ms), asio::detached);
  io.run();
  BOOST_TEST_REQUIRE(log.size() == 3u);
  BOOST_TEST(log[0] == "begin start");
  BOOST_TEST(log[1].find("refused setvcpus: guest 'web' is busy: start in progress") == 0u, log[1]);
  BOOST_TEST(log[2] == "end start");
  auto now = job.try_begin("vcpupin");
  BOOST_TEST(now.has_value());
}

BOOST_AUTO_TEST_CASE(try_begin_refuses_with_busy_while_held) {
  asio::io_context io;
  guest_job job(io.get_executor(), "db");
  auto first = job.try_begin("destroy");
  BOOST_TEST_REQUIRE(first.has_value());
  BOOST_TEST(job.current() == "destroy");
  auto second = job.try_begin("start");
  BOOST_TEST_REQUIRE(!second.has_value());
  BOOST_TEST(second.error().code == errc::busy);
  BOOST_TEST(second.error().message.find("destroy in progress") != std::string::npos, second.error().message);
  first->release();
  BOOST_TEST(!job.busy());
  BOOST_TEST(job.try_begin("start").has_value());
}

BOOST_AUTO_TEST_CASE(the_lease_ends_when_its_coroutine_throws) {
  asio::io_context io;
  guest_job job(io.get_executor(), "web");
  std::vector<std::string> log;
  std::exception_ptr escaped;
  asio::co_spawn(
      io,
      [&]() -> asio::awaitable<void> {
        auto lease = co_await job.begin("attach-memory");
        BOOST_TEST_REQUIRE(lease.has_value());
        co_await pause(10ms);
        throw std::runtime_error("boom");
      },
      [&](std::exception_ptr e) { escaped = e; });
  asio::co_spawn(io, operation(job, "detach-memory", 1ms, log), asio::detached);
  io.run();
  BOOST_TEST(static_cast<bool>(escaped));
  const std::vector<std::string> wanted{"begin detach-memory", "end detach-memory"};
  BOOST_TEST(log == wanted, boost::test_tools::per_element());
  BOOST_TEST(!job.busy());
}

BOOST_AUTO_TEST_CASE(moving_a_lease_keeps_one_holder) {
  asio::io_context io;
  guest_job job(io.get_executor(), "web");
  auto taken = job.try_begin("resume start");
  BOOST_TEST_REQUIRE(taken.has_value());
  guest_job::lease moved = std::move(*taken);
  BOOST_TEST(!taken->held());
  BOOST_TEST(moved.held());
  BOOST_TEST(job.busy());
  { guest_job::lease gone = std::move(moved); }
  BOOST_TEST(!job.busy());
}
