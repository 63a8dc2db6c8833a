// One supervised guest: its start pipeline (expand -> ledger -> argv -> spawn
// paused -> QMP -> hotplug vCPUs -> pin -> cont), its re-attachment after a
// daemon restart, and the state machine that QMP events and QEMU's exit drive
// (on_poweroff / on_reboot / on_crash, restarts with backoff).
#pragma once

#include "cgroup/guest_cgroup.hpp"
#include "config/daemon_config.hpp"
#include "config/domain.hpp"
#include "qemu/process.hpp"
#include "qmp/qmp_client.hpp"
#include "reactor/guest_job.hpp"
#include "reactor/qmp_timeouts.hpp"
#include "reactor/removal_waits.hpp"
#include "reactor/state_store.hpp"
#include "vnuma/host_topology.hpp"
#include "vnuma/ledger.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::reactor {

// The words virsh uses, so operators read them without a legend.
enum class guest_state { shut_off, starting, running, paused, in_shutdown, crashed };
inline constexpr guest_state all_guest_states[] = {guest_state::shut_off, guest_state::starting, guest_state::running,
                                                 guest_state::paused, guest_state::in_shutdown, guest_state::crashed};
std::string_view to_string(guest_state s);

// What every guest shares; owned by the daemon.
struct guest_context {
  boost::asio::io_context& io;
  const config::daemon_config& cfg;
  const vnuma::host_topology& host;
  config::id_set reserved_cpus;
  vnuma::ledger& ledger;
  state_store& store;
  cgroup::cgroup_fs cgroups;
  // Under systemd (cgroup/machine_scope.hpp): each QEMU in its own machine
  // scope, registered with systemd-machined; `cgroups` is then not written.
  bool machine_scopes = false;
  std::filesystem::path log_dir;
  // Sends an event to control-socket subscribers ({"event": ..., "guest": ...}).
  std::function<void(boost::json::object)> publish;
  // A guest took or gave back dedicated threads: the others re-pin
  // (guest::keep_clear_of_dedicated).
  std::function<void(const std::string& guest)> dedicated_changed;
};

class guest : public std::enable_shared_from_this<guest> {
 public:
  guest(guest_context& ctx, config::domain definition, std::filesystem::path config_file);
  ~guest();

  const std::string& name() const { return definition_.name; }
  const std::filesystem::path& config_file() const { return config_file_; }
  guest_state state() const { return state_; }
  bool is_active() const { return process_.has_value(); }
  // The last run ended with the guest's own power-off (QMP SHUTDOWN, reason
  // guest-shutdown), not with vnumad's quit or SIGKILL.
  bool powered_off_by_itself() const { return poweroff_seen_; }
  std::optional<pid_t> pid() const;
  const config::domain& definition() const { return definition_; }
  // The expanded domain QEMU runs (valid while active).
  const config::domain& running_domain() const { return running_; }
  const std::vector<std::string>& pending_changes() const { return pending_; }

  // Every operation below that changes the guest takes its job first
  // (guest_job.hpp): one at a time, in order; a caller that already holds
  // it passes its lease instead.
  boost::asio::awaitable<result<job_lease>> begin_job(std::string_view operation,
                                                      std::chrono::milliseconds wait = guest_job::socket_wait);
  result<job_lease> try_begin_job(std::string operation) { return job_.try_begin(std::move(operation)); }
  bool busy() const { return job_.busy(); }

  // Runs the start pipeline. On failure every step already done is undone
  // (stop_run: QEMU killed, cgroups removed, ledger released, state dir
  // removed) and the error carries QEMU's own message when QEMU said something.
  boost::asio::awaitable<result<void>> start();
  // Re-attaches to a QEMU found in the state dir after a daemon restart: same
  // pid, QMP reconnected, pinning re-applied and verified, ledger entry
  // restored. Fails (and cleans up) for a stale or half-started record.
  boost::asio::awaitable<result<void>> attach(guest_record record);
  // Finishes the start a previous daemon left half done (a "starting"
  // record, guest_resume.cpp): same QEMU, the pipeline from QMP on. Fails
  // with errc::not_found (state cleaned) when that QEMU is gone; on any other
  // failure QEMU is killed and everything undone, as for a failed start.
  // `job`: taken by the daemon when it found the record.
  boost::asio::awaitable<result<void>> resume_start(job_lease job, guest_record record);
  // ACPI power button, then `quit` after `timeout`, then SIGKILL. `wait`:
  // for the job (a removed config file waits as long as it takes).
  boost::asio::awaitable<result<void>> shutdown(std::chrono::seconds timeout,
                                                std::chrono::milliseconds wait = guest_job::socket_wait);
  // Immediate stop (quit, then SIGKILL). An operation in progress is not
  // waited for: its QEMU is killed first, so that it ends (libvirt's destroy).
  boost::asio::awaitable<result<void>> destroy();
  // Pause and resume the vCPUs (QMP stop / cont), as virsh suspend / resume.
  boost::asio::awaitable<result<void>> suspend();
  boost::asio::awaitable<result<void>> resume();
  // Guest reset (system_reset): the guest reboots in the same QEMU.
  boost::asio::awaitable<result<void>> reboot();
  // Stop and start again: applies pending cold changes.
  boost::asio::awaitable<result<void>> restart(std::chrono::seconds timeout);

