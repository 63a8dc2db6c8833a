#include "reactor/daemon.hpp"

#include "cgroup/machine_scope.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "qemu/process.hpp"
#include "reactor/events.hpp"
#include "reactor/live_edit.hpp"
#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"
#include "reactor/trusted_definition.hpp"
#include "reactor/verbs.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/asio/post.hpp>
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
  // Every event leaves through here: stamped once, in the order it happened.
  event["time"] = rfc3339_micro(std::chrono::system_clock::now());
  const json::value* kind = event.if_contains("event");
  const bool state_change = kind && kind->is_string() && kind->get_string() == "state";
  counters_.observe(event);
  if (control_) control_->publish(event);
  if (state_change) update_status();
}

std::string daemon::status_line() const {
  // Each guest counts once: up (running, paused, in shutdown), starting (its
  // pipeline runs, or the queue has launched it), queued, or failed (its last
  // start from the queue failed, or it crashed); shut off by choice is none.
  std::size_t running = 0, starting = 0, queued = 0, failed = 0;
  for (const auto& [name, g] : guests_) {
    const guest_state st = g->state();
    if (st == guest_state::running || st == guest_state::paused || st == guest_state::in_shutdown)
      ++running;
    else if (st == guest_state::starting || (starts_ && starts_->is_starting(name)))
      ++starting;
    else if (starts_ && starts_->is_queued(name))
      ++queued;
    else if (st == guest_state::crashed || start_failed_.contains(name))
      ++failed;
  }
  return std::to_string(running) + " running, " + std::to_string(starting) + " starting, " + std::to_string(queued) +
         " queued, " + std::to_string(failed) + " failed";
}

void daemon::update_status() {
  if (stopped_) return;
  std::string line = status_line();
  if (line == last_status_) return;
  last_status_ = line;
  notify_systemd("STATUS=" + line);
}

void daemon::queue_start(const std::shared_ptr<guest>& g) {
  if (host_shutting_down_ || !starts_) return;
  starts_->enqueue(g->name(), [this, weak = std::weak_ptr<guest>(g)]() -> awaitable<void> {
    auto g = weak.lock();
    // Gone from the config dir, started by an operator meanwhile, or the
    // daemon or host going down: nothing to do.
    if (!g || find_guest(g->name()) != g.get() || g->is_active() || g->busy() || host_shutting_down_ || stopped_)
      co_return;
    auto started = co_await g->start();
    if (started) {
      start_failed_.erase(g->name());
      publish(guest_event("started", g->name(), "defined in the config dir"));
    } else {
      start_failed_.insert(g->name());
    }
    update_status();
  });
}

