#include "reactor/events.hpp"

#include <cstdio>
#include <ctime>

namespace vnumad::reactor {

namespace json = boost::json;

std::string rfc3339_micro(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto us = duration_cast<microseconds>(t.time_since_epoch()).count();
  std::time_t seconds = static_cast<std::time_t>(us / 1'000'000);
  long micros = static_cast<long>(us % 1'000'000);
  if (micros < 0) {  // before 1970: the fraction counts up from the second below
    micros += 1'000'000;
    --seconds;
  }
  std::tm utc{};
  ::gmtime_r(&seconds, &utc);
  char text[64];  // room for any int the fields could hold (-Wformat-truncation)
  std::snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", utc.tm_year + 1900, utc.tm_mon + 1,
                utc.tm_mday, utc.tm_hour, utc.tm_min, utc.tm_sec, micros);
  return text;
}

json::object guest_event(std::string_view kind, std::string_view guest, std::string_view reason, json::object detail) {
  json::object e{{"event", kind}, {"guest", guest}};
  if (!reason.empty()) e["reason"] = reason;
  for (auto& kv : detail) e[kv.key()] = std::move(kv.value());
  return e;
}

json::object qmp_guest_event(std::string_view guest, const qmp::qmp_event& ev) {
  struct known {
    std::string_view qmp, kind, reason_key;
  };
  static constexpr known table[] = {{"SHUTDOWN", "shutdown", "reason"},     {"STOP", "suspended", ""},
                                    {"RESUME", "resumed", ""},              {"RESET", "reset", "reason"},
                                    {"DEVICE_DELETED", "device_deleted", ""}, {"GUEST_PANICKED", "panicked", "action"}};
  for (const auto& k : table) {
    if (k.qmp != ev.name) continue;
    json::object detail = ev.data;
    std::string reason;
    if (const json::value* r = k.reason_key.empty() ? nullptr : ev.data.if_contains(k.reason_key); r && r->is_string()) {
      reason = std::string(r->get_string());
      detail.erase(k.reason_key);
    }
    // QEMU's "guest" (did the guest ask?) must not replace the guest's name.
    if (const json::value* by_guest = detail.if_contains("guest")) {
      detail["by_guest"] = *by_guest;
      detail.erase("guest");
    }
    detail["qmp"] = ev.name;
    return guest_event(k.kind, guest, reason, std::move(detail));
  }
  return guest_event("qmp", guest, {}, json::object{{"qmp", ev.name}, {"data", ev.data}});
}

json::object hotplug_event(std::string_view op, std::string_view guest, const json::value& result,
                           std::string_view reason) {
  std::string_view kind = op == "setvcpus" ? "vcpus_changed" : op == "attach-memory" ? "memory_attached" : "memory_detached";
  return guest_event(kind, guest, reason, result.is_object() ? result.get_object() : json::object{});
}

void publish_hotplug(const std::function<void(json::object)>& publish, std::string_view op, std::string_view guest,
                     const result<json::value>& done, std::string_view reason) {
  if (done && publish) publish(hotplug_event(op, guest, *done, reason));
}

}  // namespace vnumad::reactor
