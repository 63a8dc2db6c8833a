#include "reactor/config_watcher.hpp"

#include "reactor/debounce.hpp"
#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace vnumad::reactor {
namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {

constexpr std::uint32_t file_events = IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_MOVED_FROM;
constexpr std::uint32_t dir_events = IN_DELETE_SELF | IN_MOVE_SELF;

std::optional<std::size_t> content_hash(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  if (in.bad()) return std::nullopt;
  return std::hash<std::string>{}(out.str());
}

}  // namespace

std::string_view to_string(config_event_kind kind) {
  return kind == config_event_kind::changed ? "changed" : "removed";
}

bool is_config_file_name(std::string_view name) {
  constexpr std::string_view ext = ".xml";
  if (name.size() <= ext.size() || name.substr(name.size() - ext.size()) != ext) return false;
  return name.front() != '.' && name.front() != '#';
}

struct config_watcher::state {
  state(const asio::any_io_executor& executor, fs::path d, callback cb, config_watcher_options o)
      : ex(executor), dir(std::move(d)), on_event(std::move(cb)), options(o), stream(executor),
        pending(executor, o.quiet, [this](const std::string& name) { settle(name); }), poll_timer(executor) {}

  asio::any_io_executor ex;
  fs::path dir;
  callback on_event;
  config_watcher_options options;
  asio::posix::stream_descriptor stream;
  int wd = -1;
  debouncer pending;
  asio::steady_timer poll_timer;
  bool polling = false;
  bool started = false;
  bool stopped = false;
  // What the owner was last told about each name: content hash of the file.
  std::map<std::string, std::size_t> delivered;

  result<std::vector<std::string>> list_names() const {
    std::vector<std::string> names;
    std::error_code ec;
    fs::directory_iterator it(dir, ec);
    for (fs::directory_iterator end; !ec && it != end; it.increment(ec)) {
      std::string name = it->path().filename().string();
      std::error_code type_ec;
      if (is_config_file_name(name) && it->is_regular_file(type_ec)) names.push_back(name);
    }
    if (ec) return make_error(errc::io_error, "cannot read config dir " + dir.string() + ": " + ec.message());
    std::sort(names.begin(), names.end());
    return names;
  }

  // Marks every name listed and every name delivered; a failed listing still
  // marks the delivered ones (each is then looked at on its own).
  void touch_all() {
    if (auto names = list_names())
      for (const auto& name : *names) pending.touch(name);
    for (const auto& [name, hash] : delivered) pending.touch(name);
  }

  enum class presence { present, gone, unknown };

  // Gone only when the file is seen missing (or no longer a regular file) in
  // a directory that is there; any other failure to look is unknown.
  presence look(const fs::path& p, std::string& why) const {
    struct stat st {};
    if (::stat(p.c_str(), &st) == 0) return S_ISREG(st.st_mode) ? presence::present : presence::gone;
    const int err = errno;
    why = std::strerror(err);
    if (err != ENOENT) return presence::unknown;
    struct stat dst {};
    if (::stat(dir.c_str(), &dst) != 0 || !S_ISDIR(dst.st_mode)) {
      why = "the config dir is not there";
      return presence::unknown;
    }
    return presence::gone;
  }

  // The quiet period for `name` is over: compare the file with what was
  // delivered, and report the difference (if any).
  void settle(const std::string& name) {
    if (stopped) return;
    fs::path p = dir / name;
    auto known = delivered.find(name);
    std::string why;
    const presence seen = look(p, why);
    if (seen == presence::unknown) {
      if (known != delivered.end())
        log(log_level::warning, "cannot look at " + p.string() + " (" + why + "): its guest is left as it is");
      return;
    }
    if (seen == presence::gone) {
      if (known == delivered.end()) return;  // created and gone within the quiet period
      delivered.erase(known);
      deliver({config_event_kind::removed, p});
      return;
    }
    auto hash = content_hash(p);
    if (hash && known != delivered.end() && known->second == *hash) return;
    // An unreadable file is still reported: the owner's parse names the error
    // (and keeps the guest an earlier version defined).
    if (hash)
      delivered[name] = *hash;
    else
      delivered.erase(name);
    deliver({config_event_kind::changed, p});
  }

  void deliver(const config_event& e) {
    if (on_event) on_event(e);
  }

  bool arm() {
    wd = ::inotify_add_watch(stream.native_handle(), dir.c_str(), file_events | dir_events | IN_ONLYDIR);
    return wd >= 0;
  }

