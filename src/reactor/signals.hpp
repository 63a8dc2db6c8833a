// SIGTERM/SIGINT stop the daemon, SIGHUP rescans the config dir. Asio's
// signal_set turns the signal into an ordinary completion on the io_context,
// so the callbacks run on the daemon's thread like everything else.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <functional>
#include <memory>

namespace vnumad::reactor {

class signal_handlers {
 public:
  // Starts listening at once. Callbacks may run any number of times (a
  // second SIGTERM calls on_stop again) until stop().
  signal_handlers(const boost::asio::any_io_executor& ex, std::function<void()> on_stop,
                  std::function<void()> on_rescan);
  signal_handlers(boost::asio::io_context& io, std::function<void()> on_stop, std::function<void()> on_rescan)
      : signal_handlers(io.get_executor(), std::move(on_stop), std::move(on_rescan)) {}
  ~signal_handlers();
  signal_handlers(const signal_handlers&) = delete;
  signal_handlers& operator=(const signal_handlers&) = delete;

  // Restores default dispositions; no callback runs after this.
  void stop();

  struct state;  // opaque; shared with the waiting coroutine

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vnumad::reactor
