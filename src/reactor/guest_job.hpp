// One operation at a time per guest (libvirt's qemuDomainObjBeginJob /
// EndJob). Every operation that changes a guest takes its job first: start,
// stop, destroy, suspend, resume, reboot, the live operations, a config edit,
// a lifecycle policy. Others queue behind it, in order, for a bounded time
// and are then refused with errc::busy naming the operation in progress. The
// job is a lease: it ends when the lease is destroyed, also when the
// coroutine holding it throws or is cancelled.
//
// Single-threaded (the daemon's one io_context): no locks, only waiters.
#pragma once

#include "util/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <deque>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace vnumad::reactor {

class guest_job {
 public:
  // How long an operation from the control socket waits for the one before it.
  static constexpr std::chrono::milliseconds socket_wait{30000};
  // Config edits and lifecycle policies wait as long as it takes: they must
  // not be lost, only ordered.
  static constexpr std::chrono::milliseconds no_limit = std::chrono::milliseconds::max();

  class lease {
   public:
    lease() = default;
    lease(lease&& other) noexcept : job_(std::exchange(other.job_, nullptr)) {}
    lease& operator=(lease&& other) noexcept;
    lease(const lease&) = delete;
    lease& operator=(const lease&) = delete;
    ~lease() { release(); }
    bool held() const { return job_ != nullptr; }
    void release();

   private:
    friend class guest_job;
    explicit lease(guest_job* job) : job_(job) {}
    guest_job* job_ = nullptr;
  };

  guest_job(boost::asio::any_io_executor executor, std::string guest);
  ~guest_job();
  guest_job(const guest_job&) = delete;
  guest_job& operator=(const guest_job&) = delete;

  // The job for `operation`, once every operation queued before it is done;
  // errc::busy ("guest 'web' is busy: setvcpus in progress") when that takes
  // longer than `wait`.
  // (A string_view, not a string: GCC 12 mishandles std::string temporaries
  // inside a co_await expression.)
  boost::asio::awaitable<result<lease>> begin(std::string_view operation, std::chrono::milliseconds wait = socket_wait);
  // Now or never: errc::busy when held or queued for.
  result<lease> try_begin(std::string operation);

  bool busy() const { return current_.has_value(); }
  // The operation holding the job ("" when free).
  std::string current() const { return current_.value_or(""); }
  std::size_t queued() const { return waiters_.size(); }

 private:
  struct waiter;
  void end();
  error busy_error(const std::string& operation) const;

  boost::asio::any_io_executor executor_;
  std::string guest_;
  std::optional<std::string> current_;
  std::deque<std::shared_ptr<waiter>> waiters_;
};

using job_lease = guest_job::lease;

}  // namespace vnumad::reactor
