// The start pipeline and re-attachment. The state machine driven by QMP events
// and QEMU's exit is in guest_lifecycle.cpp, thread pinning in guest_pinning.cpp.
#include "reactor/guest.hpp"

#include "config/domain_xml.hpp"
#include "qemu/environment.hpp"
#include "qemu/argv.hpp"
#include "qemu/host_facts.hpp"
#include "qemu/vcpu_slots.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/events.hpp"
#include "reactor/logging.hpp"
#include "reactor/qemu_access.hpp"
#include "vnuma/live_memory.hpp"
#include "vnuma/place.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <csignal>
#include <ctime>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using namespace asio::experimental::awaitable_operators;
using namespace std::chrono_literals;

std::string_view to_string(guest_state s) {
  switch (s) {
    case guest_state::shut_off: return "shut off";
    case guest_state::starting: return "starting";
    case guest_state::running: return "running";
    case guest_state::paused: return "paused";
    case guest_state::in_shutdown: return "in shutdown";
    case guest_state::crashed: return "crashed";
  }
  return "unknown";
}

guest::guest(guest_context& ctx, config::domain definition, std::filesystem::path config_file)
    : ctx_(ctx),
      definition_(std::move(definition)),
      config_file_(std::move(config_file)),
      exited_(ctx.io),
      backoff_(ctx.io),
      timeouts_(qmp_timeouts_for(ctx.cfg)),
      job_(ctx.io.get_executor(), definition_.name),
      removals_(ctx.io.get_executor()) {}

guest::~guest() = default;

std::optional<pid_t> guest::pid() const {
  if (process_) return process_->pid();
  return std::nullopt;
}

const vnuma::placement* guest::placement() const { return ctx_.ledger.find(name()); }

void guest::log_info(const std::string& message) const { log_guest(log_level::info, name(), message); }
void guest::log_error(const std::string& message) const { log_guest(log_level::error, name(), message); }

error guest::not_running() const {
  return make_error(errc::not_running,
                    "guest '" + name() + "' is not running (state: " + std::string(to_string(state_)) + ")");
}

awaitable<result<job_lease>> guest::begin_job(std::string_view operation, std::chrono::milliseconds wait) {
  co_return co_await job_.begin(operation, wait);
}

void guest::set_state(guest_state s, std::string_view reason) {
  if (s == state_ && reason.empty()) return;
  state_ = s;
  if (ctx_.publish) ctx_.publish(guest_event("state", name(), reason, {{"state", std::string(to_string(s))}}));
}

awaitable<result<void>> guest::start() {
  auto job = co_await job_.begin("start");
  if (!job) co_return job.error();
  co_return co_await start_held();
}

awaitable<result<void>> guest::start_held() {
  if (process_) co_return make_error(errc::busy, "guest '" + name() + "' is already running");
  // Never a second QEMU: one of ours may run this guest without a state
  // record (its state dir deleted while no daemon ran); see qemu_scan.hpp.
  for (pid_t other : qemu::find_qemu_processes("path=" + ctx_.store.qmp_socket(name()).string() + ",")) {
    auto refused = make_error(errc::already_exists,
                              "guest '" + name() + "': QEMU pid " + std::to_string(other) +
                                  " already runs it unsupervised (no state record): not starting a second one; "
                                  "stop that QEMU (kill " + std::to_string(other) + "), then vnumactl start " + name());
    log_error(refused.message);
    set_state(guest_state::shut_off, refused.message);
    co_return refused;
  }
  backoff_.cancel();
  qemu_died_during_start_ = false;
  set_state(guest_state::starting);
  auto started = co_await run_start_pipeline();
  if (!started) {
    stop_run();
    log_failure(name(), "start failed: ", started.error());
    set_state(guest_state::shut_off, started.error().message);
    if (ctx_.publish) ctx_.publish(guest_event("start_failed", name(), started.error().message));
    // QEMU that died on its way up (killed, OOM, crashed) counts as a crash:
    // <on_crash>restart</on_crash> retries it with the usual backoff. A start
    // refused before QEMU ran (placement, argv, state dir) is only reported.
    if (qemu_died_during_start_ && restarts_on_crash()) {
      log_info("<on_crash>" + std::string(to_string(definition_.on_crash)) + "</on_crash>: retrying the start");
      schedule_restart("QEMU died during the start");
    }
    co_return started.error();
  }
  co_return result<void>{};
}

