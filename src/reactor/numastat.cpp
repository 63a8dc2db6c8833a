#include "reactor/numastat.hpp"

#include "cgroup/proc.hpp"
#include "qmp/qmp_commands.hpp"

#include <chrono>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;
using namespace std::chrono_literals;

namespace {

// Whose memory each backend is: a boot cell's by its name (ram-node<K>), a
// memory device's by the device's node.
std::vector<vnuma::memory_backend> backends_of(const std::vector<qmp::memdev>& memdevs,
                                               const std::vector<qmp::memory_device>& devices) {
  std::vector<vnuma::memory_backend> out;
  for (const auto& m : memdevs) {
    vnuma::memory_backend b{m.id, m.size, m.host_nodes, m.policy, m.share, vnuma::cell_of_ram_backend(m.id), {}};
    for (const auto& d : devices)
      if (d.memdev == "/objects/" + m.id) {
        b.device = d.id;
        b.cell = d.node >= 0 ? std::optional<unsigned>(static_cast<unsigned>(d.node)) : std::nullopt;
      }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

awaitable<result<vnuma::memory_report>> read_memory_report(guest& g) {
  auto pid = g.pid();
  if (!pid || !g.qmp()) co_return g.not_running();
  const std::uint64_t generation = g.run_generation();

  // Quick: dominfo waits for it, and a QEMU that does not answer QMP within
  // that has a problem dominfo should show rather than wait out.
  auto memdev_reply = co_await g.qmp()->execute(qmp::query_memdev(), g.timeouts().quick);
  if (!memdev_reply) co_return memdev_reply.error();
  auto memdevs = qmp::decode_memdev(*memdev_reply);
  if (!memdevs) co_return memdevs.error();
  if (g.run_generation() != generation || !g.qmp()) co_return g.not_running();
  auto devices_reply = co_await g.qmp()->execute(qmp::query_memory_devices(), g.timeouts().quick);
  if (!devices_reply) co_return devices_reply.error();
  auto devices = qmp::decode_memory_devices(*devices_reply);
  if (!devices) co_return devices.error();
  // The QEMU may have gone while we waited; its pid could be anyone's now.
  if (g.run_generation() != generation || g.pid() != pid) co_return g.not_running();

  // Read on the reactor thread: numa_maps walks the page tables, about a
  // millisecond per GiB of 4 KiB pages (far less with huge pages), which the
  // single-threaded daemon affords for an operator's or a monitor's request.
  // A second thread would be the daemon's first, next to fork() for QEMU.
  const std::string proc = "/proc/" + std::to_string(*pid);
  auto numa_maps = cgroup::read_text_file(proc + "/numa_maps");
  if (!numa_maps) co_return numa_maps.error();
  auto maps = cgroup::read_text_file(proc + "/maps");
  if (!maps) co_return maps.error();
  auto vmas = vnuma::parse_numa_maps(*numa_maps, *maps);
  if (!vmas) co_return make_error(vmas.error().code, proc + "/numa_maps: " + vmas.error().message);
  co_return vnuma::attribute_memory(*vmas, backends_of(*memdevs, *devices));
}

awaitable<result<json::value>> numastat(guest& g) {
  auto report = co_await read_memory_report(g);
  if (!report) co_return report.error();
  json::object o{{"name", g.name()}};
  if (auto pid = g.pid()) o["pid"] = *pid;
  for (auto& kv : vnuma::to_json(*report)) o[kv.key()] = std::move(kv.value());
  co_return json::value(std::move(o));
}

awaitable<std::optional<json::object>> memory_placement(guest& g) {
  if (!g.pid() || !g.qmp()) co_return std::nullopt;
  auto report = co_await read_memory_report(g);
  if (!report) co_return json::object{{"error", report.error().message}};
  co_return vnuma::placement_summary_json(*report);
}

}  // namespace vnumad::reactor
