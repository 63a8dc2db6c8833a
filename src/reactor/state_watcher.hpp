// Notices the daemon's own files vanishing while it runs: the state dir, the
// guests' folders in it, and the folders that hold the control sockets. On a
// deletion or rename out of any watched directory it waits a moment (an
// `rm -rf` is a burst of events) and calls the owner, which looks at what is
// missing, recreates it and gives the watcher the directories to watch next
// (a recreated directory is a new inode: its old watch is gone). A slow poll
// backs inotify up for what it cannot see (a parent replaced, say).
#pragma once

#include "util/error.hpp"

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <vector>

namespace vnumad::reactor {

struct state_watcher_options {
  std::chrono::milliseconds quiet{100};   // after the last event, before the check
  std::chrono::milliseconds poll{5000};   // the check runs at least this often
};

class state_watcher {
 public:
  using check_callback = std::function<void()>;
  state_watcher(boost::asio::io_context& io, check_callback check, state_watcher_options options = {});
  ~state_watcher();
  state_watcher(const state_watcher&) = delete;
  state_watcher& operator=(const state_watcher&) = delete;

  result<void> start();
  // Watches exactly these directories from now on (those that exist).
  void watch(const std::vector<std::filesystem::path>& dirs);
  // No callback runs after this.
  void stop();

  struct state;

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vnumad::reactor
