#include "reactor/iothread_pinning.hpp"

#include "qmp/qmp_commands.hpp"

#include <chrono>

namespace vnumad::reactor {

using boost::asio::awaitable;
using namespace std::chrono_literals;

// iothread `id`'s pin: its <iothreadpin> when the domain gives one.
static vnuma::thread_pin pin_of(const config::domain& d, unsigned id, const vnuma::placement& place,
                                const config::id_set& all_host_cpus) {
  std::optional<config::id_set> explicit_pin;
  if (d.cputune)
    for (const auto& p : d.cputune->iothreadpins)
      if (p.iothread == id) explicit_pin = p.cpuset;
  return vnuma::iothread_pin(place, explicit_pin, all_host_cpus);
}

awaitable<result<void>> pin_iothreads(qmp::qmp_client& qmp, cgroup::guest_cgroup& cgroup, const config::domain& d,
                                      const vnuma::placement& place, const config::id_set& all_host_cpus) {
  if (d.iothreads == 0) co_return result<void>{};
  auto reply = co_await qmp.execute(qmp::query_iothreads(), 10s);
  if (!reply) co_return reply.error();
  auto threads = qmp::decode_iothreads(*reply);
  if (!threads) co_return threads.error();
  for (unsigned id = 1; id <= d.iothreads; ++id) {
    const std::string qom_id = "iothread" + std::to_string(id);
    const qmp::iothread_info* found = nullptr;
    for (const auto& t : *threads)
      if (t.id == qom_id) found = &t;
    if (!found)
      co_return make_error(errc::not_found, "guest '" + d.name + "': QEMU has no " + qom_id +
                                                " (query-iothreads), though <iothreads> is " +
                                                std::to_string(d.iothreads));
    const auto pin = pin_of(d, id, place, all_host_cpus);
    if (auto pinned = cgroup.pin_iothread(static_cast<pid_t>(found->thread_id), id, pin.cpus, pin.mems); !pinned)
      co_return make_error(pinned.error().code, qom_id + ": " + pinned.error().message);
  }
  co_return result<void>{};
}

result<void> repin_iothreads(cgroup::guest_cgroup& cgroup, const config::domain& d, const vnuma::placement& place,
                             const config::id_set& all_host_cpus) {
  for (const auto& [id, tid] : cgroup.iothread_threads()) {
    const auto pin = pin_of(d, id, place, all_host_cpus);
    if (auto pinned = cgroup.pin_iothread(tid, id, pin.cpus, pin.mems); !pinned)
      return make_error(pinned.error().code, "iothread" + std::to_string(id) + ": " + pinned.error().message);
  }
  return {};
}

}  // namespace vnumad::reactor
