// The events of `vnumactl events` (docs/control-protocol.md, Events), built
// here and nowhere else: each is {"event": kind, "guest": name, "reason"?: why,
// ...}, and daemon::publish, the one way out to subscribers, stamps its
// "time". QEMU's events become named ones with QEMU's own reason.
#pragma once

#include "qmp/qmp_message.hpp"
#include "util/error.hpp"

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

namespace vnumad::reactor {

// "2026-12-02T02:19:26.123456Z": RFC 3339, UTC, microseconds.
std::string rfc3339_micro(std::chrono::system_clock::time_point t);

// An event of one guest; `reason` is left out when empty, `detail`'s keys
// are added.
boost::json::object guest_event(std::string_view kind, std::string_view guest, std::string_view reason = {},
                                boost::json::object detail = {});

// A QMP event of the guest: SHUTDOWN -> shutdown (reason: QEMU's, e.g.
// guest-shutdown), STOP -> suspended, RESUME -> resumed, RESET -> reset,
// DEVICE_DELETED -> device_deleted, GUEST_PANICKED -> panicked (reason: the
// action QEMU took); any other -> qmp with its name and data. Each carries the
// QMP event's name as "qmp".
boost::json::object qmp_guest_event(std::string_view guest, const qmp::qmp_event& event);

// What a live operation did, as an event: setvcpus -> vcpus_changed,
// attach-memory -> memory_attached, detach-memory -> memory_detached (the
// operation's result as detail), for `reason` (a request, a config edit).
boost::json::object hotplug_event(std::string_view op, std::string_view guest, const boost::json::value& result,
                                  std::string_view reason);
// The same, handed to `publish` when `done` succeeded (the verb's handler
// and a live config edit both report their hot-plugs this way).
void publish_hotplug(const std::function<void(boost::json::object)>& publish, std::string_view op,
                     std::string_view guest, const result<boost::json::value>& done, std::string_view reason);

}  // namespace vnumad::reactor