// A failing step returns its error; start_held() then undoes every step
// already done with the one stop (stop_run), which looks at what is there.
awaitable<result<void>> guest::run_start_pipeline() {
  const std::string& guest_name = name();

  // 1. expand and hold the resources in the ledger
  vnuma::expand_options options{.allow_overcommit = ctx_.cfg.overcommit, .reserved_cpus = ctx_.reserved_cpus};
  auto placed = vnuma::place(definition_, ctx_.host, ctx_.ledger, options);
  if (!placed) co_return placed.error();
  for (const auto& warning : placed->place.warnings) log_guest(log_level::warning, guest_name, warning);
  for (const auto& warning : vnuma::check_live_memory(placed->place, ctx_.host, ctx_.ledger))
    log_guest(log_level::warning, guest_name, warning);
  if (auto held = ctx_.ledger.add(placed->place, ctx_.cfg.overcommit); !held) co_return held.error();
  // Guests already running move off the threads this one now holds.
  announce_dedicated_change(!placed->place.dedicated_cpus.empty());
  running_ = std::move(placed->domain);

  // 2. the command line
  if (auto ok = ctx_.store.prepare(guest_name); !ok) co_return ok.error();
  qemu::host_facts facts = qemu::host_facts_for(ctx_.host);
  facts.qemu_binary = running_.devices.emulator.value_or(ctx_.cfg.qemu_binary.string());
  facts.qmp_socket_path = ctx_.store.qmp_socket(guest_name).string();
  facts.console_socket_path = ctx_.store.console_socket(guest_name).string();
  facts.state_dir = ctx_.store.guest_dir(guest_name).string();
  // what QEMU runs as and may open (given back by store.remove on undo)
  auto launch = prepare_qemu_launch(ctx_.cfg, ctx_.log_dir, ctx_.store, running_, facts,
                                    [this](std::string_view w) { log_guest(log_level::warning, name(), std::string(w)); });
  if (!launch) co_return launch.error();
  auto argv = qemu::build_argv(launch->files.argv_domain, facts);
  if (!argv) co_return argv.error();
  argv->insert(argv->end(), launch->files.extra_args.begin(), launch->files.extra_args.end());
  std::error_code ignored;
  std::filesystem::remove(facts.qmp_socket_path, ignored);

  // 3. the guest's cgroup with its final cpuset.mems, before QEMU exists:
  // QEMU joins it before exec and is never moved to other mems afterwards
  // (guest_cgroup::prepare_spawn says why). Under systemd the group is made
  // in the guest's machine scope while the child waits (step 4).
  const config::id_set guest_nodes = vnuma::guest_memory_nodes(placed->place);
  result<std::optional<std::filesystem::path>> join = std::optional<std::filesystem::path>{};
  if (ctx_.machine_scopes) {
    if (auto cleared = co_await clear_stale_machine(); !cleared) co_return cleared.error();
  } else {
    auto cg = cgroup::guest_cgroup::open(ctx_.cgroups, guest_name,
                                         [this](std::string_view w) { log_guest(log_level::warning, name(), std::string(w)); });
    if (!cg) co_return cg.error();
    cgroup_ = std::move(*cg);
    join = cgroup_->prepare_spawn(guest_nodes);
    if (!join) co_return join.error();
  }

  // 4. spawn QEMU paused (-S), in its own session and its cgroup, memory bound to the guest's nodes
  qemu::spawn_options spawn;
  spawn.argv = std::move(*argv);
  std::filesystem::create_directories(ctx_.log_dir, ignored);
  spawn.log_file = ctx_.log_dir / (guest_name + ".log");
  spawn.membind_nodes = guest_nodes;
  spawn.join_cgroup_procs = join->value_or(std::filesystem::path{});
  if (ctx_.machine_scopes)
    spawn.before_exec = [this, &guest_nodes](pid_t leader) { return enter_machine_scope(leader, guest_nodes); };
  spawn.run_as = launch->run_as;
  spawn.memlock_bytes = launch->memlock_bytes;
  spawn.env = qemu::passthrough_env(launch->files.argv_domain);  // <qemu:commandline><qemu:env>
  for (const auto& fd : launch->files.fds) spawn.inherit_fds.push_back(fd.get());
  auto proc = qemu::process::spawn(ctx_.io.get_executor(), spawn);
  launch->files.fds.clear();  // QEMU has its copies
  if (!proc) co_return proc.error();
  process_ = std::move(*proc);
  ++generation_;
  stopping_ = restart_after_exit_ = poweroff_seen_ = false;
  run_started_ = std::chrono::steady_clock::now();
  record_ = guest_record{.name = guest_name,
                         .pid = process_->pid(),
                         .phase = start_phase::starting,
                         .config_file = config_file_,
                         .expanded_xml = config::write_domain_xml(running_),
                         .place = placed->place,
                         .started_at = static_cast<std::int64_t>(std::time(nullptr))};
  auto saved = ctx_.store.save(record_);
  record_.expanded_xml.clear();  // on disk now; save_record() writes it afresh
  if (!saved) co_return saved.error();
  log_info("QEMU started, pid " + std::to_string(process_->pid()));

  auto up = co_await bring_up_spawned(facts.qmp_socket_path, spawn.log_file);
  if (!up) co_return co_await explain_start_failure(up.error(), spawn.log_file);
  co_return result<void>{};
}

