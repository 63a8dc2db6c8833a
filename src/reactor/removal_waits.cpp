#include "reactor/removal_waits.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vnumad::reactor {

namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;

bool removal_waits::deleted(const std::string& id) {
  auto it = expected_.find(id);
  if (it == expected_.end()) return false;
  it->second = true;
  signal_.cancel();
  return true;
}

void removal_waits::clear() {
  expected_.clear();
  signal_.cancel();
}

asio::awaitable<std::set<std::string>> removal_waits::wait(std::set<std::string> ids, std::chrono::milliseconds timeout) {
  auto seen = [&] {
    std::set<std::string> out;
    for (const auto& id : ids)
      if (auto it = expected_.find(id); it != expected_.end() && it->second) out.insert(id);
    return out;
  };
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  asio::steady_timer until(signal_.get_executor(), deadline);
  bool cleared = false;
  while (!cleared && seen().size() < ids.size() && std::chrono::steady_clock::now() < deadline) {
    signal_.expires_at(asio::steady_timer::time_point::max());
    auto woke = co_await (signal_.async_wait(asio::as_tuple(asio::use_awaitable)) ||
                          until.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (woke.index() == 1) break;
    // clear() forgot every id: nothing more will come for this wait.
    for (const auto& id : ids) cleared = cleared || !expected_.contains(id);
  }
  std::set<std::string> done = seen();
  for (const auto& id : ids) expected_.erase(id);
  co_return done;
}

}  // namespace vnumad::reactor
