#include "reactor/daemon.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "qemu/process.hpp"
#include "reactor/live_edit.hpp"
#include "reactor/logging.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <systemd/sd-daemon.h>

#include <csignal>
#include <grp.h>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
namespace fs = std::filesystem;
using asio::awaitable;

daemon::daemon(asio::io_context& io, daemon_options options)
    : io_(io), options_(std::move(options)), store_(options_.cfg.state_dir), watchdog_(io) {}

daemon::~daemon() { stop(); }

void daemon::publish(json::object event) {
  if (control_) control_->publish(event);
}

void daemon::notify_systemd(const std::string& state) const {
  // A no-op outside systemd (no NOTIFY_SOCKET).
  sd_notify(0, state.c_str());
}

void daemon::start_watchdog() {
  std::uint64_t usec = 0;
  if (sd_watchdog_enabled(0, &usec) <= 0 || usec == 0) return;
  watchdog_.expires_after(std::chrono::microseconds(usec / 2));
  watchdog_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopped_) return;
    notify_systemd("WATCHDOG=1");
    start_watchdog();
  });
}

awaitable<result<void>> daemon::start() {
  const auto& cfg = options_.cfg;
  auto host = options_.topology_file ? vnuma::load_topology_xml(*options_.topology_file) : vnuma::load_live_topology();
  if (!host) co_return host.error();
  host_ = std::move(*host);
  auto reserved_setting = vnuma::parse_reserved_cpus(cfg.reserved_cpus);
  if (!reserved_setting) co_return reserved_setting.error();
  auto reserved = vnuma::resolve_reserved_cpus(host_, *reserved_setting);
  if (!reserved) co_return reserved.error();
  // Capacity is the nodes' memory minus this reserve minus what guests hold
  // (vnuma/ledger.hpp): the same after a restart, when the re-attached guests
  // are held again, as on a fresh start.
  auto reserved_memory = vnuma::resolve_reserved_memory(host_, cfg.reserved_memory);
  if (!reserved_memory) co_return reserved_memory.error();
  ledger_ = std::make_unique<vnuma::ledger>(host_, *reserved_memory);

  auto cgroups = cgroup::cgroup_fs::open(cfg.cgroup_root);
  if (!cgroups) co_return cgroups.error();
  log(log_level::info, "host: " + std::to_string(host_.nodes.size()) + " NUMA node(s), " +
                           std::to_string(host_.all_cpus().size()) + " CPUs; cgroups: " +
                           std::string(cgroup::to_string(cgroups->kind())) +
                           (cgroups->root().empty() ? "" : " at " + cgroups->root().string()) +
                           "; reserved memory per node: " + config::format_reserved_memory(cfg.reserved_memory));
  context_ = std::make_unique<guest_context>(guest_context{.io = io_,
                                                           .cfg = options_.cfg,
                                                           .host = host_,
                                                           .reserved_cpus = *reserved,
                                                           .ledger = *ledger_,
                                                           .store = store_,
                                                           .cgroups = *cgroups,
                                                           .log_dir = options_.log_dir,
                                                           .publish = [this](json::object e) { publish(std::move(e)); },
                                                           .dedicated_changed = [this](const std::string& changed) {
                                                             for (auto& [name, g] : guests_)
                                                               if (name != changed) g->keep_clear_of_dedicated();
                                                           }});

  // The control socket first, so operators can look while guests come up.
  control_socket_options socket_options;
  socket_options.path = cfg.socket;
  socket_options.readonly_path = cfg.readonly_socket;
  socket_options.readonly_ops = {"list", "dominfo", "domxml", "vcpuinfo", "numastat", "capabilities", "events"};
  if (cfg.socket_group) {
    group* g = ::getgrnam(cfg.socket_group->c_str());
    if (!g) co_return make_error(errc::invalid_value, "vnumad.conf: socket_group '" + *cfg.socket_group +
                                                          "' is not a group on this host");
    socket_options.rw_group = g->gr_gid;
  }
  control_ = std::make_unique<control_server>(
      io_, socket_options, [this](const control_request& r, access_level a) { return handle(r, a); });
  if (auto opened = control_->open(); !opened) co_return opened.error();
  control_->start();

  signals_ = std::make_unique<signal_handlers>(
      io_,
      [this] {
        log(log_level::info, "stopping on signal; guests keep running");
        stop();
      },
      [this] {
        log(log_level::info, "SIGHUP: rescanning " + options_.cfg.config_dir.string());
        asio::co_spawn(io_, [this]() -> awaitable<void> { co_await rescan(); }, asio::detached);
      });

  co_await reattach_all();

  watcher_ = std::make_unique<config_watcher>(io_, cfg.config_dir, [this](const config_event& e) {
    fs::path path = e.path;
    if (e.kind == config_event_kind::removed)
      asio::co_spawn(io_, [this, path]() -> awaitable<void> { co_await on_file_removed(path); }, asio::detached);
    else
      asio::co_spawn(io_, [this, path]() -> awaitable<void> { co_await on_file_changed(path); }, asio::detached);
  });
  if (auto watching = watcher_->start(); !watching) co_return watching.error();
  for (const auto& file : watcher_->scan()) co_await on_file_changed(file);

  notify_systemd("READY=1\nSTATUS=" + std::to_string(guests_.size()) + " guest(s)");
  start_watchdog();
  log(log_level::info, "ready: " + std::to_string(guests_.size()) + " guest(s), control socket " + cfg.socket.string());
  co_return result<void>{};
}

void daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  notify_systemd("STOPPING=1");
  watchdog_.cancel();
  if (watcher_) watcher_->stop();
  if (control_) control_->stop();
  if (signals_) signals_->stop();
  for (auto& [name, g] : guests_) g->detach();
}

awaitable<void> daemon::reattach_all() {
  for (const auto& name : store_.list()) {
    auto record = store_.load(name);
    if (!record) {
      // A daemon killed between spawning QEMU and saving the record leaves a
      // paused QEMU and no record. Its QMP socket path is ours alone.
      for (pid_t pid : qemu::find_qemu_processes("path=" + store_.qmp_socket(name).string() + ",")) {
        log(log_level::warning, "guest '" + name + "': killing QEMU pid " + std::to_string(pid) +
                                    ", left half-started without a record");
        if (auto orphan = qemu::process::attach(io_.get_executor(), pid); orphan && orphan->send_signal(SIGKILL))
          co_await orphan->wait_exit();
      }
      log(log_level::warning, "state dir " + store_.guest_dir(name).string() + " unreadable (" +
                                  record.error().message + "): removing it");
      (void)store_.remove(name);
      continue;
    }
    // The definition as it is now in the config dir, else the one QEMU runs.
    auto definition = config::parse_domain_file(record->config_file);
    if (!definition || definition->name != name)
      definition = config::parse_domain_string(record->expanded_xml, store_.guest_dir(name).string() + "/domain.xml");
    if (!definition) {
      log(log_level::error, "state of '" + name + "': " + definition.error().message);
      continue;
    }
    auto g = std::make_shared<guest>(*context_, *definition, record->config_file);
    if (auto attached = co_await g->attach(std::move(*record)); attached) {
      guests_[name] = g;
      file_owner_[g->config_file()] = name;
    }
    // Not attached: stale state was cleaned; the config scan starts it again.
  }
}

guest* daemon::find_guest(std::string_view name) {
  auto it = guests_.find(name);
  return it == guests_.end() ? nullptr : it->second.get();
}

awaitable<void> daemon::on_file_changed(fs::path file, bool start_if_inactive) {
  if (stopped_) co_return;
  auto parsed = config::parse_domain_file(file);
  if (parsed) {
    if (auto valid = config::validate_domain(*parsed); !valid) parsed = valid.error();
  }
  if (!parsed) {
    // The guest defined by an earlier version of this file keeps running.
    log_failure({}, "", parsed.error());
    publish(json::object{{"event", "config_error"}, {"file", file.string()}, {"message", parsed.error().message}});
    co_return;
  }
  const std::string name = parsed->name;
  // A file that used to define another guest: that guest is gone from the dir.
  if (auto owner = file_owner_.find(file); owner != file_owner_.end() && owner->second != name) {
    co_await on_file_removed(file);
  }
  if (auto existing = guests_.find(name); existing != guests_.end()) {
    auto& g = existing->second;
    if (g->config_file() != file) {
      log(log_level::error, file.string() + ": guest '" + name + "' is already defined by " +
                                g->config_file().string() + "; this file is ignored");
      publish(json::object{{"event", "config_error"}, {"file", file.string()},
                           {"message", "duplicate guest name '" + name + "'"}});
      co_return;
    }
    auto edit = co_await apply_definition(*g, std::move(*parsed));
    for (const auto& line : edit.applied) log_guest(log_level::info, name, "applied live: " + line);
    for (const auto& line : edit.failed) log_guest(log_level::error, name, "could not apply live: " + line);
    if (!edit.pending.empty()) {
      std::string list;
      for (const auto& c : edit.pending) list += (list.empty() ? "<" : ", <") + c + ">";
      log_guest(log_level::info, name, "definition changed (" + list + "): pending until the next restart");
    }
    if (start_if_inactive && !g->is_active() && !g->busy()) co_await g->start();
    co_return;
  }
  auto g = std::make_shared<guest>(*context_, std::move(*parsed), file);
  guests_[name] = g;
  file_owner_[file] = name;
  co_await g->start();
}

awaitable<void> daemon::on_file_removed(fs::path file) {
  auto owner = file_owner_.find(file);
  if (owner == file_owner_.end()) co_return;
  std::string name = owner->second;
  file_owner_.erase(owner);
  auto it = guests_.find(name);
  if (it == guests_.end()) co_return;
  auto g = it->second;
  guests_.erase(it);
  log_guest(log_level::info, name, "config file removed: shutting down");
  if (auto stopped = co_await g->shutdown(options_.cfg.shutdown_timeout); !stopped)
    log_failure(name, "", stopped.error());
  publish(json::object{{"event", "undefined"}, {"guest", name}});
}

awaitable<void> daemon::rescan() {
  if (!watcher_) co_return;
  std::set<fs::path> present;
  for (const auto& file : watcher_->scan()) present.insert(file);
  std::vector<fs::path> gone;
  for (const auto& [file, name] : file_owner_)
    if (!present.contains(file)) gone.push_back(file);
  for (const auto& file : gone) co_await on_file_removed(file);
  // Known guests take their new definition but are not started again (one the
  // on_crash policy destroyed stays down until its file changes or `start`).
  for (const auto& file : present) co_await on_file_changed(file, !file_owner_.contains(file));
}

}  // namespace vnumad::reactor
