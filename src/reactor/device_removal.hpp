// The bookkeeping of the one removal path (guest::on_device_deleted): a
// DEVICE_DELETED taken out of the running domain (live_plan.hpp's
// apply_device_removal) and, for a dimm, out of the ledger. Apart from the
// guest so that it can be tested with a fake event and a real ledger.
#pragma once

#include "reactor/live_plan.hpp"
#include "vnuma/ledger.hpp"

#include <optional>
#include <string>
#include <string_view>

namespace vnumad::reactor {

struct removal_outcome {
  device_removal removal;
  std::optional<error> ledger_failure;  // the dimm's memory could not be released
};

// nullopt when `device_id` is no device of `running` (unknown, or removed already).
std::optional<removal_outcome> remove_device(const std::string& guest, config::domain& running,
                                             vnuma::ledger& ledger, std::string_view device_id);

}  // namespace vnumad::reactor
