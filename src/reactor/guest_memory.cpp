// attach-memory and detach-memory on a running guest: a pc-dimm on the
// cell's host node, with the backend its boot-time dimms get
// (qemu/memory_hotplug.hpp), held in the ledger first. Planned by
// live_plan.hpp; a removal completes in the one removal path
// (guest_removal.cpp), also when the guest releases the dimm late.
#include "reactor/guest.hpp"

#include "config/units.hpp"
#include "qemu/host_facts.hpp"
#include "qemu/memory_hotplug.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/live_plan.hpp"
#include "reactor/logging.hpp"
#include "reactor/qemu_responsive.hpp"

#include <boost/json.hpp>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;

awaitable<result<json::value>> guest::attach_memory(const job_lease&, unsigned cell, std::uint64_t bytes) {
  if (!process_ || !qmp_) co_return not_running();
  if (auto answering = co_await check_responding(*this, "attach-memory"); !answering) co_return answering.error();
  if (!process_ || !qmp_) co_return not_running();
  auto plan = plan_attach_memory(name(), running_, placement(), cell, bytes);
  if (!plan) co_return plan.error();
  config::memory_device_def m = std::move(plan->dimm);
  const unsigned node = plan->host_node;
  const std::string dimm = *m.alias;

  // The same backend a boot-time dimm of this guest gets (huge pages, memfd,
  // share, prealloc, binding to the cell's node).
  qemu::host_facts facts = qemu::host_facts_for(ctx_.host);
  facts.state_dir = ctx_.store.guest_dir(name()).string();
  auto built = qemu::build_dimm_hotplug(running_, facts, m);
  if (!built) co_return built.error();
  const std::uint64_t page = built->hugepage_bytes;
  if (page) m.source_pagesize_bytes = page;
  if (auto held = ctx_.ledger.add_memory(name(), node, bytes, page, ctx_.cfg.overcommit); !held) co_return held.error();

  // Commands built before co_await: GCC 12 mishandles string-literal
  // temporaries inside a co_await expression.
  qmp::qmp_command add_backend = qmp::object_add(std::move(built->object_add));
  qmp::qmp_command add_device = qmp::device_add(std::move(built->device_add));
  qmp::qmp_command del_backend = qmp::object_del(qemu::dimm_backend_id(dimm));
  const same_run run{*this};
  auto object = co_await qmp_->execute(std::move(add_backend), timeouts_.memory);
  if (run.lost()) co_return run.died("attach-memory");  // the ledger entry went with it
  if (!object) {
    (void)ctx_.ledger.remove_memory(name(), node, bytes, page);
    co_return object.error();
  }
  auto device = co_await qmp_->execute(std::move(add_device), timeouts_.memory);
  if (run.lost()) co_return run.died("attach-memory");
  if (!device) {
    (void)co_await qmp_->execute(std::move(del_backend), timeouts_.command);
    if (run.lost()) co_return run.died("attach-memory");
    (void)ctx_.ledger.remove_memory(name(), node, bytes, page);
    co_return device.error();
  }
  running_.devices.memory_devices.push_back(m);
  log_with(log_level::info, {.guest = name(), .cell = cell},
           "attached " + config::format_size(bytes) + " as " + dimm + " on cell " + std::to_string(cell) +
               " (host node " + std::to_string(node) + ")");
  if (auto saved = save_record_after("attach-memory of " + dimm); !saved) co_return saved.error();
  co_return json::value(json::object{{"dimm", dimm}, {"cell", cell}, {"host_node", node}, {"size_bytes", bytes}});
}

awaitable<result<json::value>> guest::detach_memory(const job_lease&, const std::string& dimm_id,
                                                    std::chrono::milliseconds timeout) {
  if (!process_ || !qmp_) co_return not_running();
  if (auto answering = co_await check_responding(*this, "detach-memory"); !answering) co_return answering.error();
  if (!process_ || !qmp_) co_return not_running();
  if (auto plan = plan_detach_memory(name(), running_, dimm_id); !plan) co_return plan.error();
  const same_run run{*this};
  const std::set<std::string> wanted{dimm_id};
  removals_.expect(dimm_id);
  auto deleting = co_await qmp_->execute(qmp::device_del(dimm_id), timeouts_.command);
  if (run.lost()) co_return run.died("detach-memory");
  if (!deleting) {
    (void)co_await removals_.wait(wanted, std::chrono::milliseconds(0));  // no longer expected
    co_return explain_unanswered(*this, "detach-memory (device_del of " + dimm_id + ")", deleting.error());
  }
  // The one removal path takes the dimm out of the domain and the ledger as
  // its DEVICE_DELETED comes, now or later.
  auto deleted = co_await removals_.wait(wanted, timeout);
  if (run.lost()) co_return run.died("detach-memory");
  if (!deleted.contains(dimm_id))
    co_return make_error(errc::unplug_refused, "guest '" + name() + "' did not release " + dimm_id + " within " +
                                                          std::to_string(timeout.count()) +
                                                          " ms (it stays attached until the guest lets it go)");
  qmp::qmp_command del_backend = qmp::object_del(qemu::dimm_backend_id(dimm_id));
  if (auto gone = co_await qmp_->execute(std::move(del_backend), timeouts_.command); !gone && !run.lost())
    log_error("detach-memory: " + gone.error().message);
  if (run.lost()) co_return run.died("detach-memory");
  if (auto saved = save_record_after("detach-memory of " + dimm_id); !saved) co_return saved.error();
  co_return json::value(json::object{{"detached", dimm_id}});
}

}  // namespace vnumad::reactor
