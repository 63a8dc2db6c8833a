#include "config/daemon_config.hpp"

#include "config/cpuset.hpp"
#include "config/xml_util.hpp"

#include <boost/property_tree/ini_parser.hpp>

#include <array>
#include <fstream>
#include <sstream>

namespace vnumad::config {
namespace {

namespace pt = boost::property_tree;

constexpr std::array<std::string_view, 27> known_keys{
    "config_dir", "state_dir",        "socket",      "log_level", "reserved_cpus", "overcommit",
    "cgroup_root", "shutdown_timeout", "qemu_binary", "runas",     "socket_group",  "readonly_socket",
    "log_dir",     "qmp_timeout",      "qmp_command_timeout", "reserved_memory",
    "control_max_clients", "control_max_clients_per_uid", "control_idle_timeout", "image_dirs", "emulators",
    "start_concurrency", "on_host_shutdown", "host_shutdown_timeout", "metrics_socket", "metrics_listen", "strict"};

std::string valid_keys() {
  std::string out;
  for (std::string_view k : known_keys) out += (out.empty() ? "" : ", ") + std::string(k);
  return out;
}

result<bool> parse_bool(const std::string& value, const std::string& what) {
  if (value == "true" || value == "yes" || value == "on" || value == "1") return true;
  if (value == "false" || value == "no" || value == "off" || value == "0") return false;
  return make_error(errc::invalid_value, what + ": '" + value + "' is not a boolean (valid: true, false, yes, no, on, off, 1, 0)");
}

result<std::filesystem::path> absolute_path(const std::string& value, const std::string& what, bool allow_empty) {
  if (value.empty() && allow_empty) return std::filesystem::path();
  if (value.empty() || value.front() != '/')
    return make_error(errc::invalid_value, what + ": '" + value + "' is not an absolute path (expected e.g. /run/vnumad)");
  return std::filesystem::path(value);
}

result<void> apply(daemon_config& c, const std::string& key, const std::string& value, const std::string& what) {
  if (key == "config_dir") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.config_dir = p;
  } else if (key == "state_dir") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.state_dir = p;
  } else if (key == "socket") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.socket = p;
  } else if (key == "log_level") {
    VNUMAD_TRY(level, xml::one_of(value, "trace|debug|info|warning|error", what));
    c.log_level = level;
  } else if (key == "reserved_cpus") {
    if (value != "auto" && value != "none") {
      auto set = parse_id_set(value, what);
      if (!set)
        return make_error(errc::invalid_cpuset, set.error().message + " (or auto, none)");
    }
    c.reserved_cpus = value;
  } else if (key == "reserved_memory") {
    VNUMAD_TRY(setting, parse_reserved_memory(value, what));
    c.reserved_memory = setting;
  } else if (key == "overcommit") {
    VNUMAD_TRY(b, parse_bool(value, what));
    c.overcommit = b;
  } else if (key == "strict") {
    VNUMAD_TRY(b, parse_bool(value, what));
    c.strict = b;
  } else if (key == "cgroup_root") {
    VNUMAD_TRY(p, absolute_path(value, what, true));
    c.cgroup_root = p;
  } else if (key == "shutdown_timeout") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (seconds)"));
    c.shutdown_timeout = std::chrono::seconds(n);
  } else if (key == "qmp_timeout") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (seconds)"));
    if (n == 0) return make_error(errc::invalid_value, what + ": 0 seconds; give at least 1");
    c.qmp_timeout = std::chrono::seconds(n);
  } else if (key == "qmp_command_timeout") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (seconds)"));
    if (n == 0) return make_error(errc::invalid_value, what + ": 0 seconds; give at least 1");
    c.qmp_command_timeout = std::chrono::seconds(n);
  } else if (key == "start_concurrency") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (guests starting at once)"));
    if (n == 0) return make_error(errc::invalid_value, what + ": 0 guests at once would start none; give at least 1");
    c.start_concurrency = static_cast<unsigned>(n);
  } else if (key == "on_host_shutdown") {
    VNUMAD_TRY(action, xml::one_of(value, "shutdown|destroy|leave", what));
    c.on_host_shutdown = action == "shutdown"  ? host_shutdown_action::shutdown
                         : action == "destroy" ? host_shutdown_action::destroy
                                               : host_shutdown_action::leave;
  } else if (key == "host_shutdown_timeout") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (seconds)"));
    c.host_shutdown_timeout = std::chrono::seconds(n);
  } else if (key == "qemu_binary") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.qemu_binary = p;
  } else if (key == "emulators") {
    // Paths separated by spaces or commas; empty: only qemu_binary.
    std::vector<std::filesystem::path> list;
    std::string item;
    std::istringstream words(value);
    while (std::getline(words, item, ',')) {
      std::istringstream parts(item);
      std::string path;
      while (parts >> path) {
        VNUMAD_TRY(p, absolute_path(path, what, false));
        list.push_back(p.lexically_normal());
      }
    }
    c.emulators = std::move(list);
  } else if (key == "runas") {
    if (value.empty()) return make_error(errc::invalid_value, what + ": empty user name");
    c.runas = value;
  } else if (key == "image_dirs") {
    // Space-separated absolute paths; empty: no image dir (nothing is given).
    c.image_dirs.clear();
    std::istringstream words(value);
    for (std::string word; words >> word;) {
      VNUMAD_TRY(p, absolute_path(word, what, false));
      c.image_dirs.push_back(p);
    }
  } else if (key == "socket_group") {
    if (value.empty()) return make_error(errc::invalid_value, what + ": empty group name");
    c.socket_group = value;
  } else if (key == "log_dir") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.log_dir = p;
  } else if (key == "readonly_socket") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.readonly_socket = p;
  } else if (key == "control_max_clients" || key == "control_max_clients_per_uid") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (clients)"));
    if (n == 0 || n > 1'000'000)
      return make_error(errc::invalid_value, what + ": valid is 1 to 1000000 clients");
    (key == "control_max_clients" ? c.control_max_clients : c.control_max_clients_per_uid) = n;
  } else if (key == "control_idle_timeout") {
    VNUMAD_TRY(n, xml::parse_uint(value, what + " (seconds)"));
    if (n > 86'400) return make_error(errc::invalid_value, what + ": valid is 0 (no limit) to 86400 seconds");
    c.control_idle_timeout = std::chrono::seconds(n);
  } else if (key == "metrics_socket") {
    VNUMAD_TRY(p, absolute_path(value, what, false));
    c.metrics_socket = p;
  } else if (key == "metrics_listen") {
    VNUMAD_TRY(address, parse_listen_address(value, what));
    c.metrics_listen = address;
  } else {
    return make_error(errc::invalid_value, "unknown key '" + key + "' (valid keys: " + valid_keys() + ")");
  }
  return {};
}

}  // namespace

