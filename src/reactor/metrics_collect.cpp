// What a scrape shows (metrics/snapshot.hpp), read from the daemon now: the
// ledger and sysfs per node, each guest's state and placement, numastat's
// reading of its memory, and the daemon's counters.
#include "reactor/verbs.hpp"
#include "reactor/daemon.hpp"
#include "reactor/numastat.hpp"

#include "vnuma/topology_loader.hpp"

#include <boost/asio/use_awaitable.hpp>

#include <chrono>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;

awaitable<result<json::value>> daemon::handle_counted(const control_request& request, const control_peer& peer) {
  auto reply = co_await handle(request, peer);
  // Ops the verb table does not know are one series, whatever a client sends.
  counters_.count_request(find_verb(request.op) ? std::string_view(request.op) : "unknown",
                          reply ? std::string_view("ok") : to_string(reply.error().code));
  co_return reply;
}

awaitable<result<byte_stream>> daemon::open_stream_counted(const control_request& request, const control_peer& peer) {
  auto opened = co_await open_stream(request, peer);
  counters_.count_request(request.op, opened ? std::string_view("ok") : to_string(opened.error().code));
  co_return opened;
}

awaitable<metrics::snapshot> daemon::collect_metrics() {
  const auto began = std::chrono::steady_clock::now();
  metrics::snapshot s;
  s.version = VNUMAD_VERSION;
  for (guest_state st : all_guest_states) s.states.emplace_back(to_string(st));
  for (const auto& node : host_.nodes) {
    // A host loaded from a file has no live pools: its own figures stand in.
    const vnuma::hugepage_counts pools = host_.live ? vnuma::read_node_hugepages(node.id)
                                                    : vnuma::hugepage_counts{node.hugepages_total, node.hugepages_free};
    s.nodes.push_back(metrics::node_snapshot_of(node, *ledger_, context_->reserved_cpus, pools));
  }
  // Copied: the map may change while a guest's memory is read.
  std::vector<std::shared_ptr<guest>> guests;
  for (const auto& [name, g] : guests_) guests.push_back(g);
  for (const auto& g : guests) {
    metrics::guest_snapshot gs;
    gs.name = g->name();
    // dominfo's figures, so that both say the same.
    const json::object info = g->info();
    gs.state = std::string(info.at("state").as_string());
    gs.vcpus_max = static_cast<unsigned>(info.at("vcpus_max").to_number<std::uint64_t>());
    gs.vcpus_online = static_cast<unsigned>(info.at("vcpus_online").to_number<std::uint64_t>());
    if (const vnuma::placement* p = g->placement(); p && g->is_active()) gs.placement = *p;
    gs.restarts = counters_.restarts(gs.name);
    if (starts_ && starts_->is_queued(gs.name)) ++s.guests_queued;
    if (g->is_active() && g->qmp())
      if (auto report = co_await read_memory_report(*g)) gs.memory = std::move(*report);
    s.guests.push_back(std::move(gs));
  }
  s.requests = counters_.requests();
  s.collection_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - began).count();
  co_return s;
}

result<void> daemon::start_metrics() {
  const auto& cfg = options_.cfg;
  if (!cfg.metrics_socket && !cfg.metrics_listen) return {};
  metrics_server_options options;
  options.socket = cfg.metrics_socket;
  options.listen = cfg.metrics_listen;
  metrics_ = std::make_unique<metrics_server>(io_, options, [this]() -> awaitable<result<std::string>> {
    const metrics::snapshot s = co_await collect_metrics();
    co_return metrics::format_exposition(metrics::to_families(s));
  });
  if (auto opened = metrics_->open(); !opened) return opened.error();
  metrics_->start();
  return {};
}

}  // namespace vnumad::reactor
