#include "reactor/live_ops.hpp"

#include "cgroup/affinity.hpp"
#include "cgroup/proc.hpp"
#include "config/units.hpp"
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

}  // namespace vnumad::reactor
