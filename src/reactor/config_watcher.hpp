// Watches the config directory with inotify and reports finished *.xml files.
// inotify reports operations, not states: a save is a burst of events (temp
// file, write, rename, close) and a copy may close a half-written file more
// than once. So events only mark a name as dirty; after a quiet period the
// file itself is looked at, and only a real change of its bytes is reported.
// A removal is reported only for a file seen gone (ENOENT) from a directory
// that is there: while the directory is missing or a look fails, nothing is.
#pragma once

#include "util/error.hpp"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string_view>
#include <vector>

namespace vnumad::reactor {

enum class config_event_kind { changed, removed };
std::string_view to_string(config_event_kind kind);

struct config_event {
  config_event_kind kind;
  std::filesystem::path path;
};

// Which names are guest definitions: "*.xml", except dotfiles (".web.xml.swp",
// ".#web.xml") and "#web.xml#"; editor temp names ("web.xml~", "4913",
// "web.xml.tmp") do not end in .xml anyway.
bool is_config_file_name(std::string_view name);

struct config_watcher_options {
  std::chrono::milliseconds quiet{200};     // per file, after its last event
  std::chrono::milliseconds dir_poll{1000}; // while the directory is missing
};

class config_watcher {
 public:
  using callback = std::function<void(const config_event&)>;
  config_watcher(const boost::asio::any_io_executor& ex, std::filesystem::path dir, callback on_event,
                 config_watcher_options options = {});
  config_watcher(boost::asio::io_context& io, std::filesystem::path dir, callback on_event,
                 config_watcher_options options = {})
      : config_watcher(io.get_executor(), std::move(dir), std::move(on_event), options) {}
  ~config_watcher();
  config_watcher(const config_watcher&) = delete;
  config_watcher& operator=(const config_watcher&) = delete;

  // Arms inotify. A missing directory is not an error: it is polled for.
  // Fails only when inotify itself cannot be set up.
  result<void> start();
  // The current *.xml files, sorted. What it returns becomes the baseline:
  // the caller handles these files, so an event that leaves one of them with
  // the same bytes is not reported again. A directory that is missing or
  // cannot be read in full (EMFILE, EIO, EACCES) is an error, never an empty
  // list: a failed read is not a removal.
  result<std::vector<std::filesystem::path>> scan();
  // No callback runs after this.
  void stop();

  const std::filesystem::path& dir() const;
  bool watching() const;  // false while the directory is missing

  struct state;  // opaque; shared with the reading coroutine

 private:
  std::shared_ptr<state> state_;
};

}  // namespace vnumad::reactor
