// Waits for QEMU's DEVICE_DELETED, keyed by device id (libvirt's
// qemuDomainWaitForDeviceRemoval). An operation says which ids it expects
// before it sends device_del; only an event for an expected id counts, and
// the wait forgets its ids when it ends, so a stale event (an unplug that
// finished after its wait gave up) never satisfies a later wait for the
// same, reused id. The events themselves are applied by the guest's one
// removal path (guest::on_device_deleted) whether or not anyone waits.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <map>
#include <set>
#include <string>

namespace vnumad::reactor {

class removal_waits {
 public:
  explicit removal_waits(boost::asio::any_io_executor executor) : signal_(std::move(executor)) {}

  // Before device_del of `id`: its removal is now awaited (not yet seen).
  void expect(const std::string& id) { expected_[id] = false; }
  // A DEVICE_DELETED for `id`. True when an operation awaits it.
  bool deleted(const std::string& id);
  // Until every id in `ids` is deleted or `timeout` passes; returns those
  // deleted. The ids are no longer expected afterwards.
  boost::asio::awaitable<std::set<std::string>> wait(std::set<std::string> ids, std::chrono::milliseconds timeout);
  // Forgets every id (the QEMU run ended): waits end with what they have.
  void clear();
  bool expecting(const std::string& id) const { return expected_.contains(id); }

 private:
  std::map<std::string, bool> expected_;  // id -> deleted yet
  boost::asio::steady_timer signal_;      // cancelled on every deletion: waits look again
};

}  // namespace vnumad::reactor
