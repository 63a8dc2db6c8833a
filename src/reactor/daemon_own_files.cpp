// One daemon, one owner: the locks on the state dir and the cgroup dir, QEMUs
// found without a record, and the state dir or control sockets deleted while
// the daemon runs (docs/reliability.md, "Hostile inputs").
#include "reactor/daemon.hpp"

#include "qemu/process.hpp"
#include "qmp/qmp_client.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/logging.hpp"
#include "reactor/qemu_scan.hpp"

#include <csignal>
#include <set>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;
using namespace std::chrono_literals;

result<void> daemon::lock_state_dir() {
  std::error_code ec;
  fs::create_directories(store_.root(), ec);
  if (ec) return make_error(errc::io_error, "state dir " + store_.root().string() + ": cannot create: " + ec.message());
  auto locked = owner_lock::take(store_.root(), "state dir");
  if (!locked) return locked.error();
  state_lock_ = std::move(*locked);
  return {};
}

result<void> daemon::lock_cgroup_dir(const cgroup::cgroup_fs& cgroups) {
  // Without a cpuset hierarchy there are no groups to share.
  if (cgroups.kind() == cgroup::backend::none) return {};
  if (auto made = cgroups.create("vnumad"); !made) return made.error();
  auto locked = owner_lock::take(cgroups.path_of("vnumad"), "cgroup dir");
  if (!locked) return locked.error();
  cgroup_lock_ = std::move(*locked);
  return {};
}

namespace {

// QEMU's run state from its QMP socket, if it answers.
awaitable<std::optional<std::string>> qmp_run_state(asio::io_context& io, const fs::path& socket) {
  qmp::qmp_client client(io.get_executor());
  if (!co_await client.connect(socket.string(), 2s)) co_return std::nullopt;
  if (!co_await client.negotiate(2s)) co_return std::nullopt;
  auto reply = co_await client.execute(qmp::query_status(), 2s);
  if (!reply) co_return std::nullopt;
  auto status = qmp::decode_status(*reply);
  if (!status) co_return std::nullopt;
  co_return status->status;
}

std::string unsupervised_message(const std::string& name, pid_t pid, const std::string& why) {
  return "guest '" + name + "': QEMU pid " + std::to_string(pid) + " runs without a state record (" + why +
         "): unsupervised; vnumad will not start a second QEMU for it. Stop it (kill " + std::to_string(pid) +
         ") for vnumad to start the guest again";
}

}  // namespace

awaitable<void> daemon::handle_recordless(const std::string& name, const error& why) {
  // A daemon killed between spawning QEMU and saving the record leaves a QEMU
  // paused before it ran (-S: "prelaunch") and no record: that one goes, the
  // guest starts afresh. A QEMU that has run the guest is never killed here.
  bool left_running = false;
  for (pid_t pid : qemu::find_qemu_processes("path=" + store_.qmp_socket(name).string() + ",")) {
    auto state = co_await qmp_run_state(io_, store_.qmp_socket(name));
    if (state && *state == "prelaunch") {
      log(log_level::warning, "guest '" + name + "': killing QEMU pid " + std::to_string(pid) +
                                  ", left half-started without a record");
      if (auto orphan = qemu::process::attach(io_.get_executor(), pid); orphan && orphan->send_signal(SIGKILL))
        co_await orphan->wait_exit();
      continue;
    }
    log(log_level::error, unsupervised_message(name, pid, why.message + "; QMP state " + state.value_or("unknown")));
    left_running = true;
  }
  if (left_running) co_return;  // its folder keeps the QMP socket for whoever takes it over
  log(log_level::warning, "state dir " + store_.guest_dir(name).string() + " unreadable (" + why.message +
                              "): removing it");
  (void)store_.remove(name);
}

void daemon::report_unsupervised() {
  for (const auto& found : find_qemus_of(store_.root())) {
    guest* g = find_guest(found.guest);
    if (g && g->pid() == found.pid) continue;
    // Those with a folder were named by handle_recordless already.
    std::error_code ec;
    if (fs::exists(store_.guest_dir(found.guest), ec)) continue;
    log(log_level::error, unsupervised_message(found.guest, found.pid, "its state dir folder is gone"));
  }
}

void daemon::check_own_files() {
  if (stopped_) return;
  std::vector<std::string> recreated;
  if (!state_lock_.still_at_path()) {
    log(log_level::error, "state dir " + store_.root().string() +
                              " vanished (deleted or moved away) while vnumad runs: recreating it");
    if (auto relocked = lock_state_dir(); !relocked)
      log(log_level::error, relocked.error().message);
    else
      recreated.push_back("state dir " + store_.root().string());
  }
  for (auto& [name, g] : guests_)
    for (auto& what : g->restore_state()) recreated.push_back("guest '" + name + "': " + what);
  if (control_)
    for (const auto& path : control_->rebind_missing()) recreated.push_back("control socket " + path.string());
  if (!recreated.empty()) {
    std::string list;
    for (const auto& what : recreated) list += (list.empty() ? "" : "; ") + what;
    log(log_level::error, "vnumad's own files vanished while it runs (deleted or moved away); recreated: " + list);
    publish(boost::json::object{{"event", "state_recreated"}, {"recreated", list}});
  }
  std::set<fs::path> dirs{store_.root(), store_.qmp_socket_spare("-").parent_path(), options_.cfg.socket.parent_path()};
  if (options_.cfg.readonly_socket) dirs.insert(options_.cfg.readonly_socket->parent_path());
  for (const auto& [name, g] : guests_)
    if (g->is_active()) dirs.insert(store_.guest_dir(name));
  if (state_watcher_) state_watcher_->watch({dirs.begin(), dirs.end()});
}

}  // namespace vnumad::reactor
