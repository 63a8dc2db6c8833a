// vnumad.conf: a flat INI file (Boost.PropertyTree), one `key = value` a line.
#pragma once

#include "config/listen_address.hpp"
#include "config/reserved_memory.hpp"
#include "util/error.hpp"

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::config {

// The QEMU system emulators Debian ships (qemu-system-x86, -arm, -ppc, -mips,
// -s390x, -sparc, -misc), in /usr/bin.
std::vector<std::filesystem::path> default_emulators();

enum class host_shutdown_action { shutdown, destroy, leave };
std::string_view to_string(host_shutdown_action a);

struct daemon_config {
  std::filesystem::path config_dir = "/etc/vnumad/domains.d";
  std::filesystem::path state_dir = "/run/vnumad";
  std::filesystem::path socket = "/run/vnumad/vnumad.sock";
  std::string log_level = "info";                      // trace | debug | info | warning | error
  std::string reserved_cpus = "auto";                  // auto | none | a cpuset (checked here)
  // Memory per node kept from guests for the host kernel, vnumad and QEMU's
  // own overhead (config/reserved_memory.hpp says why 1 GiB).
  reserved_memory_setting reserved_memory;
  bool overcommit = false;
  // Domain XML that vnumad does not act on (domain::warnings) refuses the
  // domain instead of being logged and ignored.
  bool strict = false;
  std::filesystem::path cgroup_root;                   // empty: auto-detect
  std::chrono::seconds shutdown_timeout{60};
  // How long a starting QEMU may take to open its QMP socket, and again to
  // greet and accept qmp_capabilities. Generous: with locked memory QEMU
  // faults in all guest RAM first.
  std::chrono::seconds qmp_timeout{60};
  // How long QEMU may take to answer one QMP command of a running guest
  // (reactor/qmp_timeouts.hpp derives every command's deadline from it).
  std::chrono::seconds qmp_command_timeout{10};
  std::filesystem::path qemu_binary = "/usr/bin/qemu-system-x86_64";
  // The user QEMU runs as: vnumad drops to it in the forked child before
  // exec (qemu/qemu_user.hpp). "root" keeps QEMU privileged (logged as a warning).
  std::string runas = "vnumad-qemu";
  // Where disk, kernel and initrd images live: files under these dirs are
  // given to the QEMU user for the guest's life (qemu/file_access.hpp).
  std::vector<std::filesystem::path> image_dirs = {"/var/lib/vnumad/images"};
  // What a domain's <emulator> may name (a domain author must not pick the
  // program vnumad starts). qemu_binary is always allowed.
  std::vector<std::filesystem::path> emulators = default_emulators();
  std::optional<std::string> socket_group;             // group allowed read-write on the socket
  std::optional<std::filesystem::path> readonly_socket;
  // Control-socket limits (reactor/control_server.hpp control_limits): clients
  // at once per socket, per peer uid per socket, and seconds a client may stay
  // connected without sending a request (0: no limit).
  std::size_t control_max_clients = 128;
  std::size_t control_max_clients_per_uid = 16;
  std::chrono::seconds control_idle_timeout{60};
  // Prometheus metrics over HTTP (reactor/metrics_server.hpp): on a unix
  // socket, a TCP address, both or (the default) neither.
  std::optional<std::filesystem::path> metrics_socket;
  std::optional<listen_address> metrics_listen;
  std::filesystem::path log_dir = "/var/log/vnumad";        // per-guest QEMU logs: LOG_DIR/NAME.log
  // Guests from the config dir that may be in their start pipeline at once
  // (spawn to `cont`): at boot, many guests that fault in their locked RAM
  // together would only compete for memory bandwidth.
  unsigned start_concurrency = 4;
  // What `vnumactl host-shutdown` (vnumad-guests.service, when the host
  // powers off or reboots) does to running guests, and how long the ACPI
  // power button may take before QEMU is ended.
  host_shutdown_action on_host_shutdown = host_shutdown_action::shutdown;
  std::chrono::seconds host_shutdown_timeout{120};
};

// Unknown keys, sections, bad booleans and bad numbers are rejected with a
// message naming the source, the key and what is valid.
result<daemon_config> parse_daemon_config(std::string_view text, std::string_view source = "vnumad.conf");
result<daemon_config> load_daemon_config(const std::filesystem::path& path);

// Refuses an <emulator> not in c.emulators and not c.qemu_binary, naming it and
// the allowed list (paths compare after lexical normalisation).
result<void> check_emulator(const std::filesystem::path& emulator, const daemon_config& c);

}  // namespace vnumad::config
