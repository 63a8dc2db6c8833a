// A guest's machine scope under systemd (cgroup/machine_scope.hpp): the
// machine left over from a previous run is ended first, systemd-machined puts
// the held QEMU child in machine.slice/machine-<guest>.scope, and the guest's
// groups live inside that delegated scope. A re-attached guest's groups are
// found from /proc/PID/cgroup, whichever tree its QEMU was started in.
#include "reactor/guest.hpp"

#include "cgroup/machine_scope.hpp"
#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vnumad::reactor {

namespace asio = boost::asio;
using asio::awaitable;
using namespace std::chrono_literals;

awaitable<result<void>> guest::clear_stale_machine() {
  // A QEMU that just exited leaves its scope for systemd to stop; a restart
  // right after could otherwise meet "machine already exists".
  auto exists = cgroup::machine_exists(name());
  if (!exists) co_return exists.error();
  if (!*exists) co_return result<void>{};
  log_info("machine '" + name() + "' is still registered from an earlier run: ending it");
  if (auto ended = cgroup::terminate_machine(name()); !ended) co_return ended.error();
  asio::steady_timer pause(ctx_.io);
  for (int attempt = 0; attempt < 50; ++attempt) {
    pause.expires_after(100ms);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
    exists = cgroup::machine_exists(name());
    if (!exists) co_return exists.error();
    if (!*exists) co_return result<void>{};
  }
  co_return make_error(errc::busy, "guest '" + name() + "': its machine from an earlier run is still registered "
                                   "5 s after TerminateMachine (see machinectl status " + name() + ")");
}

result<void> guest::enter_machine_scope(pid_t leader, const config::id_set& mems) {
  auto registered = cgroup::create_machine(cgroup::machine_request_for(name(), running_.uuid, leader));
  if (!registered) return registered.error();
  auto scope = cgroup::scope_of_process(leader);
  if (!scope) return scope.error();
  if (!*scope)
    return make_error(errc::unsupported, "guest '" + name() + "': systemd-machined registered the machine but pid " +
                                             std::to_string(leader) + " is in no scope (/proc/" +
                                             std::to_string(leader) + "/cgroup)");
  auto cg = cgroup::guest_cgroup::open_in_scope(**scope, name(), [this](std::string_view w) {
    log_guest(log_level::warning, name(), std::string(w));
  });
  if (!cg) return cg.error();
  if (auto prepared = cg->prepare_scope_spawn(leader, mems); !prepared) return prepared.error();
  log_info("in machine scope " + (*scope)->filename().string());
  cgroup_ = std::move(*cg);
  return {};
}

result<cgroup::guest_cgroup> guest::cgroup_of_running(pid_t pid) {
  auto warn = [this](std::string_view w) { log_guest(log_level::warning, name(), std::string(w)); };
  if (!ctx_.machine_scopes) return cgroup::guest_cgroup::open(ctx_.cgroups, name(), warn);
  auto scope = cgroup::scope_of_process(pid);
  if (!scope) return scope.error();
  // A QEMU started before systemd managed the host (or by an older vnumad)
  // stays in vnumad's own tree.
  if (*scope) return cgroup::guest_cgroup::open_in_scope(**scope, name(), warn);
  return cgroup::guest_cgroup::open(ctx_.cgroups, name(), warn);
}

}  // namespace vnumad::reactor