  // The directory vanished (deleted or renamed away). That is no removal of
  // its files: they are looked at again when it returns (poll_for_dir), and
  // only those missing then are gone.
  void lost_dir() {
    if (wd >= 0) {
      // After IN_MOVE_SELF the watch follows the moved directory: drop it.
      ::inotify_rm_watch(stream.native_handle(), wd);
      wd = -1;
    }
    log(log_level::warning, "config dir " + dir.string() + " is gone; waiting for it to return");
    start_polling();
  }

  void start_polling() {
    if (polling || stopped) return;
    polling = true;
    spawn_logged(ex, "config watcher", [self = shared()]() { return self->poll_for_dir(); });
  }

  asio::awaitable<void> poll_for_dir() {
    auto self = shared();  // keeps the state alive across the waits
    while (!stopped) {
      if (arm()) {
        polling = false;
        log(log_level::info, "watching config dir " + dir.string());
        // Anything that appeared (or vanished) while unwatched.
        touch_all();
        co_return;
      }
      poll_timer.expires_after(options.dir_poll);
      auto [ec] = co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec) break;
    }
    polling = false;
  }

  void handle(const inotify_event& ev, std::string_view name) {
    if (ev.mask & IN_Q_OVERFLOW) {
      // Events were lost: re-examine everything known and present.
      touch_all();
      return;
    }
    if (ev.wd != wd || wd < 0) return;  // a stale watch's leftovers
    if (ev.mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_IGNORED)) {
      lost_dir();
      return;
    }
    if (!(ev.mask & file_events) || !is_config_file_name(name)) return;
    // A file renamed in (how tools and editors save) is complete: read it at
    // once. Not while other names are pending, as in a rename within the dir
    // (a.xml -> b.xml): then both settle together, removal first.
    if ((ev.mask & IN_MOVED_TO) && pending.pending() == 0)
      pending.touch(std::string(name), std::chrono::milliseconds(0));
    else
      pending.touch(std::string(name));
  }

  asio::awaitable<void> read_events() {
    auto self = shared();
    // inotify events are 4-byte aligned records; a read returns whole ones.
    alignas(inotify_event) char buffer[64 * 1024];
    while (!stopped) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (ec || stopped) co_return;
      for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buffer + off);
        std::string_view name = ev->len ? std::string_view(ev->name, ::strnlen(ev->name, ev->len)) : std::string_view{};
        handle(*ev, name);
        off += sizeof(inotify_event) + ev->len;
      }
    }
  }

  std::shared_ptr<state> shared();
  std::weak_ptr<state> weak_self;
};

std::shared_ptr<config_watcher::state> config_watcher::state::shared() { return weak_self.lock(); }

config_watcher::config_watcher(const asio::any_io_executor& ex, fs::path dir, callback on_event,
                               config_watcher_options options)
    : state_(std::make_shared<state>(ex, std::move(dir), std::move(on_event), options)) {
  state_->weak_self = state_;
}

config_watcher::~config_watcher() { stop(); }

result<void> config_watcher::start() {
  if (state_->started) return {};
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0)
    return make_error(errc::io_error, std::string("inotify_init1 for config dir ") + state_->dir.string() + ": " +
                                          std::strerror(errno));
  state_->stream.assign(fd);
  state_->started = true;
  if (!state_->arm()) {
    int err = errno;
    if (err != ENOENT && err != ENOTDIR)
      return make_error(errc::io_error, "cannot watch config dir " + state_->dir.string() + ": " + std::strerror(err));
    log(log_level::warning, "config dir " + state_->dir.string() + " does not exist; waiting for it");
    state_->start_polling();
  }
  spawn_logged(state_->ex, "config watcher", [self = state_]() { return self->read_events(); });
  return {};
}

result<std::vector<fs::path>> config_watcher::scan() {
  auto names = state_->list_names();
  if (!names) return names.error();
  std::vector<fs::path> files;
  std::map<std::string, std::size_t> baseline;
  for (const auto& name : *names) {
    fs::path p = state_->dir / name;
    if (auto hash = content_hash(p)) baseline[name] = *hash;
    files.push_back(std::move(p));
  }
  state_->delivered = std::move(baseline);
  return files;
}

void config_watcher::stop() {
  if (state_->stopped) return;
  state_->stopped = true;
  state_->pending.cancel();
  state_->poll_timer.cancel();
  boost::system::error_code ignored;
  state_->stream.close(ignored);
}

const fs::path& config_watcher::dir() const { return state_->dir; }
bool config_watcher::watching() const { return state_->wd >= 0; }

}  // namespace vnumad::reactor
