// vnumactl capabilities: the host as numactl -H shows it, plus SMT cores,
// reserved CPUs and the PCI devices of each node.
#include "cli/commands.hpp"

#include "vnuma/capabilities_report.hpp"

#include <boost/json/serialize.hpp>

#include <ostream>

namespace vnumad::cli {

namespace {
constexpr std::string_view usage = "vnumactl capabilities [--topology FILE] [--reserved-cpus SET] [--json]";
constexpr std::string_view description =
    "Shows NUMA nodes with their CPUs, SMT sibling groups, memory, free memory, huge pages,\n"
    "the distance matrix, the CPUs reserved from dedicated pinning, and the PCI devices\n"
    "attached to each node (so you can see where a NIC lives before placing a guest).\n";
constexpr std::string_view examples =
    "Examples:\n"
    "  vnumactl capabilities\n"
    "  vnumactl capabilities --json | jq '.nodes[] | {id, cpus}'\n"
    "  vnumactl capabilities --topology seed-e7-8895v2-4s.xml --reserved-cpus none\n";
}  // namespace

int cmd_capabilities(const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  options.add_options()
      ("topology", po::value<std::string>()->value_name("FILE"), "hwloc XML export of a host (default: this host)")
      ("reserved-cpus", po::value<std::string>()->value_name("SET")->default_value("auto"), "auto | none | cpuset")
      ("json", po::bool_switch(), "print JSON instead of text");
  int exit = exit_ok;
  auto parsed =
      parse_args(args, options, {}, {std::string(usage), std::string(description), std::string(examples)}, io, exit);
  if (!parsed) return exit;
  const auto& vm = parsed->vm;

  auto planning = load_planning_host(vm);
  if (!planning) return report(io, planning.error());
  const vnuma::host_topology* host = &planning->host;
  const config::id_set* reserved = &planning->reserved;
  if (vm["json"].as<bool>())
    io.out << boost::json::serialize(vnuma::capabilities_json(*host, *reserved)) << "\n";
  else
    io.out << vnuma::render_capabilities_text(*host, *reserved);
  return exit_ok;
}

}  // namespace vnumad::cli
