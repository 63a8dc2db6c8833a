// vnumad: runs in the foreground (systemd style), one thread, one io_context.
#include "config/daemon_config.hpp"
#include "reactor/daemon.hpp"
#include "reactor/logging.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/program_options.hpp>

#include <iostream>

namespace po = boost::program_options;
namespace asio = boost::asio;
using namespace vnumad;
using namespace vnumad::reactor;

namespace {

constexpr const char* usage =
    "Usage: vnumad [--config FILE] [--config-dir DIR] [--state-dir DIR] [--socket PATH]\n"
    "              [--log-dir DIR] [--log-level LEVEL]\n\n"
    "vnumad supervises QEMU guests defined by libvirt-style domain XML files in a directory.\n"
    "For each guest with <vnuma>, it partitions this host's NUMA topology (guest cells, CPU\n"
    "topology, vCPU pinning, per-node memory binding, distances), starts QEMU paused, hotplugs\n"
    "and pins every vCPU thread with cgroups, and resumes it. It watches the directory: a new\n"
    "file starts a guest, an edit applies live or is held as pending, a removed file shuts the\n"
    "guest down. Guests outlive the daemon; a restarted vnumad re-attaches to them.\n\n"
    "Command-line options override vnumad.conf (see vnumad.conf(5)).\n\n";

constexpr const char* examples =
    "\nExamples:\n"
    "  vnumad                                      the defaults: /etc/vnumad/vnumad.conf\n"
    "  vnumad --config-dir /tmp/domains --state-dir /tmp/vnumad-state --socket /tmp/vnumad.sock\n"
    "  systemctl start vnumad                      as a service (Type=notify)\n\n"
    "Signals: SIGTERM/SIGINT stop the daemon and leave guests running; SIGHUP rescans the\n"
    "config directory.\n";

}  // namespace

int main(int argc, char** argv) {
  po::options_description options("Options");
  options.add_options()("help,h", "show this help")("version", "print the version")(
      "config", po::value<std::string>(), "vnumad.conf (default /etc/vnumad/vnumad.conf; optional)")(
      "config-dir", po::value<std::string>(), "domain XML directory (default /etc/vnumad/domains.d)")(
      "state-dir", po::value<std::string>(), "runtime state (default /run/vnumad)")(
      "socket", po::value<std::string>(), "control socket (default /run/vnumad/vnumad.sock)")(
      "log-dir", po::value<std::string>(), "per-guest QEMU logs (default /var/log/vnumad)")(
      "log-level", po::value<std::string>(), "error | warning | info | debug (default info)")(
      "topology", po::value<std::string>(), "plan against an hwloc XML instead of this host (testing)");
  po::variables_map vm;
  try {
    po::store(po::parse_command_line(argc, argv, options), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    std::cerr << "vnumad: " << e.what() << "\n(see vnumad --help)\n";
    return 2;
  }
  if (vm.count("help")) {
    std::cout << usage << options << examples;
    return 0;
  }
  if (vm.count("version")) {
    std::cout << "vnumad " VNUMAD_VERSION "\n";
    return 0;
  }

  reactor::daemon_options opts;
  std::filesystem::path config_file = vm.count("config") ? vm["config"].as<std::string>() : "/etc/vnumad/vnumad.conf";
  if (vm.count("config") || std::filesystem::exists(config_file)) {
    auto cfg = config::load_daemon_config(config_file);
    if (!cfg) {
      std::cerr << "vnumad: " << cfg.error().message << "\n";
      return 2;
    }
    opts.cfg = std::move(*cfg);
  }
  if (vm.count("config-dir")) opts.cfg.config_dir = vm["config-dir"].as<std::string>();
  if (vm.count("state-dir")) opts.cfg.state_dir = vm["state-dir"].as<std::string>();
  if (vm.count("socket")) opts.cfg.socket = vm["socket"].as<std::string>();
  if (vm.count("log-level")) opts.cfg.log_level = vm["log-level"].as<std::string>();
  if (!opts.cfg.log_dir.empty()) opts.log_dir = opts.cfg.log_dir;
  if (vm.count("log-dir")) opts.log_dir = vm["log-dir"].as<std::string>();
  if (vm.count("topology")) opts.topology_file = vm["topology"].as<std::string>();
  auto level = parse_log_level(opts.cfg.log_level);
  if (!level) {
    std::cerr << "vnumad: " << level.error().message << "\n";
    return 2;
  }
  set_log_level(*level);

  asio::io_context io;
  reactor::daemon d(io, opts);
  int exit_code = 0;
  asio::co_spawn(io, d.start(), [&](std::exception_ptr ep, result<void> started) {
    if (ep) {
      try {
        std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        log(log_level::error, std::string("start-up failed: ") + e.what());
      }
      exit_code = 1;
    } else if (!started) {
      log(log_level::error, "start-up failed: " + started.error().message);
      exit_code = 1;
    }
    if (exit_code != 0) {
      d.stop();
      io.stop();
    }
  });
  // The daemon stops on SIGTERM/SIGINT; what is still pending then (QMP
  // readers of detached guests) must not keep it alive.
  while (!io.stopped()) {
    io.run_one();
    if (d.stopped()) {
      io.poll();
      break;
    }
  }
  log(log_level::info, "vnumad stopped");
  return exit_code;
}
