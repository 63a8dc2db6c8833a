#include "reactor/start_queue.hpp"

#include "reactor/spawn_logged.hpp"

#include <boost/asio/post.hpp>

#include <algorithm>

namespace vnumad::reactor {

namespace asio = boost::asio;

start_queue::start_queue(asio::io_context& io, unsigned limit, std::function<void()> changed)
    : io_(io), limit_(std::max(limit, 1u)), changed_(std::move(changed)) {}

bool start_queue::is_queued(const std::string& name) const {
  return std::any_of(waiting_.begin(), waiting_.end(), [&](const auto& w) { return w.first == name; });
}

void start_queue::enqueue(const std::string& name, task start) {
  if (is_queued(name) || running_.contains(name)) return;
  waiting_.emplace_back(name, std::move(start));
  if (changed_) changed_();
  pump();
}

void start_queue::run_now(const std::string& name, task start) {
  launch(name, std::move(start));
  if (changed_) changed_();
}

void start_queue::cancel(const std::string& name) {
  auto before = waiting_.size();
  std::erase_if(waiting_, [&](const auto& w) { return w.first == name; });
  if (waiting_.size() != before && changed_) changed_();
}

void start_queue::cancel_all() {
  if (waiting_.empty()) return;
  waiting_.clear();
  if (changed_) changed_();
}

void start_queue::pump() {
  bool launched = false;
  while (running_.size() < limit_ && !waiting_.empty()) {
    auto [name, start] = std::move(waiting_.front());
    waiting_.pop_front();
    launch(std::move(name), std::move(start));
    launched = true;
  }
  if (launched && changed_) changed_();
}

void start_queue::launch(std::string name, task start) {
  running_.insert(name);
  peak_ = std::max(peak_, running_.size());
  // Posted, never run inline: co_spawn (Boost 1.74) runs a coroutine up to
  // its first suspension at once, and a start's first stretch (plan,
  // cgroups, fork and exec) would then run inside the config-dir scan and
  // hold READY=1 back by a fraction of a second per guest.
  asio::post(io_, [this, name = std::move(name), start = std::move(start)]() mutable {
    std::string what = "start of guest '" + name + "'";
    spawn_logged(io_, std::move(what),
                 [this, name = std::move(name), start = std::move(start)]() -> asio::awaitable<void> {
                   co_await start();
                   running_.erase(running_.find(name));
                   if (changed_) changed_();
                   pump();
                 });
  });
}

}  // namespace vnumad::reactor
