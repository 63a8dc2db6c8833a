// Starts wait here for one of `limit` slots (start_concurrency in
// vnumad.conf): a boot with many guests in the config dir starts them
// concurrently, never more than the limit at once, in the order queued. The
// daemon is ready (READY=1) as soon as the starts are queued; they finish in
// the background. Pure scheduling: what a start does is the task's business.
#pragma once

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>

#include <cstddef>
#include <deque>
#include <functional>
#include <set>
#include <string>
#include <utility>

namespace vnumad::reactor {

class start_queue {
 public:
  // A start; it reports its own outcome.
  using task = std::function<boost::asio::awaitable<void>()>;

  // `changed` runs whenever the counts below change (for STATUS=).
  start_queue(boost::asio::io_context& io, unsigned limit, std::function<void()> changed);

  // Queues the start of `name`; a name already queued or starting is not
  // queued again. It begins as soon as a slot is free.
  void enqueue(const std::string& name, task start);
  // A start that is under way already (resumed after a daemon restart): it
  // runs now, beyond the limit if need be, and holds a slot until it ends, so
  // queued starts wait for it.
  void run_now(const std::string& name, task start);
  // Forgets a queued start (its config file was removed, the host shuts
  // down); one that has begun runs on.
  void cancel(const std::string& name);
  void cancel_all();

  std::size_t queued() const { return waiting_.size(); }
  std::size_t running() const { return running_.size(); }
  bool is_queued(const std::string& name) const;
  bool is_starting(const std::string& name) const { return running_.contains(name); }
  // Most starts that ever ran at once (for tests and logs).
  std::size_t peak() const { return peak_; }

 private:
  void pump();
  void launch(std::string name, task start);

  boost::asio::io_context& io_;
  unsigned limit_;
  std::function<void()> changed_;
  std::deque<std::pair<std::string, task>> waiting_;
  std::multiset<std::string> running_;
  std::size_t peak_ = 0;
};

}  // namespace vnumad::reactor
