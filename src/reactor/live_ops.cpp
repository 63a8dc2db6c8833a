#include "reactor/live_ops.hpp"

#include "cgroup/affinity.hpp"
#include "cgroup/proc.hpp"
#include "config/units.hpp"
#include "reactor/control_args.hpp"
#include "reactor/live_plan.hpp"

#include <boost/json.hpp>

#include <sstream>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::asio::awaitable;

std::string affinity_map(const config::id_set& cpus, unsigned host_cpu_count) {
  std::string map;
  for (unsigned cpu = 0; cpu < host_cpu_count; ++cpu) map += cpus.contains(cpu) ? 'y' : '-';
  return map;
}

result<json::value> vcpu_info(guest& g) {
  if (!g.is_active()) return g.not_running();
  const vnuma::placement* p = g.placement();
  unsigned host_cpus = g.context().host.all_cpus().empty() ? 1 : *g.context().host.all_cpus().rbegin() + 1;
  json::array vcpus;
  config::id_set online = online_vcpus(g.running_domain());
  for (unsigned v = 0; v < g.running_domain().vcpu.max; ++v) {
    json::object o{{"vcpu", v}, {"online", online.contains(v)}};
    if (p && v < p->vcpus.size()) o["cell"] = p->vcpus[v].cell;
    if (auto t = g.vcpu_threads().find(v); t != g.vcpu_threads().end()) {
      pid_t pid = g.pid().value_or(0);
      o["thread_id"] = t->second;
      if (auto affinity = cgroup::read_cpus_allowed_list(pid, t->second)) {
        o["affinity"] = config::format_id_set(*affinity);
        o["affinity_map"] = affinity_map(*affinity, host_cpus);
      }
      // Field 39 of /proc/PID/task/TID/stat: the CPU it last ran on.
      if (auto stat = cgroup::read_text_file("/proc/" + std::to_string(pid) + "/task/" + std::to_string(t->second) +
                                             "/stat")) {
        auto close = stat->rfind(')');
        std::istringstream fields(stat->substr(close + 2));
        std::string field;
        for (int i = 3; i <= 39 && fields >> field; ++i)
          if (i == 39) o["host_cpu"] = std::stoi(field);
      }
    }
    vcpus.push_back(std::move(o));
  }
  return json::value(json::object{{"name", g.name()}, {"host_cpus", host_cpus}, {"vcpus", std::move(vcpus)}});
}

awaitable<live_reply> handle_live_op(guest& g, const control_request& request) {
  const auto& op = request.op;
  const auto& args = request.args;
  live_reply out;
  out.handled = true;
  auto timeout_arg = [&]() -> result<std::chrono::milliseconds> {
    if (!args.contains("timeout_ms")) return g.timeouts().unplug;
    auto t = arg_uint(args, "timeout_ms", arg_max(arg_kind::milliseconds), "ms");
    if (!t) return t.error();
    return std::chrono::milliseconds(*t);
  };
  if (op == "vcpuinfo") {
    out.reply = vcpu_info(g);
  } else if (op == "setvcpus") {
    auto count = arg_uint(args, "count", arg_max(arg_kind::count));
    auto timeout = timeout_arg();
    if (!count) out.reply = count.error();
    else if (!timeout) out.reply = timeout.error();
    else {
      auto job = co_await g.begin_job(op);
      if (!job) out.reply = job.error();
      else out.reply = co_await g.set_vcpus(*job, static_cast<unsigned>(*count), *timeout);
    }
  } else if (op == "attach-memory") {
    auto cell = arg_uint(args, "cell", arg_max(arg_kind::count));
    auto size = arg_string(args, "size");
    result<std::uint64_t> bytes = size ? config::parse_size_with_unit(*size, "--size") : result<std::uint64_t>(size.error());
    if (!cell) out.reply = cell.error();
    else if (!bytes) out.reply = bytes.error();
    else {
      auto job = co_await g.begin_job(op);
      if (!job) out.reply = job.error();
      else out.reply = co_await g.attach_memory(*job, static_cast<unsigned>(*cell), *bytes);
    }
  } else if (op == "detach-memory") {
    auto dimm = arg_string(args, "dimm");
    auto timeout = timeout_arg();
    if (!dimm) out.reply = dimm.error();
    else if (!timeout) out.reply = timeout.error();
    else {
      auto job = co_await g.begin_job(op);
      if (!job) out.reply = job.error();
      else out.reply = co_await g.detach_memory(*job, *dimm, *timeout);
    }
  } else if (op == "vcpupin") {
    auto vcpu = arg_uint(args, "vcpu", arg_max(arg_kind::count));
    auto cpuset = arg_string(args, "cpuset");
    result<config::id_set> cpus = cpuset ? config::parse_id_set(*cpuset, "vcpupin cpuset") : result<config::id_set>(cpuset.error());
    if (!vcpu) out.reply = vcpu.error();
    else if (!cpus) out.reply = cpus.error();
    else {
      auto job = co_await g.begin_job(op);
      if (!job) out.reply = job.error();
      else out.reply = co_await g.pin_vcpu(*job, static_cast<unsigned>(*vcpu), *cpus);
    }
  } else {
    out.handled = false;
  }
  co_return out;
}

}  // namespace vnumad::reactor
