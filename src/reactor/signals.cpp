#include "reactor/signals.hpp"

#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <exception>

namespace vnumad::reactor {
namespace asio = boost::asio;

struct signal_handlers::state {
  state(const asio::any_io_executor& ex, std::function<void()> stop_cb, std::function<void()> rescan_cb)
      : signals(ex, SIGTERM, SIGINT, SIGHUP), on_stop(std::move(stop_cb)), on_rescan(std::move(rescan_cb)) {}
  asio::signal_set signals;
  std::function<void()> on_stop;
  std::function<void()> on_rescan;
  bool stopped = false;
};

namespace {

// Holds the state by shared_ptr: it outlives the signal_handlers object until
// the cancelled wait has completed.
asio::awaitable<void> dispatch(std::shared_ptr<signal_handlers::state> st) {
  while (!st->stopped) {
    auto [ec, signo] = co_await st->signals.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || st->stopped) co_return;
    if (signo == SIGHUP) {
      if (st->on_rescan) st->on_rescan();
    } else if (st->on_stop) {
      st->on_stop();
    }
  }
}

}  // namespace

signal_handlers::signal_handlers(const asio::any_io_executor& ex, std::function<void()> on_stop,
                                 std::function<void()> on_rescan)
    : state_(std::make_shared<state>(ex, std::move(on_stop), std::move(on_rescan))) {
  asio::co_spawn(ex, [st = state_]() { return dispatch(st); }, [](std::exception_ptr e) {
    if (!e) return;
    try {
      std::rethrow_exception(e);
    } catch (const std::exception& ex) {
      log(log_level::error, std::string("signal handler failed: ") + ex.what());
    }
  });
}

signal_handlers::~signal_handlers() { stop(); }

void signal_handlers::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  boost::system::error_code ignored;
  state_->signals.clear(ignored);
  state_->signals.cancel(ignored);
}

}  // namespace vnumad::reactor
