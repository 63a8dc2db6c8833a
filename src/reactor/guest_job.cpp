#include "reactor/guest_job.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace vnumad::reactor {

namespace asio = boost::asio;

struct guest_job::waiter {
  explicit waiter(asio::any_io_executor ex, std::string op) : wake(std::move(ex)), operation(std::move(op)) {}
  asio::steady_timer wake;
  std::string operation;
  bool granted = false;
};

guest_job::lease& guest_job::lease::operator=(lease&& other) noexcept {
  if (this != &other) {
    release();
    job_ = std::exchange(other.job_, nullptr);
  }
  return *this;
}

void guest_job::lease::release() {
  if (auto* job = std::exchange(job_, nullptr)) job->end();
}

guest_job::guest_job(asio::any_io_executor executor, std::string guest)
    : executor_(std::move(executor)), guest_(std::move(guest)) {}

guest_job::~guest_job() {
  for (auto& w : waiters_) w->wake.cancel();
}

error guest_job::busy_error(const std::string& operation) const {
  return make_error(errc::busy, "guest '" + guest_ + "' is busy: " + current_.value_or("another operation") +
                                    " in progress (" + operation + " not started)");
}

result<guest_job::lease> guest_job::try_begin(std::string operation) {
  if (current_ || !waiters_.empty()) return busy_error(operation);
  current_ = std::move(operation);
  return lease(this);
}

asio::awaitable<result<guest_job::lease>> guest_job::begin(std::string_view name, std::chrono::milliseconds wait) {
  std::string operation(name);
  if (!current_ && waiters_.empty()) {
    current_ = std::move(operation);
    co_return lease(this);
  }
  auto me = std::make_shared<waiter>(executor_, operation);
  waiters_.push_back(me);
  if (wait == no_limit)
    me->wake.expires_at(asio::steady_timer::time_point::max());
  else
    me->wake.expires_after(wait);
  // Whatever ends this wait (grant, deadline, the coroutine destroyed while
  // suspended), the queue must not keep this waiter, and a job granted to a
  // coroutine that never resumed to take it is handed on.
  struct leave_queue {
    guest_job* job;
    std::shared_ptr<waiter> me;
    bool taken = false;
    ~leave_queue() {
      auto it = std::find(job->waiters_.begin(), job->waiters_.end(), me);
      if (it != job->waiters_.end()) job->waiters_.erase(it);
      if (me->granted && !taken) job->end();
    }
  } guard{this, me};
  co_await me->wake.async_wait(asio::as_tuple(asio::use_awaitable));
  if (!me->granted) co_return busy_error(operation);
  guard.taken = true;
  co_return lease(this);
}

void guest_job::end() {
  current_.reset();
  if (waiters_.empty()) return;
  auto next = waiters_.front();
  waiters_.pop_front();
  next->granted = true;
  current_ = next->operation;
  next->wake.cancel();
}

}  // namespace vnumad::reactor
