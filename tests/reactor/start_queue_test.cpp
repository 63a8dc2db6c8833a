#define BOOST_TEST_MODULE start_queue
#include <boost/test/unit_test.hpp>

#include "reactor/start_queue.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <string>
#include <vector>

using namespace vnumad::reactor;
using namespace std::chrono_literals;
namespace asio = boost::asio;

namespace {

// Starts that each take `how_long` on a real timer, recording when they ran.
struct recorder {
  asio::io_context io;
  std::vector<std::string> began, ended;
  std::size_t now_running = 0, most_at_once = 0;
  std::vector<std::pair<std::size_t, std::size_t>> counts;  // (running, queued) at each change

  start_queue::task start(std::string name, std::chrono::milliseconds how_long) {
    return [this, name, how_long]() -> asio::awaitable<void> {
      began.push_back(name);
      most_at_once = std::max(most_at_once, ++now_running);
      asio::steady_timer t(io, how_long);
      co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
      --now_running;
      ended.push_back(name);
    };
  }
};

}  // namespace

BOOST_AUTO_TEST_CASE(never_more_than_the_limit_and_in_queue_order) {
  recorder r;
  start_queue* q_ptr = nullptr;
  start_queue q(r.io, 2, [&] { r.counts.emplace_back(q_ptr->running(), q_ptr->queued()); });
  q_ptr = &q;
  for (int i = 0; i < 5; ++i) q.enqueue("g" + std::to_string(i), r.start("g" + std::to_string(i), 30ms));
  BOOST_TEST(q.running() == 2u);
  BOOST_TEST(q.queued() == 3u);
  r.io.run_for(2s);
  BOOST_TEST(r.ended.size() == 5u);
  BOOST_TEST(r.most_at_once == 2u);
  BOOST_TEST(q.peak() == 2u);
  BOOST_TEST((r.began == std::vector<std::string>{"g0", "g1", "g2", "g3", "g4"}));
  BOOST_TEST(q.running() == 0u);
  BOOST_TEST(q.queued() == 0u);
  for (auto [running, queued] : r.counts) BOOST_TEST(running <= 2u);
  BOOST_TEST((r.counts.back() == std::pair<std::size_t, std::size_t>{0, 0}));
}

BOOST_AUTO_TEST_CASE(limit_one_is_serial) {
  recorder r;
  start_queue q(r.io, 1, {});
  for (const char* n : {"a", "b", "c"}) q.enqueue(n, r.start(n, 10ms));
  r.io.run_for(2s);
  BOOST_TEST(r.most_at_once == 1u);
  BOOST_TEST((r.ended == std::vector<std::string>{"a", "b", "c"}));
}

BOOST_AUTO_TEST_CASE(a_name_is_queued_once_and_cancel_drops_waiting_starts) {
  recorder r;
  start_queue q(r.io, 1, {});
  q.enqueue("a", r.start("a", 20ms));
  q.enqueue("a", r.start("a", 20ms));  // starting: not again
  q.enqueue("b", r.start("b", 20ms));
  q.enqueue("b", r.start("b", 20ms));  // queued: not again
  q.enqueue("c", r.start("c", 20ms));
  BOOST_TEST(q.queued() == 2u);
  BOOST_TEST(q.is_queued("b"));
  q.cancel("b");
  BOOST_TEST(!q.is_queued("b"));
  r.io.run_for(1s);
  BOOST_TEST((r.began == std::vector<std::string>{"a", "c"}));

  q.enqueue("d", r.start("d", 50ms));
  q.enqueue("e", r.start("e", 50ms));
  q.cancel_all();  // d has begun and runs on; e never starts
  r.io.restart();
  r.io.run_for(1s);
  BOOST_TEST((r.began == std::vector<std::string>{"a", "c", "d"}));
}

BOOST_AUTO_TEST_CASE(a_resumed_start_holds_a_slot) {
  recorder r;
  start_queue q(r.io, 1, {});
  q.run_now("resumed", r.start("resumed", 60ms));
  q.enqueue("new", r.start("new", 10ms));
  BOOST_TEST(q.running() == 1u);
  BOOST_TEST(q.queued() == 1u);  // waits for the resumed start
  r.io.run_for(1s);
  BOOST_TEST((r.ended == std::vector<std::string>{"resumed", "new"}));
  BOOST_TEST(r.most_at_once == 1u);
}
