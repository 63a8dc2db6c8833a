// vnumactl plan: capacity planning. Places guests in order into one ledger, as
// the daemon would start them, and says where each lands or why it does not fit.
// The ledger counts capacity as the daemon does (vnuma/ledger.hpp): the
// nodes' memory minus vnumad.conf's reserved_memory minus what guests hold.
// Planning for this host, the guests vnumad runs are held first, from its
// state dir, as a restarted daemon re-attaches them: so plan, a fresh daemon
// and a restarted one agree.
#include "cli/commands.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "config/units.hpp"
#include "qemu/process.hpp"
#include "reactor/state_store.hpp"
#include "vnuma/ledger.hpp"
#include "vnuma/place.hpp"

#include <boost/json.hpp>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <ostream>

namespace vnumad::cli {

namespace json = boost::json;

namespace {
constexpr std::string_view usage =
    "vnumactl plan [--topology FILE] [--config FILE] [--reserved-cpus SET] [--reserved-memory SPEC]\n"
    "              [--state-dir DIR | --empty] [--allow-overcommit] [--json] A.xml B.xml ...";
constexpr std::string_view description =
    "Places the guests in the order given into one ledger, exactly as vnumad would when they\n"
    "start one after another, and prints per guest: cells -> host nodes, dedicated threads,\n"
    "memory per node, or why it does not fit (the nodes it needs, how many qualify and what\n"
    "the others lack); then what is left free per node. Each failure is printed once, in the\n"
    "report. With --json each guest also carries its placement decision time (decision_us).\n\n"
    "Capacity is counted as vnumad counts it: each node's memory minus reserved_memory\n"
    "(from vnumad.conf, or --reserved-memory) minus what guests hold; huge pages are the\n"
    "node's pool minus what guests hold. Without --topology, the guests vnumad runs on this\n"
    "host (its state dir) are held first, as a restarted vnumad re-attaches them; a file for\n"
    "a guest that runs shows where it runs. --empty plans for this host with nothing running.\n";
constexpr std::string_view examples =
    "Examples:\n"
    "  vnumactl plan /etc/vnumad/domains.d/*.xml\n"
    "  vnumactl plan --topology big-16n.xml db.xml web1.xml web2.xml\n"
    "  vnumactl plan --topology big-16n.xml --reserved-memory '2GiB 0=8GiB' db.xml\n"
    "  vnumactl plan --json --topology seed.xml *.xml | jq '.guests[] | {name, fits}'\n\n"
    "Exit status: 0 all fit, 1 runtime failure, 2 a guest is invalid or does not fit.\n";

struct guest_result {
  std::string file;
  std::string name;
  bool fits = false;
  bool running = false;  // held from the state dir: where it runs, not re-planned
  bool invalid = false;  // unreadable or invalid domain, as opposed to "does not fit"
  std::string error;
  double decision_us = 0;
  vnuma::placement place;
};

json::object to_json(const guest_result& g) {
  json::object o;
  o["file"] = g.file;
  o["name"] = g.name;
  o["fits"] = g.fits;
  o["running"] = g.running;
  o["decision_us"] = g.decision_us;
  if (!g.fits) {
    o["invalid"] = g.invalid;
    o["error"] = g.error;
    return o;
  }
  json::array cells;
  for (const auto& c : g.place.cells)
    cells.push_back(json::object{{"cell", c.cell},
                                 {"host_node", c.host_node},
                                 {"vcpus", config::format_id_set(c.vcpus)},
                                 {"memory_bytes", c.memory_bytes},
                                 {"hugepage_bytes", c.hugepage_bytes}});
  o["cells"] = std::move(cells);
  o["dedicated_cpus"] = config::format_id_set(g.place.dedicated_cpus);
  o["emulator_cpus"] = config::format_id_set(g.place.emulator_cpus);
  json::array memory;
  for (const auto& [node, bytes] : g.place.memory_per_node) memory.push_back(json::object{{"node", node}, {"bytes", bytes}});
  o["memory_per_node"] = std::move(memory);
  json::array warnings;
  for (const auto& w : g.place.warnings) warnings.push_back(json::value(w));
  o["warnings"] = std::move(warnings);
  return o;
}

// "guest 'web' (web.xml)", or the file alone when it has no usable name.
std::string label(const guest_result& g) {
  return g.name.empty() ? g.file : "guest '" + g.name + "' (" + g.file + ")";
}

// Why a guest is not placed; invalid input is not called "does not fit". A
// file that did not parse has no name, and its message starts with the file.
std::string failure(const guest_result& g) {
  if (g.invalid && g.name.empty()) return "invalid domain: " + g.error;
  return label(g) + (g.invalid ? ": invalid domain: " : ": does not fit: ") + g.error;
}

void print_text(const guest_result& g, std::ostream& out) {
  if (!g.fits) {
    out << failure(g) << "\n";
    return;
  }
  out << label(g) << ": ";
  out << (g.running ? "running (held where vnumad runs it)\n" : "fits\n");
  for (const auto& c : g.place.cells)
    out << "  cell " << c.cell << " -> host node " << c.host_node << ": vCPUs " << config::format_id_set(c.vcpus)
        << ", " << config::format_size(c.memory_bytes)
        << (c.hugepage_bytes ? " in " + config::format_size(c.hugepage_bytes) + " pages" : "") << "\n";
  out << "  dedicated threads: "
      << (g.place.dedicated_cpus.empty() ? "none (shared pinning)" : config::format_id_set(g.place.dedicated_cpus))
      << "\n";
  out << "  memory per node:";
  for (const auto& [node, bytes] : g.place.memory_per_node) out << " node " << node << " " << config::format_size(bytes) << ";";
  out << "\n";
  for (const auto& w : g.place.warnings) out << "  warning: " << w << "\n";
}

json::array free_json(const vnuma::host_topology& host, const vnuma::ledger& ledger) {
  json::array nodes;
  for (const auto& node : host.nodes) {
    json::object n{{"node", node.id},
                   {"memory_free_bytes", ledger.free_memory(node.id)},
                   {"memory_reserved_bytes", ledger.reserved_memory(node.id)},
                   {"cpus", node.cpus.size()},
                   {"dedicated_held", node.cpus.size() - ledger.shared_cpus(node.id).size()}};
    json::array pages;
    for (const auto& [size, total] : node.hugepages_total)
      pages.push_back(json::object{{"page_bytes", size}, {"free", ledger.free_hugepages(node.id, size)}});
    n["hugepages"] = std::move(pages);
    nodes.push_back(std::move(n));
  }
  return nodes;
}

// The guests a restarted vnumad would re-attach: complete "running" records
// whose QEMU still runs (guest.cpp's reattach checks, without the QMP part).
struct running_guests {
  std::vector<vnuma::placement> placements;
  std::vector<std::string> notes;  // why some could not be read
};

running_guests read_running(const std::filesystem::path& state_dir) {
  running_guests out;
  std::error_code ec;
  if (!std::filesystem::is_directory(state_dir, ec)) return out;  // no daemon ever ran here
  reactor::state_store store(state_dir);
  for (const auto& name : store.list()) {
    auto record = store.load(name);
    if (!record) {
      out.notes.push_back("guest '" + name + "' in " + state_dir.string() + " not held: " + record.error().message);
      continue;
    }
    if (record->phase != reactor::start_phase::running) continue;  // restarted afresh by vnumad
    if (!qemu::process_is_qemu_for(record->pid, "guest=" + name + ",")) continue;  // stale
    out.placements.push_back(std::move(record->place));
  }
  return out;
}

}  // namespace

int cmd_plan(const std::vector<std::string>& args, const cli_io& io) {
  po::options_description options("Options");
  add_planning_options(options);
  options.add_options()
      ("state-dir", po::value<std::string>()->value_name("DIR"), "vnumad's state dir, whose running guests are held first "
                                              "(default: the config's; not read when a topology file is given)")
      ("empty", po::bool_switch(), "plan for this host as if no guest ran")
      ("allow-overcommit", po::bool_switch(), "allow more vCPUs or memory than a node has free")
      ("json", po::bool_switch(), "print JSON");
  int exit = exit_ok;
  auto parsed =
      parse_args(args, options, {{"domains", "DOMAIN.xml files", true, true}}, {std::string(usage), std::string(description), std::string(examples)}, io, exit);
  if (!parsed) return exit;
  const auto& vm = parsed->vm;

  auto planning = load_planning_host(vm);
  if (!planning) return report(io, planning.error());
  const vnuma::host_topology* host = &planning->host;
  const config::id_set* reserved = &planning->reserved;
  bool overcommit = vm["allow-overcommit"].as<bool>();

  vnuma::ledger ledger(*host, planning->reserved_memory);
  if (!vm.count("topology") && !vm["empty"].as<bool>()) {
    const std::filesystem::path state_dir =
        vm.count("state-dir") ? std::filesystem::path(vm["state-dir"].as<std::string>()) : planning->cfg.state_dir;
    auto running = read_running(state_dir);
    for (const auto& note : running.notes) io.err << "vnumactl: warning: " << note << "\n";
    // Already on the host: held without capacity checks, as vnumad re-attaches.
    for (auto& p : running.placements)
      if (auto held = ledger.add(std::move(p), true); !held) io.err << "vnumactl: warning: " << held.error().message << "\n";
  }
  std::vector<guest_result> results;
  bool all_fit = true;
  for (const auto& file : vm["domains"].as<std::vector<std::string>>()) {
    guest_result g{.file = file};
    result<config::domain> domain = config::domain{};
    if (auto ok = require_input_file(file, "domain file"); !ok)
      domain = ok.error();
    else
      domain = config::parse_domain_file(file);
    if (domain) {
      g.name = domain->name;
      if (auto valid = config::validate_domain(*domain); !valid) domain = valid.error();
    }
    if (domain) {
      if (auto strict = config::check_strict(*domain, planning->cfg.strict); !strict) domain = strict.error();
      else
        for (const auto& note : config::load_notes(*domain)) io.err << "vnumactl: warning: " << note << "\n";
    }
    if (!domain) {
      g.invalid = true;
      g.error = domain.error().message;
    } else if (const vnuma::placement* runs = ledger.find(domain->name);
               runs && std::none_of(results.begin(), results.end(), [&](const guest_result& r) { return r.name == g.name; })) {
      // A guest vnumad runs: it stays where it is, as a restarted vnumad keeps it.
      g.fits = g.running = true;
      g.place = *runs;
    } else {
      auto start = std::chrono::steady_clock::now();
      auto placed = vnuma::place(*domain, *host, ledger, {.allow_overcommit = overcommit, .reserved_cpus = *reserved});
      result<void> added = placed ? ledger.add(placed->place, overcommit) : result<void>(placed.error());
      g.decision_us =
          std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
      if (added) {
        g.fits = true;
        g.place = placed->place;
      } else {
        // Two files with one guest name: an input mistake, not a capacity limit.
        g.invalid = added.error().code == errc::already_exists;
        g.error = added.error().message;
      }
    }
    all_fit = all_fit && g.fits;
    results.push_back(std::move(g));
  }

  if (vm["json"].as<bool>()) {
    json::array guests;
    for (const auto& g : results) guests.push_back(to_json(g));
    io.out << json::serialize(json::object{{"guests", std::move(guests)}, {"free", free_json(*host, ledger)}}) << "\n";
  } else {
    for (const auto& g : results) print_text(g, io.out);
    io.out << "left free:\n";
    for (const auto& node : host->nodes) {
      auto shared = ledger.shared_cpus(node.id);
      io.out << "  node " << node.id << ": " << config::format_size(ledger.free_memory(node.id)) << " memory, "
             << shared.size() << " of " << node.cpus.size() << " CPUs not held dedicated";
      for (const auto& [size, total] : node.hugepages_total)
        io.out << ", " << ledger.free_hugepages(node.id, size) << " x " << config::format_size(size) << " huge pages";
      io.out << "\n";
    }
  }
  // Each failure is explained once, in the report on stdout (or its JSON);
  // stderr only names which guests failed, as every exit 2 of vnumactl says
  // why there.
  std::vector<std::string> failed;
  for (const auto& g : results)
    if (!g.fits) failed.push_back(g.name.empty() ? g.file : g.name);
  if (!failed.empty()) {
    io.err << "vnumactl: not placed:";
    for (const auto& name : failed) io.err << " " << name;
    io.err << " (" << failed.size() << " of " << results.size() << " guests; the report says why)\n";
  }
  return all_fit ? exit_ok : exit_invalid;
}

}  // namespace vnumad::cli
