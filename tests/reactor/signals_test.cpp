#define BOOST_TEST_MODULE signals
#include <boost/test/unit_test.hpp>

#include "reactor/signals.hpp"

#include <boost/asio/io_context.hpp>

#include <csignal>
#include <chrono>

using namespace vnumad::reactor;
using namespace std::chrono_literals;

namespace {

struct counts {
  int stop = 0;
  int rescan = 0;
};

// Raises the signal in-process, then runs the loop until a callback ran.
void raise_and_run(boost::asio::io_context& io, int signo, const counts& c) {
  int before = c.stop + c.rescan;
  BOOST_TEST_REQUIRE(::raise(signo) == 0);
  auto deadline = std::chrono::steady_clock::now() + 2s;
  while (c.stop + c.rescan == before && std::chrono::steady_clock::now() < deadline) {
    io.restart();
    io.run_for(10ms);
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(each_signal_reaches_its_callback) {
  struct row {
    int signo;
    int stop;
    int rescan;
  };
  const row rows[] = {{SIGHUP, 0, 1}, {SIGTERM, 1, 0}, {SIGINT, 1, 0}};
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT("signal " << r.signo) {
      boost::asio::io_context io;
      counts c;
      signal_handlers handlers(io, [&] { ++c.stop; }, [&] { ++c.rescan; });
      raise_and_run(io, r.signo, c);
      BOOST_TEST(c.stop == r.stop);
      BOOST_TEST(c.rescan == r.rescan);
    }
  }
}

BOOST_AUTO_TEST_CASE(keeps_listening_until_stopped) {
  boost::asio::io_context io;
  counts c;
  signal_handlers handlers(io, [&] { ++c.stop; }, [&] { ++c.rescan; });
  raise_and_run(io, SIGHUP, c);
  raise_and_run(io, SIGHUP, c);
  raise_and_run(io, SIGTERM, c);
  BOOST_TEST(c.rescan == 2);
  BOOST_TEST(c.stop == 1);

  handlers.stop();
  io.restart();
  io.run_for(50ms);
  // After stop the dispositions are back to default for SIGTERM; ignore it
  // here so the check cannot kill the test, and verify no callback ran.
  std::signal(SIGHUP, SIG_IGN);
  ::raise(SIGHUP);
  io.restart();
  io.run_for(50ms);
  BOOST_TEST(c.rescan == 2);
  BOOST_TEST(io.stopped());  // nothing left pending: the wait was cancelled
}
