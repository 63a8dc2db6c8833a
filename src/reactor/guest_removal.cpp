// The one removal path (libvirt's qemuDomainRemoveDevice): every
// DEVICE_DELETED of a vCPU or dimm, whether an operation waits for it or it
// comes late (the guest released the device after setvcpus or detach-memory
// gave up waiting), is applied here: the running domain, the vCPU threads,
// the ledger and the record. A dimm's memory backend is deleted by the
// operation that waited for it, or here when nobody did.
#include "reactor/guest.hpp"

#include "config/units.hpp"
#include "qemu/memory_hotplug.hpp"
#include "qmp/qmp_commands.hpp"
#include "reactor/device_removal.hpp"
#include "reactor/logging.hpp"
#include "reactor/spawn_logged.hpp"

namespace vnumad::reactor {

using boost::asio::awaitable;

void guest::on_device_deleted(const std::string& device_id) {
  if (!process_) return;
  const bool awaited = removals_.deleted(device_id);
  auto outcome = remove_device(name(), running_, ctx_.ledger, device_id);
  if (!outcome) return;  // not one of ours, or applied already
  const device_removal* removal = &outcome->removal;
  if (removal->vcpu) vcpu_threads_.erase(*removal->vcpu);
  if (outcome->ledger_failure)
    log_error("releasing " + device_id + " from the ledger: " + outcome->ledger_failure->message);
  if (removal->dimm) {
    if (!awaited && qmp_) {
      const std::string backend = qemu::dimm_backend_id(device_id);
      spawn_logged(ctx_.io, "object-del " + backend + " of guest '" + name() + "'",
                   [self = shared_from_this(), backend, run = generation_]() -> awaitable<void> {
                     if (!self->qmp_ || self->generation_ != run) co_return;
                     if (auto deleted = co_await self->qmp_->execute(qmp::object_del(backend), self->timeouts_.command);
                         !deleted)
                       self->log_error("late removal: " + deleted.error().message);
                   });
    }
  }
  if (awaited) return;  // the waiting operation saves the record and reports
  log_info("QEMU removed " + device_id + " after its unplug wait ended" +
           (removal->dimm ? " (" + config::format_size(removal->dimm->target_size_bytes) + " released)" : ""));
  if (auto saved = save_record_after("the late removal of " + device_id); !saved) {
    log_failure(name(), "", saved.error());
    if (ctx_.publish)
      ctx_.publish(boost::json::object{{"event", "error"}, {"guest", name()}, {"message", saved.error().message}});
  }
}

}  // namespace vnumad::reactor
