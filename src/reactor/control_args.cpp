#include "reactor/control_args.hpp"

#include <boost/json/serialize.hpp>

#include <array>
#include <limits>
#include <string>

namespace vnumad::reactor {

namespace json = boost::json;

namespace {

using k = arg_kind;

constexpr arg_spec name_only[] = {{"name", k::string}};
constexpr arg_spec shutdown_args[] = {{"name", k::string}, {"timeout", k::seconds}};
constexpr arg_spec vcpupin_args[] = {{"name", k::string}, {"vcpu", k::count}, {"cpuset", k::string}};
constexpr arg_spec setvcpus_args[] = {{"name", k::string}, {"count", k::count}, {"timeout_ms", k::milliseconds}};
constexpr arg_spec attach_args[] = {{"name", k::string}, {"cell", k::count}, {"size", k::string}};
constexpr arg_spec detach_args[] = {{"name", k::string}, {"dimm", k::string}, {"timeout_ms", k::milliseconds}};
constexpr arg_spec console_args[] = {{"name", k::string}, {"force", k::boolean}};

struct verb {
  std::string_view op;
  std::span<const arg_spec> args;
};

constexpr std::array<verb, 20> verbs{{
    {"list", {}},
    {"capabilities", {}},
    {"reload", {}},
    {"events", {}},
    {"dominfo", name_only},
    {"domxml", name_only},
    {"vcpuinfo", name_only},
    {"numastat", name_only},
    {"start", name_only},
    {"destroy", name_only},
    {"suspend", name_only},
    {"resume", name_only},
    {"reboot", name_only},
    {"shutdown", shutdown_args},
    {"restart", shutdown_args},
    {"vcpupin", vcpupin_args},
    {"setvcpus", setvcpus_args},
    {"attach-memory", attach_args},
    {"detach-memory", detach_args},
    {"console", console_args},
}};

std::string valid_keys(std::span<const arg_spec> args) {
  if (args.empty()) return "none";
  std::string out;
  for (const auto& a : args) out += (out.empty() ? "" : ", ") + std::string(a.key);
  return out;
}

std::string_view unit(arg_kind kind) {
  switch (kind) {
    case k::seconds: return "seconds";
    case k::milliseconds: return "ms";
    default: return "";
  }
}

}  // namespace

std::uint64_t arg_max(arg_kind kind) {
  switch (kind) {
    case k::count: return std::numeric_limits<unsigned>::max();
    case k::seconds: return 86'400;
    case k::milliseconds: return 86'400'000;
    case k::string:
    case k::boolean: break;
  }
  return 0;
}

std::optional<std::span<const arg_spec>> verb_args(std::string_view op) {
  for (const auto& v : verbs)
    if (v.op == op) return v.args;
  return std::nullopt;
}

result<void> check_verb_args(const control_request& request) {
  auto args = verb_args(request.op);
  if (!args) return {};
  for (const auto& kv : request.args) {
    const arg_spec* spec = nullptr;
    for (const auto& a : *args)
      if (a.key == kv.key()) spec = &a;
    const std::string key(kv.key());
    if (!spec)
      return make_error(errc::invalid_value, request.op + ": unknown argument \"" + key +
                                                 "\" (valid: " + valid_keys(*args) + ")");
    if (spec->kind == k::string) {
      if (auto s = arg_string(request.args, key); !s) return s.error();
      continue;
    }
    if (spec->kind == k::boolean) {
      if (!kv.value().is_bool())
        return make_error(errc::invalid_value, "args." + key + ": expected true or false, got " + json::serialize(kv.value()));
      continue;
    }
    if (auto n = arg_uint(request.args, key, arg_max(spec->kind), unit(spec->kind)); !n) return n.error();
  }
  return {};
}

}  // namespace vnumad::reactor
