// vnumactl argv: the QEMU command line vnumad would run for a domain.
#include "cli/commands.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "qemu/argv.hpp"
#include "qemu/host_facts.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/place.hpp"

#include <ostream>

namespace vnumad::cli {

namespace {
constexpr std::string_view usage =
    "vnumactl argv [--topology FILE] [--config FILE] [--reserved-cpus SET] [--reserved-memory SPEC] [--allow-overcommit] [--qmp PATH] DOMAIN.xml";
constexpr std::string_view description =
    "Prints the QEMU command line for DOMAIN.xml, one argument per line, exactly as vnumad\n"
    "would exec it (never through a shell). A domain with <vnuma> is expanded first; a\n"
    "hand-written libvirt-style domain (with <cpu><numa>) is used as it is. Host facts (which\n"
    "NUMA nodes exist, hugetlbfs mounts) come from --topology or this host.\n"
    "vCPUs that are online but hotpluggable are not in -smp: vnumad adds them with QMP\n"
    "device_add while QEMU is paused; they are listed on stderr.\n";
constexpr std::string_view examples =
    "Examples:\n"
    "  vnumactl argv /etc/vnumad/domains.d/web.xml\n"
    "  vnumactl argv --topology seed-e7-8895v2-4s.xml seed-vnuma-host.xml | grep -- -numa\n"
    "  vnumactl argv --qmp /tmp/web.qmp web.xml | xargs -d '\\n' echo\n";
}  // namespace

int cmd_argv(const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  add_planning_options(options);
  options.add_options()
      ("allow-overcommit", po::bool_switch(), "allow more vCPUs or memory than a node has free")
      ("qmp", po::value<std::string>()->value_name("PATH"), "QMP socket path to put in the argv (default: /run/vnumad/NAME/qemu/qmp.sock)");
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

  vnuma::ledger empty(*host, planning->reserved_memory);
  auto placed = vnuma::place(*domain, *host, empty,
                             {.allow_overcommit = vm["allow-overcommit"].as<bool>(), .reserved_cpus = *reserved});
  if (!placed) return report(io, placed.error());
  for (const auto& warning : placed->place.warnings) io.err << "vnumactl: warning: " << warning << "\n";

  qemu::host_facts facts = qemu::host_facts_for(*host);
  facts.state_dir = "/run/vnumad/" + domain->name + "/qemu";  // QEMU's own folder (state_store.hpp)
  facts.qmp_socket_path = vm.count("qmp") ? vm["qmp"].as<std::string>() : facts.state_dir + "/qmp.sock";
  if (domain->devices.emulator) facts.qemu_binary = *domain->devices.emulator;

  auto argv = qemu::build_argv(placed->domain, facts);
  if (!argv) return report(io, argv.error());
  for (const auto& arg : *argv) io.out << arg << "\n";
  auto hotplug = qemu::vcpus_to_hotplug(placed->domain);
  if (!hotplug) return report(io, hotplug.error());
  if (!hotplug->empty()) {
    io.err << "vnumactl: then QMP device_add while paused, in this order:";
    for (const auto& v : *hotplug) io.err << " vcpu" << v.id;
    io.err << "\n";
  }
  return exit_ok;
}

}  // namespace vnumad::cli
