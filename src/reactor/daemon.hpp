// vnumad itself: one io_context, one thread. Owns the host topology, the
// ledger, every guest, the config-dir watcher, the control socket and the
// signal handlers, and routes events between them.
#pragma once

#include "cgroup/cgroup_fs.hpp"
#include "config/daemon_config.hpp"
#include "metrics/counters.hpp"
#include "metrics/snapshot.hpp"
#include "reactor/config_watcher.hpp"
#include "reactor/control_server.hpp"
#include "reactor/guest.hpp"
#include "reactor/metrics_server.hpp"
#include "reactor/owner_lock.hpp"
#include "reactor/signals.hpp"
#include "reactor/start_queue.hpp"
#include "reactor/state_store.hpp"
#include "reactor/state_watcher.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace vnumad::reactor {

struct daemon_options {
  config::daemon_config cfg;
  std::filesystem::path log_dir = "/var/log/vnumad";
  // For tests and planning: an hwloc XML instead of the live host.
  std::optional<std::filesystem::path> topology_file;
};

class daemon {
 public:
  daemon(boost::asio::io_context& io, daemon_options options);
  ~daemon();

  // Loads the host, re-attaches to running guests, scans the config dir,
  // starts the watcher, the control socket and signals, then tells systemd
  // READY=1. The guests found in the config dir are only queued by then
  // (start_queue): they start in the background, start_concurrency at a
  // time, and STATUS= follows them. Errors here are fatal for the daemon
  // (logged by main).
  boost::asio::awaitable<result<void>> start();
  // Stops watching and serving; guests keep running (SIGTERM semantics).
  void stop();
  bool stopped() const { return stopped_; }

  // Control-socket verbs: looked up in the verb table (verbs.hpp), checked,
  // and run by their handler (control_ops.cpp).
  boost::asio::awaitable<result<boost::json::value>> handle(const control_request& request, const control_peer& peer);

  // A stream verb (console) of the verb table, run by its handler
  // (control_ops.cpp).
  boost::asio::awaitable<result<byte_stream>> open_stream(const control_request& request, const control_peer& peer);

  // Config-dir events.
  boost::asio::awaitable<void> on_file_changed(std::filesystem::path file, bool start_if_inactive = true);
  boost::asio::awaitable<void> on_file_removed(std::filesystem::path file);
  // SIGHUP and `vnumactl reload`: compare the dir with what is known.
  boost::asio::awaitable<void> rescan();

  // `vnumactl host-shutdown` (host_shutdown.cpp): the host powers off or
  // reboots, so every guest is shut down, destroyed or left as
  // on_host_shutdown says; completes when that is done.
  boost::asio::awaitable<boost::json::value> host_shutdown();

  // Metrics (metrics_collect.cpp): the figures a scrape shows, read now.
  boost::asio::awaitable<metrics::snapshot> collect_metrics();

  guest* find_guest(std::string_view name);
  const vnuma::host_topology& host() const { return host_; }
  vnuma::ledger& ledger() { return *ledger_; }
  const config::daemon_config& cfg() const { return options_.cfg; }

 private:
  friend class control_ops;
  boost::asio::awaitable<void> reattach_all();
  // A state-dir folder without a readable record whose QEMU still runs:
  // killed when it never ran (half-started), else reported unsupervised.
  boost::asio::awaitable<void> handle_recordless(const std::string& name, const error& why);
  // One daemon, one owner (daemon_own_files.cpp): the state dir's lock, taken
  // at start and again when the dir was deleted and is made anew.
  result<void> lock_state_dir();
  result<void> lock_cgroup_dir(const cgroup::cgroup_fs& cgroups);
  // QEMUs of this state dir that no guest supervises, each logged as an error.
  void report_unsupervised();
  // Recreates what vanished of the state dir and the control sockets, logs
  // it, and re-arms the state watcher on the directories as they are now.
  void check_own_files();
  // Through the start queue: new guests from the config dir.
  void queue_start(const std::shared_ptr<guest>& g);
  // A "starting" record: its QEMU never ran the guest; finish its start.
  void resume_start(const std::shared_ptr<guest>& g, guest_record record);
  // "STATUS=R running, S starting, Q queued, F failed", sent when it changes.
  std::string status_line() const;
  void update_status();
  void notify_systemd(const std::string& state) const;
  void publish(boost::json::object event);
  void start_watchdog();
  // metrics_collect.cpp: handle(), counted by verb and outcome; the metrics
  // server, when vnumad.conf names a metrics_socket or metrics_listen.
  boost::asio::awaitable<result<boost::json::value>> handle_counted(const control_request& request,
                                                                    const control_peer& peer);
  boost::asio::awaitable<result<byte_stream>> open_stream_counted(const control_request& request,
                                                                  const control_peer& peer);
  result<void> start_metrics();

  boost::asio::io_context& io_;
  daemon_options options_;
  vnuma::host_topology host_;
  std::unique_ptr<vnuma::ledger> ledger_;
  state_store store_;
  owner_lock state_lock_;
  owner_lock cgroup_lock_;
  std::unique_ptr<state_watcher> state_watcher_;
  std::unique_ptr<guest_context> context_;
  std::unique_ptr<control_server> control_;
  metrics::counters counters_;
  std::unique_ptr<metrics_server> metrics_;
  std::unique_ptr<config_watcher> watcher_;
  std::unique_ptr<signal_handlers> signals_;
  std::map<std::string, std::shared_ptr<guest>, std::less<>> guests_;      // by name
  std::map<std::filesystem::path, std::string> file_owner_;              // config file -> guest name
  std::unique_ptr<start_queue> starts_;
  // Each guest's console client, by its connection to QEMU's console socket.
  std::map<std::string, std::weak_ptr<boost::asio::local::stream_protocol::socket>, std::less<>> consoles_;
  std::set<std::string, std::less<>> start_failed_;  // last start from the queue failed
  std::string last_status_;
  bool host_shutting_down_ = false;  // no new starts while guests are being stopped
  boost::asio::steady_timer watchdog_;
  bool stopped_ = false;
};

}  // namespace vnumad::reactor