// QEMU dying mid-start shows up as whatever step was running (a reset QMP
// socket, a failed device_add). How it died, and its own message, say why.
awaitable<error> guest::explain_start_failure(error failure, std::filesystem::path log_file) {
  if (!process_) co_return failure;
  std::optional<int> status;
  if (!process_->has_exited()) {
    asio::steady_timer grace(ctx_.io, 500ms);
    auto waited = co_await (process_->wait_exit() || grace.async_wait(asio::as_tuple(asio::use_awaitable)));
    if (waited.index() == 0 && std::get<0>(waited)) status = *std::get<0>(waited);
  } else if (auto known = co_await process_->wait_exit(); known) {
    status = *known;
  }
  if (!process_->has_exited()) co_return failure;
  qemu_died_during_start_ = true;
  std::string how = status ? " (" + qemu::describe_wait_status(*status) + ")" : "";
  std::string why = qemu::qemu_error_message(log_file);
  co_return make_error(errc::process_failed, "QEMU exited during start-up" + how + ": " +
                                                 (why.empty() ? std::string("no message") : why) + " [" +
                                                 failure.message + "]");
}

awaitable<result<void>> guest::bring_up_spawned(std::string qmp_socket, std::filesystem::path log_file) {
  // 5. QMP: connect while watching for an early exit (bad option, missing kernel)
  qmp_ = std::make_unique<qmp::qmp_client>(ctx_.io.get_executor());
  {
    auto connected = co_await (qmp_->connect(qmp_socket, ctx_.cfg.qmp_timeout) || process_->wait_exit());
    if (connected.index() == 1) {
      std::string why = qemu::qemu_error_message(log_file);
      co_return make_error(errc::process_failed,
                           "QEMU exited during start-up: " + (why.empty() ? std::string("no message") : why));
    }
    if (auto& c = std::get<0>(connected); !c) co_return c.error();
  }
  if (auto negotiated = co_await qmp_->negotiate(ctx_.cfg.qmp_timeout); !negotiated) co_return negotiated.error();
  keep_qmp_socket_spare();
  on_qmp_events();

  // 6. vCPUs that are online at boot but hotpluggable, at their topology slots
  if (auto plugged = co_await plug_boot_vcpus(); !plugged) co_return plugged.error();

  // 7. pin every vCPU thread and the emulator inside the guest's cgroup
  if (auto pinned = co_await pin_all(); !pinned) co_return pinned.error();

  // 8. run
  if (auto resumed = co_await qmp_->execute(qmp::cont(), timeouts_.command); !resumed) co_return resumed.error();
  record_.phase = start_phase::running;
  if (auto saved = save_record(); !saved) co_return saved.error();
  set_state(guest_state::running);
  log_info("running: " + std::to_string(vcpu_threads_.size()) + " vCPUs pinned");
  watch(generation_);
  co_return result<void>{};
}

awaitable<result<void>> guest::plug_boot_vcpus() {
  auto wanted = qemu::vcpus_to_hotplug(running_);
  if (!wanted) co_return wanted.error();
  if (wanted->empty()) co_return result<void>{};
  auto reply = co_await qmp_->execute(qmp::query_hotpluggable_cpus(), timeouts_.command);
  if (!reply) co_return reply.error();
  auto slots = qmp::decode_hotpluggable_cpus(*reply);
  if (!slots) co_return slots.error();
  auto topo = qemu::vcpu_topology_of(running_);
  if (!topo) co_return topo.error();
  for (const auto& v : *wanted) {
    // A start resumed after a daemon restart finds some already plugged.
    const bool plugged_already = std::any_of(slots->begin(), slots->end(), [&](const qmp::hotpluggable_cpu& s) {
      return s.plugged() && qemu::vcpu_of(*topo, s.props) == v.id;
    });
    if (plugged_already) continue;
    const qmp::hotpluggable_cpu* slot = qemu::free_slot_for(*slots, *topo, v.id);
    if (!slot)
      co_return make_error(errc::no_free_slot, "no free QEMU vCPU slot for vCPU " + std::to_string(v.id) + " (socket " +
                                                   std::to_string(v.socket_id) + " core " + std::to_string(v.core_id) +
                                                   " thread " + std::to_string(v.thread_id) + ")");
    auto added = co_await qmp_->execute(qmp::device_add_cpu(slot->type, v.qom_id, slot->props), timeouts_.command);
    if (!added) co_return added.error();
  }
  co_return result<void>{};
}

result<void> guest::save_record() {
  // A QEMU that died meanwhile has had its state dir removed: do not recreate it.
  if (!process_) return not_running();
  if (const vnuma::placement* p = placement()) record_.place = *p;
  // The expanded XML is only needed on disk (for a daemon restart); a guest
  // does not keep a second copy of it in memory.
  record_.expanded_xml = config::write_domain_xml(running_);
  auto saved = ctx_.store.save(record_);
  record_.expanded_xml.clear();
  record_.expanded_xml.shrink_to_fit();
  return saved;
}

result<void> guest::save_record_after(std::string_view operation) {
  auto saved = save_record();
  if (saved) return saved;
  return make_error(saved.error().code, "guest '" + name() + "': " + std::string(operation) +
                                            " applied but its record could not be saved: " + saved.error().message);
}

void guest::on_qmp_events() {
  std::uint64_t generation = generation_;
  qmp_->on_event([weak = weak_from_this(), generation](const qmp::qmp_event& ev) {
    if (auto self = weak.lock(); self && self->generation_ == generation) self->on_qmp_event(ev);
  });
}

}  // namespace vnumad::reactor
