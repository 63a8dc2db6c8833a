#include "reactor/state_watcher.hpp"

#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/buffer.hpp>

#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <sys/inotify.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace fs = std::filesystem;

namespace {
constexpr std::uint32_t vanish_events = IN_DELETE | IN_MOVED_FROM | IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;
}

struct state_watcher::state : std::enable_shared_from_this<state> {
  state(asio::io_context& io, check_callback cb, state_watcher_options o)
      : check(std::move(cb)), options(o), stream(io), quiet_timer(io), poll_timer(io) {}

  check_callback check;
  state_watcher_options options;
  asio::posix::stream_descriptor stream;
  asio::steady_timer quiet_timer;
  asio::steady_timer poll_timer;
  std::vector<int> watches;
  bool stopped = false;
  bool check_due = false;

  void run_check() {
    check_due = false;
    if (!stopped && check) check();
  }

  void schedule_check() {
    if (check_due || stopped) return;
    check_due = true;
    quiet_timer.expires_after(options.quiet);
    quiet_timer.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
      if (!ec) self->run_check();
    });
  }

  asio::awaitable<void> read_events() {
    auto self = shared_from_this();
    alignas(inotify_event) char buffer[16 * 1024];
    while (!stopped) {
      auto [ec, n] = co_await stream.async_read_some(asio::buffer(buffer), asio::as_tuple(asio::use_awaitable));
      if (ec || stopped) co_return;
      bool relevant = false;
      for (std::size_t off = 0; off + sizeof(inotify_event) <= n;) {
        const auto* ev = reinterpret_cast<const inotify_event*>(buffer + off);
        if (ev->mask & (vanish_events | IN_Q_OVERFLOW)) relevant = true;
        off += sizeof(inotify_event) + ev->len;
      }
      if (relevant) schedule_check();
    }
  }

  asio::awaitable<void> poll() {
    auto self = shared_from_this();
    while (!stopped) {
      poll_timer.expires_after(options.poll);
      auto [ec] = co_await poll_timer.async_wait(asio::as_tuple(asio::use_awaitable));
      if (ec || stopped) co_return;
      run_check();
    }
  }
};

state_watcher::state_watcher(asio::io_context& io, check_callback check, state_watcher_options options)
    : state_(std::make_shared<state>(io, std::move(check), options)) {}

state_watcher::~state_watcher() { stop(); }

result<void> state_watcher::start() {
  int fd = ::inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
  if (fd < 0) return make_error(errc::io_error, std::string("inotify_init1 for the state dir failed: ") + std::strerror(errno));
  state_->stream.assign(fd);
  spawn_logged(state_->stream.get_executor(), "state dir watcher", state_->read_events());
  spawn_logged(state_->stream.get_executor(), "state dir poll", state_->poll());
  return {};
}

void state_watcher::watch(const std::vector<fs::path>& dirs) {
  if (state_->stopped || !state_->stream.is_open()) return;
  const int fd = state_->stream.native_handle();
  for (int wd : state_->watches) ::inotify_rm_watch(fd, wd);
  state_->watches.clear();
  for (const auto& dir : dirs) {
    int wd = ::inotify_add_watch(fd, dir.c_str(), vanish_events);
    if (wd >= 0) state_->watches.push_back(wd);
  }
}

void state_watcher::stop() {
  if (!state_ || state_->stopped) return;
  state_->stopped = true;
  state_->check = nullptr;
  state_->quiet_timer.cancel();
  state_->poll_timer.cancel();
  boost::system::error_code ignored;
  state_->stream.close(ignored);
}

}  // namespace vnumad::reactor