void daemon::resume_start(const std::shared_ptr<guest>& g, guest_record record) {
  // Taken now: the config scan must not queue a second start meanwhile.
  auto job = g->try_begin_job("resume start");
  if (!job) {
    log_failure(g->name(), "", job.error());
    return;
  }
  auto held = std::make_shared<job_lease>(std::move(*job));
  starts_->run_now(g->name(), [this, g, held, record = std::move(record)]() -> awaitable<void> {
    auto resumed = co_await g->resume_start(std::move(*held), record);
    if (resumed) {
      start_failed_.erase(g->name());
      publish(guest_event("started", g->name(), "start finished after a daemon restart"));
    } else if (find_guest(g->name()) == g.get()) {
      // Its QEMU is gone, or could not be driven and was killed: the guest
      // starts afresh, once, as a new one would (a failure then is final).
      log_guest(log_level::info, g->name(), "starting it afresh");
      // Once this task's slot is free: the queue drops a name it is still
      // starting, and the afresh start was lost that way.
      asio::post(io_, [this, weak = std::weak_ptr<guest>(g)] {
        if (auto again = weak.lock()) queue_start(again);
      });
    }
    update_status();
  });
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
  // One owner (owner_lock.hpp), before anything of the state dir is read or
  // a socket replaced: a second daemon stops here, naming the first.
  if (auto owned = lock_state_dir(); !owned) co_return owned.error();
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
  // Under systemd the guests live in machine scopes (cgroup/machine_scope.hpp);
  // a configured cgroup_root keeps vnumad's own tree there.
  const bool machine_scopes = cfg.cgroup_root.empty() && cgroup::systemd_manages_cgroups();
  // Its own tree is locked so that two daemons never share it; machine scopes
  // are systemd's, one per guest name, and need no lock of ours (creating
  // <root>/vnumad there would write outside what systemd delegated).
  if (!machine_scopes)
    if (auto owned = lock_cgroup_dir(*cgroups); !owned) co_return owned.error();
  log(log_level::info, "host: " + std::to_string(host_.nodes.size()) + " NUMA node(s), " +
                           std::to_string(host_.all_cpus().size()) + " CPUs; cgroups: " +
                           (machine_scopes ? std::string("systemd machine scopes (machine.slice/machine-<guest>.scope)")
                                           : std::string(cgroup::to_string(cgroups->kind())) +
                                                 (cgroups->root().empty() ? "" : " at " + cgroups->root().string())) +
                           "; reserved memory per node: " + config::format_reserved_memory(cfg.reserved_memory));
  context_ = std::make_unique<guest_context>(guest_context{.io = io_,
                                                           .cfg = options_.cfg,
                                                           .host = host_,
                                                           .reserved_cpus = *reserved,
                                                           .ledger = *ledger_,
                                                           .store = store_,
                                                           .cgroups = *cgroups,
                                                           .machine_scopes = machine_scopes,
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
  for (const auto& v : verbs()) {
    if (v.access == access_level::read_only) socket_options.readonly_ops.emplace(v.name);
    if (v.opens_stream) socket_options.stream_ops.emplace(v.name);
  }
  socket_options.limits.max_clients = cfg.control_max_clients;
  socket_options.limits.max_clients_per_uid = cfg.control_max_clients_per_uid;
  socket_options.limits.idle_timeout = cfg.control_idle_timeout;
  if (cfg.socket_group) {
    group* g = ::getgrnam(cfg.socket_group->c_str());
    if (!g) co_return make_error(errc::invalid_value, "vnumad.conf: socket_group '" + *cfg.socket_group +
                                                          "' is not a group on this host");
    socket_options.rw_group = g->gr_gid;
  }
  control_ = std::make_unique<control_server>(
      io_, socket_options, [this](const control_request& r, const control_peer& p) { return handle_counted(r, p); });
  control_->set_stream_handler(
      [this](const control_request& r, const control_peer& p) { return open_stream_counted(r, p); });
  if (auto opened = control_->open(); !opened) co_return opened.error();
  control_->start();
  if (auto serving = start_metrics(); !serving) co_return serving.error();
  // Posted: a launched start sets its guest "starting" first, so the counts
  // never show it as neither queued nor starting.
  starts_ = std::make_unique<start_queue>(io_, cfg.start_concurrency,
                                          [this] { asio::post(io_, [this] { update_status(); }); });

  signals_ = std::make_unique<signal_handlers>(
      io_,
      [this] {
        log(log_level::info, "stopping on signal; guests keep running");
        stop();
      },
      [this] {
        log(log_level::info, "SIGHUP: rescanning " + options_.cfg.config_dir.string());
        spawn_logged(io_, "SIGHUP rescan", [this]() -> awaitable<void> { co_await rescan(); });
      });

  co_await reattach_all();
  report_unsupervised();
  state_watcher_ = std::make_unique<state_watcher>(io_, [this] { check_own_files(); });
  if (auto watching = state_watcher_->start(); !watching) co_return watching.error();
  check_own_files();  // arms its watches

  watcher_ = std::make_unique<config_watcher>(io_, cfg.config_dir, [this](const config_event& e) {
    fs::path path = e.path;
    if (e.kind == config_event_kind::removed)
      spawn_logged(io_, "removal of " + path.string(), [this, path]() -> awaitable<void> { co_await on_file_removed(path); });
    else
      spawn_logged(io_, "change of " + path.string(), [this, path]() -> awaitable<void> { co_await on_file_changed(path); });
  });
  if (auto watching = watcher_->start(); !watching) co_return watching.error();
  // Only queued here: READY=1 must not wait for guests to boot.
  if (auto files = watcher_->scan(); files)
    for (const auto& file : *files) co_await on_file_changed(file);
  else
    log(log_level::error, files.error().message + ": no guest defined from it yet");

  last_status_ = status_line();
  notify_systemd("READY=1\nSTATUS=" + last_status_);
  start_watchdog();
  log(log_level::info, "ready: " + std::to_string(guests_.size()) + " guest(s) (" + last_status_ +
                           ", at most " + std::to_string(cfg.start_concurrency) + " starting at once), control socket " +
                           cfg.socket.string());
  co_return result<void>{};
}

void daemon::stop() {
  if (stopped_) return;
  stopped_ = true;
  notify_systemd("STOPPING=1");
  watchdog_.cancel();
  if (watcher_) watcher_->stop();
  if (state_watcher_) state_watcher_->stop();
  if (control_) control_->stop();
  if (metrics_) metrics_->stop();
  if (signals_) signals_->stop();
  for (auto& [name, g] : guests_) g->detach();
}

awaitable<void> daemon::reattach_all() {
  for (const auto& name : store_.list()) {
    auto record = store_.load(name);
    if (!record) {
      co_await handle_recordless(name, record.error());
      continue;
    }
    // The definition as it is now in the config dir, else the one QEMU runs.
    auto definition = read_trusted_definition(record->config_file, options_.cfg);
    if (!definition || definition->name != name)
      definition = config::parse_domain_string(record->expanded_xml, store_.guest_dir(name).string() + "/domain.xml");
    if (!definition) {
      log(log_level::error, "state of '" + name + "': " + definition.error().message);
      continue;
    }
    auto g = std::make_shared<guest>(*context_, *definition, record->config_file);
    if (record->phase == start_phase::starting) {
      guests_[name] = g;
      file_owner_[g->config_file()] = name;
      resume_start(g, std::move(*record));
      continue;
    }
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
  auto parsed = read_trusted_definition(file, options_.cfg);
  if (!parsed) {
    // The guest defined by an earlier version of this file keeps running.
    log_failure({}, "", parsed.error());
    publish(json::object{{"event", "config_error"}, {"file", file.string()}, {"message", parsed.error().message}});
    co_return;
  }
  const std::string name = parsed->name;
  for (const auto& line : config::load_notes(*parsed)) log_guest(log_level::warning, name, line);
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
    if (!edit.applied.empty() || !edit.failed.empty() || !edit.pending.empty()) {
      auto strings = [](const std::vector<std::string>& lines) { return json::array(lines.begin(), lines.end()); };
      publish(guest_event("config_applied", name, "config file changed: " + file.filename().string(),
                          {{"applied", strings(edit.applied)}, {"failed", strings(edit.failed)},
                           {"pending", strings(edit.pending)}}));
    }
    if (!edit.pending.empty()) {
      std::string list;
      for (const auto& c : edit.pending) list += (list.empty() ? "<" : ", <") + c + ">";
      log_guest(log_level::info, name, "definition changed (" + list + "): pending until the next restart");
    }
    if (start_if_inactive && !g->is_active() && !g->busy()) queue_start(g);
    co_return;
  }
  auto g = std::make_shared<guest>(*context_, std::move(*parsed), file);
  guests_[name] = g;
  file_owner_[file] = name;
  queue_start(g);
  update_status();
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
  starts_->cancel(name);
  start_failed_.erase(name);
  log_guest(log_level::info, name, "config file removed: shutting down");
  if (auto stopped = co_await g->shutdown(options_.cfg.shutdown_timeout, guest_job::no_limit); !stopped)
    log_failure(name, "", stopped.error());
  publish(guest_event("undefined", name, "config file removed: " + file.filename().string()));
}

awaitable<void> daemon::rescan() {
  if (!watcher_) co_return;
  auto files = watcher_->scan();
  if (!files) {
    // A failed read is no removal: every guest stays as it is.
    log(log_level::error, files.error().message + ": no guest changed");
    co_return;
  }
  std::set<fs::path> present(files->begin(), files->end());
  std::vector<fs::path> gone;
  for (const auto& [file, name] : file_owner_)
    if (!present.contains(file)) gone.push_back(file);
  for (const auto& file : gone) co_await on_file_removed(file);
  // Known guests take their new definition but are not started again (one the
  // on_crash policy destroyed stays down until its file changes or `start`).
  for (const auto& file : present) co_await on_file_changed(file, !file_owner_.contains(file));
}

}  // namespace vnumad::reactor
