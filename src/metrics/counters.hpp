// What the daemon counts for its metrics as things happen: control requests
// by verb and outcome, and guest restarts seen in its own events. Pure
// bookkeeping: the daemon feeds it, a scrape reads it.
#pragma once

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

namespace vnumad::metrics {

class counters {
 public:
  // One answered control request: `verb` as the dispatcher knows it (an
  // unknown op is counted as "unknown", so clients cannot grow the map),
  // `code` "ok" or the error code's name.
  void count_request(std::string_view verb, std::string_view code);
  // (verb, code) -> requests.
  const std::map<std::pair<std::string, std::string>, std::uint64_t>& requests() const { return requests_; }

  // A daemon event ({"event": "state", "guest", "state"}, {"event":
  // "undefined", "guest"}, ...). A guest that goes "starting" after it has
  // been up (running, paused, in shutdown) in this daemon's life restarts: after a crash, a reboot
  // or power-off its policy restarts, or an operator's restart or start. A
  // guest that is undefined is forgotten.
  void observe(const boost::json::object& event);
  std::uint64_t restarts(std::string_view guest) const;

 private:
  std::map<std::pair<std::string, std::string>, std::uint64_t> requests_;
  std::set<std::string, std::less<>> has_run_;
  std::map<std::string, std::uint64_t, std::less<>> restarts_;
};

}  // namespace vnumad::metrics
