#include "cli/cli_common.hpp"

#include "config/domain_xml.hpp"
#include "vnuma/topology_loader.hpp"

#include <algorithm>
#include <filesystem>
#include <ostream>
#include <system_error>

namespace vnumad::cli {

int exit_code_for(const error& e) {
  switch (e.code) {
    case errc::io_error:
    case errc::qmp_error:
    case errc::no_free_slot:
    case errc::protocol_error:
    case errc::timeout:
    case errc::unplug_refused:
    case errc::process_failed:
    case errc::permission_denied:
    case errc::cancelled:
    case errc::not_responding:
    case errc::busy:
      return exit_failure;
    default:
      return exit_invalid;
  }
}

int report(const cli_io& io, const error& e) {
  io.err << "vnumactl: " << e.message << "\n";
  return exit_code_for(e);
}

std::string format_options(const po::options_description& options) {
  std::vector<std::pair<std::string, std::string>> rows;
  std::size_t width = 0;
  for (const auto& o : options.options()) {
    // format_name() is "-c [ --connect ]" or "--json".
    const std::string name = o->format_name();
    const bool has_short = name.size() > 1 && name[0] == '-' && name[1] != '-';
    std::string left = "  " + (has_short ? name.substr(0, 2) + ", " : std::string()) + "--" + o->long_name();
    if (o->semantic()->max_tokens() > 0) left += " " + o->semantic()->name();
    width = std::max(width, left.size());
    rows.emplace_back(std::move(left), o->description());
  }
  std::string out;
  for (const auto& [left, text] : rows) out += left + std::string(width + 3 - left.size(), ' ') + text + "\n";
  return out;
}

std::optional<parsed_args> parse_args(const std::vector<std::string>& args, const po::options_description& options,
                                      const std::vector<positional_arg>& positionals, const command_help& help,
                                      const cli_io& io, int& exit) {
  // --help and the positional words are parsed as options but not listed.
  po::options_description hidden;
  hidden.add_options()("help,h", "");
  po::positional_options_description positional;
  for (const auto& p : positionals) {
    if (p.many)
      hidden.add_options()(p.key.c_str(), po::value<std::vector<std::string>>()->multitoken(), "");
    else
      hidden.add_options()(p.key.c_str(), po::value<std::string>(), "");
    positional.add(p.key.c_str(), p.many ? -1 : 1);
  }
  po::options_description all;
  all.add(options).add(hidden);
  auto usage_error = [&](const std::string& what) {
    io.err << "vnumactl: " << what << "\nUsage: " << help.usage << "\n(see --help)\n";
    exit = exit_invalid;
    return std::nullopt;
  };
  parsed_args parsed;
  try {
    po::store(po::command_line_parser(args).options(all).positional(positional).run(), parsed.vm);
    if (parsed.vm.count("help")) {
      io.out << "Usage: " << help.usage << "\n\n" << help.description;
      if (!options.options().empty()) io.out << "\nOptions:\n" << format_options(options);
      if (!help.examples.empty()) io.out << "\n" << help.examples;
      exit = exit_ok;
      return std::nullopt;
    }
    po::notify(parsed.vm);
  } catch (const po::error& e) {
    return usage_error(e.what());
  }
  for (const auto& p : positionals)
    if (p.required && !parsed.vm.count(p.key)) return usage_error("missing " + p.value_name);
  return parsed;
}

result<void> require_input_file(const std::string& path, std::string_view what) {
  std::error_code ec;
  if (std::filesystem::exists(path, ec) || ec) return {};  // unreadable: the loader says why
  return make_error(errc::not_found, std::string(what) + " " + path + ": no such file");
}

result<vnuma::host_topology> load_host(const std::optional<std::string>& topology_file) {
  if (topology_file) {
    if (auto ok = require_input_file(*topology_file, "topology file"); !ok) return ok.error();
    return vnuma::load_topology_xml(*topology_file);
  }
  return vnuma::load_live_topology();
}

result<config::domain> load_domain(const std::string& file) {
  if (auto ok = require_input_file(file, "domain file"); !ok) return ok.error();
  return config::parse_domain_file(file);  // validates too
}

void add_planning_options(po::options_description& options) {
  options.add_options()
      ("topology", po::value<std::string>()->value_name("FILE"), "hwloc XML export of the host (default: this host)")
      ("config", po::value<std::string>()->value_name("FILE"), "vnumad.conf for reserved_cpus, reserved_memory, state_dir, strict "
                                           "(default: /etc/vnumad/vnumad.conf if it exists)")
      ("reserved-cpus", po::value<std::string>()->value_name("SET")->default_value("auto"), "auto | none | cpuset (default: the config's)")
      ("reserved-memory", po::value<std::string>()->value_name("SPEC"), "memory per node kept from guests: 1GiB, '512MiB 0=2GiB' "
                                                    "(default: the config's reserved_memory, 1GiB)");
}

result<config::daemon_config> load_planning_config(const po::variables_map& vm) {
  if (vm.count("config")) {
    const std::string file = vm["config"].as<std::string>();
    if (auto ok = require_input_file(file, "config file"); !ok) return ok.error();
    return config::load_daemon_config(file);
  }
  std::error_code ec;
  if (std::filesystem::exists(default_config_file, ec)) return config::load_daemon_config(default_config_file);
  return config::daemon_config{};
}

result<planning_host> load_planning_host(const po::variables_map& vm) {
  auto cfg = load_planning_config(vm);
  if (!cfg) return cfg.error();
  auto host = load_host(vm.count("topology") ? std::optional(vm["topology"].as<std::string>()) : std::nullopt);
  if (!host) return host.error();
  const auto& cpus = vm["reserved-cpus"];
  auto setting = vnuma::parse_reserved_cpus(cpus.defaulted() ? cfg->reserved_cpus : cpus.as<std::string>());
  if (!setting) return setting.error();
  auto reserved = vnuma::resolve_reserved_cpus(*host, *setting);
  if (!reserved) return reserved.error();
  if (vm.count("reserved-memory")) {
    auto memory = config::parse_reserved_memory(vm["reserved-memory"].as<std::string>(), "--reserved-memory");
    if (!memory) return memory.error();
    cfg->reserved_memory = *memory;
  }
  auto reserved_memory = vnuma::resolve_reserved_memory(*host, cfg->reserved_memory);
  if (!reserved_memory) return reserved_memory.error();
  return planning_host{std::move(*host), std::move(*reserved), std::move(*reserved_memory), std::move(*cfg)};
}

}  // namespace vnumad::cli