std::vector<std::filesystem::path> default_emulators() {
  std::vector<std::filesystem::path> out;
  for (const char* name :
       {"qemu-system-x86_64", "qemu-system-i386", "qemu-system-amd64", "qemu-system-x86_64-microvm", "kvm",
        "qemu-system-aarch64", "qemu-system-arm", "qemu-system-ppc", "qemu-system-ppc64", "qemu-system-ppc64le",
        "qemu-system-mips", "qemu-system-mipsel", "qemu-system-mips64", "qemu-system-mips64el", "qemu-system-s390x",
        "qemu-system-sparc", "qemu-system-sparc64", "qemu-system-alpha", "qemu-system-avr", "qemu-system-cris",
        "qemu-system-hppa", "qemu-system-loongarch64", "qemu-system-m68k", "qemu-system-microblaze",
        "qemu-system-microblazeel", "qemu-system-nios2", "qemu-system-or1k", "qemu-system-riscv32",
        "qemu-system-riscv64", "qemu-system-rx", "qemu-system-sh4", "qemu-system-sh4eb", "qemu-system-tricore",
        "qemu-system-xtensa", "qemu-system-xtensaeb"})
    out.push_back(std::filesystem::path("/usr/bin") / name);
  return out;
}

result<void> check_emulator(const std::filesystem::path& emulator, const daemon_config& c) {
  const auto wanted = emulator.lexically_normal();
  if (wanted == c.qemu_binary.lexically_normal()) return {};
  for (const auto& allowed : c.emulators)
    if (wanted == allowed.lexically_normal()) return {};
  std::string list = c.qemu_binary.string();
  for (const auto& allowed : c.emulators)
    if (allowed.lexically_normal() != c.qemu_binary.lexically_normal()) list += ", " + allowed.string();
  return make_error(errc::permission_denied, "<emulator>" + emulator.string() +
                                                 "</emulator>: not an allowed emulator (vnumad.conf emulators and "
                                                 "qemu_binary allow: " + list + ")");
}

std::string_view to_string(host_shutdown_action a) {
  switch (a) {
    case host_shutdown_action::shutdown: return "shutdown";
    case host_shutdown_action::destroy: return "destroy";
    case host_shutdown_action::leave: return "leave";
  }
  return "shutdown";
}

result<daemon_config> parse_daemon_config(std::string_view text, std::string_view source) {
  pt::ptree tree;
  std::istringstream in{std::string(text)};
  try {
    pt::read_ini(in, tree);
  } catch (const pt::ini_parser_error& e) {
    return make_error(errc::invalid_value, std::string(source) + ":" + std::to_string(e.line()) + ": " + e.message() +
                                               " (expected `key = value` lines)");
  }
  daemon_config c;
  for (const auto& [key, node] : tree) {
    if (!node.empty())
      return make_error(errc::invalid_value, std::string(source) + ": section [" + key +
                                                 "] is not supported (vnumad.conf is flat; valid keys: " +
                                                 valid_keys() + ")");
    auto r = apply(c, key, node.data(), key + " = " + node.data());
    if (!r) return make_error(r.error().code, std::string(source) + ": " + r.error().message);
  }
  // The metrics server replaces a stale socket file at its path: never a
  // control socket.
  if (c.metrics_socket && (*c.metrics_socket == c.socket || *c.metrics_socket == c.readonly_socket))
    return make_error(errc::invalid_value, std::string(source) + ": metrics_socket = " + c.metrics_socket->string() +
                                               ": the path of a control socket; give the metrics their own");
  return c;
}

result<daemon_config> load_daemon_config(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return make_error(errc::io_error, path.string() + ": cannot open for reading");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_daemon_config(text.str(), path.string());
}

}  // namespace vnumad::config
