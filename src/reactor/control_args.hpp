// The arguments each control verb takes (docs/control-protocol.md), checked
// before the verb runs: an unknown key (a typo such as "cout") or a number
// outside what the daemon stores (vcpu 4294967297 would wrap to 1) is an
// error naming the key, the value and what is valid, and nothing happens.
#pragma once

#include "reactor/control_protocol.hpp"

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace vnumad::reactor {

enum class arg_kind { string, count, seconds, milliseconds, boolean };

struct arg_spec {
  std::string_view key;
  arg_kind kind;
};

// The largest value of a kind: count is an unsigned (vCPU id, vCPU count,
// cell); timeouts are at most a day.
std::uint64_t arg_max(arg_kind kind);

// The arguments of `op`, or nullopt for an op this table does not know (the
// dispatcher reports those).
std::optional<std::span<const arg_spec>> verb_args(std::string_view op);

// Every key of request.args is one of the verb's and of its kind and range.
// Required arguments are the verb's own check ("missing argument").
result<void> check_verb_args(const control_request& request);

}  // namespace vnumad::reactor
