// Per-key quiet periods: fire(key) runs once no touch(key) has happened for
// `quiet`. The config watcher uses it so that a burst of inotify events for
// one file (an editor's save, a slow copy, an atomic rename) becomes one read
// of the finished file.
#pragma once

#include <boost/asio/any_io_executor.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>

namespace vnumad::reactor {

class debouncer {
 public:
  using clock = std::chrono::steady_clock;
  debouncer(boost::asio::any_io_executor ex, clock::duration quiet, std::function<void(const std::string&)> fire);
  ~debouncer();
  debouncer(const debouncer&) = delete;
  debouncer& operator=(const debouncer&) = delete;

  // (Re)starts key's quiet period. Does not cancel the pending wait, it only
  // moves the deadline, so a burst costs no cancellations.
  void touch(const std::string& key);
  // The same with this touch's own quiet period (0: fire on the next turn of
  // the loop); it replaces the key's deadline, earlier or later.
  void touch(const std::string& key, clock::duration quiet);
  // Drops every pending key without firing.
  void cancel();
  std::size_t pending() const;

  struct state;  // opaque; shared with the waiting coroutines

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vnumad::reactor
