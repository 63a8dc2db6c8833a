// vnumactl expand: the <vnuma> element turned into the libvirt elements it
// stands for, printed as domain XML.
#include "cli/commands.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/partition.hpp"

#include <ostream>

namespace vnumad::cli {

namespace {
constexpr std::string_view usage =
    "vnumactl expand [--topology FILE] [--config FILE] [--reserved-cpus SET] [--reserved-memory SPEC] [--allow-overcommit] DOMAIN.xml";
constexpr std::string_view description =
    "Prints DOMAIN.xml with its <vnuma> element expanded into what libvirt would need written\n"
    "by hand: <cpu><topology> and <numa> cells with distances, <vcpus>, one <vcpupin> per vCPU,\n"
    "<emulatorpin>, strict <memnode>s, locked memory and no balloon. Nothing is started.\n";
constexpr std::string_view examples =
    "Examples:\n"
    "  vnumactl expand /etc/vnumad/domains.d/web.xml\n"
    "      expand for this host (hwloc discovery)\n"
    "  vnumactl expand --topology big-host.xml web.xml\n"
    "      plan for another host: make big-host.xml there with `lstopo big-host.xml`\n"
    "  vnumactl expand --reserved-cpus 0,60 --topology seed.xml siblings.xml\n"
    "      keep host threads 0 and 60 out of dedicated (siblings) pinning\n"
    "  vnumactl expand --allow-overcommit --topology small.xml big-guest.xml\n"
    "      place even when vCPUs or memory exceed a node (warnings on stderr)\n\n"
    "Parts of DOMAIN.xml that vnumad does not act on are named on stderr (warning: ...);\n"
    "with strict = true in the config they are an error, as the daemon refuses the domain.\n\n"
    "Exit status: 0 expanded, 1 runtime failure, 2 invalid domain or it does not fit.\n";
}  // namespace

int cmd_expand(const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  add_planning_options(options);
  options.add_options()
      ("allow-overcommit", po::bool_switch(), "allow more vCPUs or memory than a node has free");
  int exit = exit_ok;
  auto parsed =
      parse_args(args, options, {{"domain", "DOMAIN.xml"}}, {std::string(usage), std::string(description), std::string(examples)}, io, exit);
  if (!parsed) return exit;
  const auto& vm = parsed->vm;

  auto domain = load_domain(vm["domain"].as<std::string>());
  if (!domain) return report(io, domain.error());
  auto planning = load_planning_host(vm);
  if (!planning) return report(io, planning.error());
  if (auto strict = config::check_strict(*domain, planning->cfg.strict); !strict) return report(io, strict.error());
  for (const auto& note : config::load_notes(*domain)) io.err << "vnumactl: warning: " << note << "\n";
  const vnuma::host_topology* host = &planning->host;
  const config::id_set* reserved = &planning->reserved;

  if (!domain->vnuma) {
    io.err << "vnumactl: note: " << domain->source_file << " has no <vnuma> element; printed as it is\n";
    io.out << config::write_domain_xml(*domain);
    return exit_ok;
  }
  vnuma::ledger empty(*host, planning->reserved_memory);
  vnuma::expand_options opts{.allow_overcommit = vm["allow-overcommit"].as<bool>(), .reserved_cpus = *reserved};
  auto expanded = vnuma::expand(*domain, *host, empty, opts);
  if (!expanded) return report(io, expanded.error());
  for (const auto& warning : expanded->place.warnings) io.err << "vnumactl: warning: " << warning << "\n";
  io.out << config::write_domain_xml(expanded->domain);
  return exit_ok;
}

}  // namespace vnumad::cli