  // Live operations (guest_vcpus.cpp, guest_memory.cpp): each plans with
  // live_plan.hpp first and changes nothing when the plan is refused; each
  // needs the job. A record that cannot be saved afterwards fails the
  // operation, saying what was applied.
  boost::asio::awaitable<result<boost::json::value>> set_vcpus(const job_lease& job, unsigned target,
                                                               std::chrono::milliseconds unplug_timeout);
  boost::asio::awaitable<result<boost::json::value>> attach_memory(const job_lease& job, unsigned cell,
                                                                   std::uint64_t bytes);
  boost::asio::awaitable<result<boost::json::value>> detach_memory(const job_lease& job, const std::string& dimm_id,
                                                                   std::chrono::milliseconds timeout);
  boost::asio::awaitable<result<boost::json::value>> pin_vcpu(const job_lease& job, unsigned vcpu,
                                                              const config::id_set& cpus);
  const qmp_timeouts& timeouts() const { return timeouts_; }

  // A new definition from the config dir (same name). Returns the element
  // names that changed and could not be applied live (held as pending).
  // `track_pending` false: take it without recording changes (they were
  // applied live).
  std::vector<std::string> set_definition(config::domain d, bool track_pending = true);
  // Stops supervising without touching QEMU (daemon shutdown: guests live on).
  void detach();
  // The state dir lost this running guest's files (deleted while the daemon
  // runs): writes record.json and domain.xml again and links the QMP socket
  // back from its spare link. Returns what it recreated (empty: nothing was
  // missing).
  std::vector<std::string> restore_state();

  // dominfo: state, pid, vCPUs, memory, cells -> host nodes, pending changes.
  boost::json::object info() const;
  // Access for live operations (setvcpus, attach-memory, vcpupin).
  qmp::qmp_client* qmp() { return qmp_.get(); }
  cgroup::guest_cgroup* cgroups() { return cgroup_ ? &*cgroup_ : nullptr; }
  const vnuma::placement* placement() const;
  guest_context& context() { return ctx_; }
  // vCPU id -> host thread id, from the last query-cpus-fast.
  const std::map<unsigned, pid_t>& vcpu_threads() const { return vcpu_threads_; }
  boost::asio::awaitable<result<void>> refresh_vcpu_threads();
  // Re-pins the running guest around threads other guests now hold dedicated
  // (or have given back): its asked pins minus theirs, in the ledger and cgroups.
  void keep_clear_of_dedicated();
  // Record the current running domain/placement in the state dir.
  result<void> save_record();
  // save_record() after `operation` changed the running guest: its failure
  // says that the change was applied but not recorded.
  result<void> save_record_after(std::string_view operation);
  // errc::not_running "guest 'web' is not running (state: shut off)".
  error not_running() const;
  // Running domain edits done live (vCPU count, dimms, pins).
  config::domain& running_domain_mutable() { return running_; }
  // Changes whenever a QEMU run begins or ends: a live operation that sees it
  // change while waiting knows its QEMU is gone.
  std::uint64_t run_generation() const { return generation_; }
  // The one removal path (guest_removal.cpp): QMP's DEVICE_DELETED of a
  // vCPU or dimm, awaited or late, updates the running domain, the vCPU
  // threads, the ledger and the record here, and wakes the wait for it.
  void on_device_deleted(const std::string& device_id);

