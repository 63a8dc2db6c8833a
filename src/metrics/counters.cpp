#include "metrics/counters.hpp"

namespace vnumad::metrics {

namespace {

std::string_view string_of(const boost::json::object& o, std::string_view key) {
  const boost::json::value* v = o.if_contains(key);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

}  // namespace

void counters::count_request(std::string_view verb, std::string_view code) {
  ++requests_[{std::string(verb), std::string(code)}];
}

void counters::observe(const boost::json::object& event) {
  const std::string_view kind = string_of(event, "event");
  const std::string_view guest = string_of(event, "guest");
  if (guest.empty()) return;
  if (kind == "undefined") {
    if (auto it = has_run_.find(guest); it != has_run_.end()) has_run_.erase(it);
    if (auto it = restarts_.find(guest); it != restarts_.end()) restarts_.erase(it);
    return;
  }
  if (kind != "state") return;
  const std::string_view state = string_of(event, "state");
  if (state == "running" || state == "paused" || state == "in shutdown") {
    if (!has_run_.contains(guest)) has_run_.emplace(guest);
  } else if (state == "starting" && has_run_.contains(guest)) {
    ++restarts_[std::string(guest)];
  }
}

std::uint64_t counters::restarts(std::string_view guest) const {
  auto it = restarts_.find(guest);
  return it == restarts_.end() ? 0 : it->second;
}

}  // namespace vnumad::metrics
