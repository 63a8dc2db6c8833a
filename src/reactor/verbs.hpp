// The control verbs, in one table (verbs.cpp): per verb its name, who may use
// it (read-only or read-write socket), its arguments, the daemon's handler and
// its help text. Dispatch (control_ops.cpp), the read-only socket's filter,
// vnumactl's commands and --help (cli/cmd_daemon.cpp) come from it; the bash
// completion and docs/control-protocol.md are checked against it
// (tests/reactor/verbs_test.cpp).
//
// Arguments are checked before a verb runs: an unknown key (a typo such as
// "cout"), a missing required one, or a number outside what the daemon stores
// (vcpu 4294967297 would wrap to 1) is an error naming the key, the value and
// what is valid, and nothing happens.
#pragma once

#include "reactor/byte_stream.hpp"
#include "reactor/control_protocol.hpp"

#include <boost/asio/awaitable.hpp>
#include <boost/json/value.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace vnumad::reactor {

enum class arg_kind { string, count, seconds, milliseconds, boolean };

struct arg_spec {
  std::string_view key;
  arg_kind kind;
  bool required;
  std::string_view value_name;  // how usage and --help show the value: NAME, COUNT, MS
  // vnumactl takes it as the next positional word, as --option VALUE, or
  // either way (events NAME, events --domain NAME).
  bool positional;
  std::string_view option;  // without the dashes; empty: positional only
  std::string_view help;
};

// What a handler is given: the request (its arguments already checked against
// the verb's row), the caller's access, and for a verb whose reply is followed
// by events the means to subscribe the connection.
struct verb_call {
  const control_request& request;
  access_level access;
  // Subscribes this connection to events: every event, or only those of the
  // guest named.
  std::function<void(std::optional<std::string> guest)> subscribe;

  // Argument values; the check has made them present (when required), of
  // their kind and in range.
  std::string text(std::string_view key) const;
  std::optional<std::uint64_t> number(std::string_view key) const;
};

// The daemon's side of every verb (implemented by control_ops.cpp). Pure
// virtual, so that the table below can name each handler without linking the
// daemon into vnumactl, and a verb without a handler does not compile.
class verb_handlers {
 public:
  using reply = boost::asio::awaitable<result<boost::json::value>>;
  // A stream verb's: after the OK reply the connection is a byte stream.
  using stream = boost::asio::awaitable<result<byte_stream>>;
  virtual ~verb_handlers() = default;
  virtual reply list(const verb_call& call) = 0;
  virtual reply dominfo(const verb_call& call) = 0;
  virtual reply domxml(const verb_call& call) = 0;
  virtual reply vcpuinfo(const verb_call& call) = 0;
  virtual reply numastat(const verb_call& call) = 0;
  virtual reply capabilities(const verb_call& call) = 0;
  virtual reply events(const verb_call& call) = 0;
  virtual reply vcpupin(const verb_call& call) = 0;
  virtual reply setvcpus(const verb_call& call) = 0;
  virtual reply attach_memory(const verb_call& call) = 0;
  virtual reply detach_memory(const verb_call& call) = 0;
  virtual reply start(const verb_call& call) = 0;
  virtual reply shutdown(const verb_call& call) = 0;
  virtual reply destroy(const verb_call& call) = 0;
  virtual reply suspend(const verb_call& call) = 0;
  virtual reply resume(const verb_call& call) = 0;
  virtual reply reboot(const verb_call& call) = 0;
  virtual reply restart(const verb_call& call) = 0;
  virtual reply reload(const verb_call& call) = 0;
  virtual reply host_shutdown(const verb_call& call) = 0;
  virtual stream console(const verb_call& call) = 0;
};

using verb_handler = verb_handlers::reply (verb_handlers::*)(const verb_call&);
using verb_stream_handler = verb_handlers::stream (verb_handlers::*)(const verb_call&);

struct verb {
  std::string_view name;
  access_level access;  // read_only: served on the read-only socket too
  std::span<const arg_spec> args;
  verb_handler handler;  // null for a stream verb (opens_stream)
  std::string_view summary;  // one line: vnumactl --help, the protocol doc
  std::string_view help;     // vnumactl VERB --help: what it does, then examples
  // vnumactl has a command of this name that asks the daemon; false where
  // vnumactl's command of that name works offline (capabilities).
  bool in_vnumactl = true;
  // After its reply the connection carries event lines (events).
  bool streams_events = false;
  // After its reply the connection is a raw byte stream (console); served by
  // the control server's stream hook instead of `handler`.
  verb_stream_handler opens_stream = nullptr;
};

// Every verb, in the order vnumactl --help lists them.
std::span<const verb> verbs();
const verb* find_verb(std::string_view name);
// "list, dominfo, ...": for the error naming an unknown verb.
std::string verb_names();

// The largest value of a kind: count is an unsigned (vCPU id, vCPU count,
// cell); timeouts are at most a day; 0 for string and boolean.
std::uint64_t arg_max(arg_kind kind);
// "seconds", "ms" or empty: what a number of that kind counts.
std::string_view arg_unit(arg_kind kind);

// The arguments of `op`, or nullopt for an op the table does not know (the
// dispatcher reports those).
std::optional<std::span<const arg_spec>> verb_args(std::string_view op);

// Every key of request.args is one of the verb's and of its kind and range,
// and every required one is there. An unknown op passes (the dispatcher says
// "unknown op").
result<void> check_verb_args(const control_request& request);

}  // namespace vnumad::reactor