  // QEMU can die while an operation waits on it; its resources are then
  // released (the generation moves on) and the operation must stop touching it.
  struct same_run {
    const guest& g;
    std::uint64_t generation = g.generation_;
    bool lost() const { return !g.process_ || !g.qmp_ || g.generation_ != generation; }
    error died(const std::string& during) const {
      return make_error(errc::process_failed, "QEMU of guest '" + g.name() + "' died during " + during);
    }
  };

 private:
  boost::asio::awaitable<result<void>> start_held();
  boost::asio::awaitable<result<void>> run_start_pipeline();
  // Steps after QEMU is spawned: QMP, boot vCPUs, pinning, cont.
  boost::asio::awaitable<result<void>> bring_up_spawned(std::string qmp_socket, std::filesystem::path log_file);
  boost::asio::awaitable<error> explain_start_failure(error failure, std::filesystem::path log_file);
  boost::asio::awaitable<result<void>> plug_boot_vcpus();
  boost::asio::awaitable<result<void>> pin_all();
  result<void> apply_pins();  // the ledger's pins onto the known threads
  void announce_dedicated_change(bool held_dedicated);
  void keep_qmp_socket_spare();  // state_store::keep_qmp_socket, logged when it fails
  void watch(std::uint64_t generation);
  void on_qmp_event(const qmp::qmp_event& event);
  void on_exit(std::optional<int> status);
  void apply_policy(config::lifecycle_action action, std::string_view why);
  boost::asio::awaitable<result<void>> stop_qemu(bool graceful, std::chrono::seconds timeout);
  boost::asio::awaitable<bool> wait_for_exit(std::chrono::milliseconds timeout);
  // The one idempotent stop (guest_stop.cpp, libvirt's qemuProcessStop):
  // whatever of a run is there goes (QMP, a live QEMU SIGKILLed and reaped
  // in the background, cgroups or machine scope, the ledger entry, the state
  // dir unless the daemon is detaching); what is not there is skipped, so a
  // failed start, a stale record, a crash and a destroy all end here, and a
  // second call does nothing.
  void stop_run();
  // Adopts a QEMU of a previous daemon (attach, resume_start) as this run.
  void adopt(qemu::process proc, guest_record record);
  // A record that cannot be taken over (its QEMU gone, not ours, unreadable):
  // logged as "not <doing> (<why>)", its leftovers go through stop_run, and
  // the error is not_found.
  error drop_stale(std::string_view doing, const std::string& why);
  void on_qmp_events();  // routes this run's QMP events to on_qmp_event
  void remove_cgroup_later(cgroup::guest_cgroup groups, error first_failure);
  // guest_scope.cpp: the machine scope of a run under systemd.
  boost::asio::awaitable<result<void>> clear_stale_machine();
  result<void> enter_machine_scope(pid_t leader, const config::id_set& mems);
  result<cgroup::guest_cgroup> cgroup_of_running(pid_t pid);
  void set_state(guest_state s, std::string_view reason = {});
  // Starts QEMU again after the backoff; a start that works is published as
  // "restarted" with `reason`.
  void schedule_restart(std::string reason);
  bool restarts_on_crash() const;
  void log_info(const std::string& message) const;
  void log_error(const std::string& message) const;

  guest_context& ctx_;
  config::domain definition_;          // as in the config dir
  std::filesystem::path config_file_;
  config::domain running_;             // expanded, what QEMU runs
  guest_record record_;
  std::optional<qemu::process> process_;
  std::unique_ptr<qmp::qmp_client> qmp_;
  std::optional<cgroup::guest_cgroup> cgroup_;
  std::map<unsigned, pid_t> vcpu_threads_;
  guest_state state_ = guest_state::shut_off;
  std::vector<std::string> pending_;
  bool stopping_ = false;              // we asked QEMU to go: its exit is not a crash
  bool restart_after_exit_ = false;
  bool poweroff_seen_ = false;         // the guest shut itself down
  bool detached_ = false;              // daemon stopping: a start cut short keeps its state dir
  std::uint64_t generation_ = 0;       // bumps per QEMU run, so stale callbacks are ignored
  unsigned quick_failures_ = 0;        // consecutive runs that died young, for backoff
  bool qemu_died_during_start_ = false;  // the last start failed because QEMU exited
  std::chrono::steady_clock::time_point run_started_;
  boost::asio::steady_timer exited_;   // cancelled when QEMU exits (condition variable)
  boost::asio::steady_timer backoff_;
  qmp_timeouts timeouts_;
  guest_job job_;
  removal_waits removals_;
};

}  // namespace vnumad::reactor
