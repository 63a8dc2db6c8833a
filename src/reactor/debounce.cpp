#include "reactor/debounce.hpp"

#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <exception>
#include <map>

namespace vnumad::reactor {
namespace asio = boost::asio;

struct debouncer::state {
  struct entry {
    std::shared_ptr<asio::steady_timer> timer;
    clock::time_point deadline;
  };
  asio::any_io_executor ex;
  clock::duration quiet;
  std::function<void(const std::string&)> fire;
  std::map<std::string, entry> entries;
  bool stopped = false;
};

namespace {

// One coroutine per pending key. It owns the state by shared_ptr, and checks
// after every wait that its entry is still the live one (cancel() or a
// fire-then-touch may have replaced it).
asio::awaitable<void> wait_quiet(std::shared_ptr<debouncer::state> st, std::string key,
                                 std::shared_ptr<asio::steady_timer> timer) {
  for (;;) {
    auto it = st->entries.find(key);
    if (st->stopped || it == st->entries.end() || it->second.timer != timer) co_return;
    timer->expires_at(it->second.deadline);
    auto [ec] = co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    it = st->entries.find(key);
    if (st->stopped || it == st->entries.end() || it->second.timer != timer) co_return;
    if (ec) continue;  // woken early by a touch that brought the deadline forward
    if (debouncer::clock::now() >= it->second.deadline) {
      st->entries.erase(it);
      if (st->fire) st->fire(key);
      co_return;
    }
  }
}

}  // namespace

debouncer::debouncer(asio::any_io_executor ex, clock::duration quiet, std::function<void(const std::string&)> fire)
    : state_(std::make_shared<state>(state{std::move(ex), quiet, std::move(fire), {}, false})) {}

debouncer::~debouncer() {
  cancel();
  state_->stopped = true;
}

void debouncer::touch(const std::string& key) { touch(key, state_->quiet); }

void debouncer::touch(const std::string& key, clock::duration quiet) {
  if (state_->stopped) return;
  auto deadline = clock::now() + quiet;
  if (auto it = state_->entries.find(key); it != state_->entries.end()) {
    const bool sooner = deadline < it->second.deadline;
    it->second.deadline = deadline;
    // The waiting coroutine sleeps until the old deadline: wake it to re-arm.
    if (sooner) it->second.timer->cancel();
    return;
  }
  auto timer = std::make_shared<asio::steady_timer>(state_->ex);
  state_->entries.emplace(key, state::entry{timer, deadline});
  asio::co_spawn(state_->ex, [st = state_, key, timer]() { return wait_quiet(st, key, timer); },
                 [key](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     log(log_level::error, "debounced handler for '" + key + "' failed: " + ex.what());
                   }
                 });
}

void debouncer::cancel() {
  auto entries = std::move(state_->entries);
  state_->entries.clear();
  for (auto& [key, e] : entries) e.timer->cancel();
}

std::size_t debouncer::pending() const { return state_->entries.size(); }

}  // namespace vnumad::reactor
