// Pinning of a running guest's threads: which thread is which vCPU, applying
// the ledger's pins to the cgroups, and moving off threads other guests hold
// dedicated. The start pipeline and re-attachment use it (guest.cpp).
#include "reactor/guest.hpp"

#include "qemu/vcpu_slots.hpp"
#include "reactor/iothread_pinning.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/logging.hpp"
#include "vnuma/clear_of_dedicated.hpp"

namespace vnumad::reactor {

using boost::asio::awaitable;

awaitable<result<void>> guest::refresh_vcpu_threads() {
  if (!qmp_) co_return not_running();
  auto reply = co_await qmp_->execute(qmp::query_cpus_fast(), timeouts_.command);
  if (!reply) co_return reply.error();
  auto cpus = qmp::decode_cpus_fast(*reply);
  if (!cpus) co_return cpus.error();
  // libvirt numbers vCPUs in topology order; map each QEMU CPU back by its props.
  auto topo = qemu::vcpu_topology_of(running_);
  if (!topo) co_return topo.error();
  vcpu_threads_.clear();
  for (const auto& c : *cpus) {
    auto id = qemu::vcpu_of(*topo, c.props);
    if (!id) {
      log_guest(log_level::warning, name(), "QEMU reports a vCPU outside the guest's topology (thread " + std::to_string(c.thread_id) + "): not pinned");
      continue;
    }
    vcpu_threads_[*id] = static_cast<pid_t>(c.thread_id);
  }
  co_return result<void>{};
}

awaitable<result<void>> guest::pin_all() {
  if (auto refreshed = co_await refresh_vcpu_threads(); !refreshed) co_return refreshed.error();
  if (auto pinned = apply_pins(); !pinned) co_return pinned.error();
  // After the emulator's pin, which leaves threads in iothread groups alone.
  if (qmp_ && cgroup_ && placement())
    co_return co_await pin_iothreads(*qmp_, *cgroup_, running_, *placement(), ctx_.host.all_cpus());
  co_return result<void>{};
}

result<void> guest::apply_pins() {
  const vnuma::placement* place = placement();
  if (!place) return make_error(errc::not_found, "guest '" + name() + "' is not in the ledger");
  if (!cgroup_ || !process_) return not_running();
  // One rule for every thread's cpus and mems (vnuma::vcpu_pin explains the
  // mems). The groups already exist with these mems: QEMU joined the guest
  // group before exec (prepare_spawn), so nothing here migrates memory.
  const config::id_set all_cpus = ctx_.host.all_cpus();
  for (const auto& [vcpu, tid] : vcpu_threads_) {
    auto pin = vnuma::vcpu_pin(*place, vcpu, all_cpus);
    if (auto pinned = cgroup_->pin_vcpu(tid, vcpu, pin.cpus, pin.mems); !pinned) return pinned.error();
  }
  auto emulator = vnuma::emulator_pin(*place, all_cpus);
  if (auto pinned = cgroup_->pin_emulator(process_->pid(), emulator.cpus, emulator.mems); !pinned)
    return pinned.error();
  // Iothreads without an <iothreadpin> follow the emulator's CPUs.
  return repin_iothreads(*cgroup_, running_, *place, all_cpus);
}

void guest::announce_dedicated_change(bool held_dedicated) {
  if (held_dedicated && ctx_.dedicated_changed) ctx_.dedicated_changed(name());
}

void guest::keep_clear_of_dedicated() {
  const vnuma::placement* p = placement();
  if (!p || !process_ || !cgroup_) return;
  vnuma::pins_wanted wanted;
  if (running_.cputune) {
    for (const auto& pin : running_.cputune->vcpupins) wanted.vcpus[pin.vcpu] = pin.cpuset;
    wanted.emulator = running_.cputune->emulatorpin.value_or(config::id_set{});
  }
  auto granted = vnuma::pins_clear_of_dedicated(*p, wanted, ctx_.ledger, ctx_.host);
  bool changed = granted.emulator != p->emulator_cpus || granted.vcpus.size() != p->vcpus.size();
  std::string moved;
  for (std::size_t i = 0; i < granted.vcpus.size() && i < p->vcpus.size(); ++i)
    if (granted.vcpus[i].host_cpus != p->vcpus[i].host_cpus) {
      changed = true;
      moved += (moved.empty() ? "" : ", ") + std::to_string(granted.vcpus[i].vcpu) + " -> " +
               (granted.vcpus[i].host_cpus.empty() ? std::string("any") : config::format_id_set(granted.vcpus[i].host_cpus));
    }
  if (!changed) return;
  for (const auto& note : granted.notes) log_guest(log_level::warning, name(), note);
  const config::id_set dedicated = p->dedicated_cpus;
  if (auto set = ctx_.ledger.set_vcpu_pins(name(), std::move(granted.vcpus), dedicated); !set) {
    log_error("re-pinning around dedicated threads: " + set.error().message);
    return;
  }
  (void)ctx_.ledger.set_emulator_cpus(name(), granted.emulator);
  if (auto pinned = apply_pins(); !pinned) {
    log_error("re-pinning around dedicated threads: " + pinned.error().message);
    return;
  }
  if (auto saved = save_record_after("re-pinning around dedicated threads"); !saved) log_failure(name(), "", saved.error());
  log_info("re-pinned around threads held dedicated by other guests: vCPU " + (moved.empty() ? "none" : moved) +
           "; emulator -> " + (granted.emulator.empty() ? std::string("any") : config::format_id_set(granted.emulator)));
}

}  // namespace vnumad::reactor
