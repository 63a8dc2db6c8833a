// Serial ports: -chardev + isa-serial. Serial port 0 is the guest's console
// (`vnumactl console`, docs/control-protocol.md): with a console socket it is
// a socket chardev that QEMU serves and the daemon connects to while a
// client is attached, so it outlives daemon restarts. A file serial keeps its
// file as the chardev's logfile (everything the guest writes, attached or
// not); a pty serial has no log, as libvirt's pty without <log>: what the
// guest writes while nobody is attached is dropped.
#include "config/xml_util.hpp"
#include "qemu/argv_parts.hpp"
#include "qemu/qemu_option.hpp"

namespace vnumad::qemu::detail {

namespace {

// The -chardev value of one serial port, named `id`.
result<std::string> chardev_value(const config::chardev_def& s, const std::string& id, const std::string& what,
                                  const std::string& console_socket) {
  std::optional<std::string> path;
  if (s.type == "file" || s.type == "unix") {
    if (!s.path) return make_error(errc::missing_element, what + ": <source path> is required");
    VNUMAD_TRY(p, option_value(*s.path, what + "<source path>"));
    path = p;
  }
  if (!console_socket.empty() && (s.type == "pty" || s.type == "file")) {
    VNUMAD_TRY(sock, option_value(console_socket, "console socket path"));
    return "socket,id=" + id + ",path=" + sock + ",server=on,wait=off" + (path ? ",logfile=" + *path : "");
  }
  if (s.type == "pty") return "pty,id=" + id;
  if (s.type == "null") return "null,id=" + id;
  if (s.type == "file") return "file,id=" + id + ",path=" + *path;
  if (s.type == "unix")
    return "socket,id=" + id + ",path=" + *path + (s.mode.value_or("bind") == "bind" ? ",server=on,wait=off" : ",server=off");
  return make_error(errc::unsupported, what + ": serial type '" + s.type + "' (use pty, file, unix or null)");
}

}  // namespace

result<void> plan_serials(const config::domain& d, const std::string& console_socket, argv_list& out) {
  // A <console type='pty'><target type='serial'> is libvirt's second view of
  // serial port 0; it only needs a device when there is no <serial>.
  std::vector<config::chardev_def> serials = d.devices.serials;
  for (const auto& c : d.devices.consoles) {
    std::string t = c.target_type.value_or("serial");
    if (t == "serial") {
      if (serials.empty()) serials.push_back(c);
    } else {
      return make_error(errc::unsupported, "<console><target type='" + t + "'>: only serial consoles are supported");
    }
  }
  for (std::size_t i = 0; i < serials.size(); ++i) {
    const auto& s = serials[i];
    std::string what = "<serial type='" + s.type + "'> #" + std::to_string(i + 1);
    std::string id = "charserial" + std::to_string(i);
    VNUMAD_TRY(chardev, chardev_value(s, id, what, i == 0 ? console_socket : std::string()));
    std::string target = s.target_type.value_or("isa-serial");
    if (target != "isa-serial" && target != "serial")
      return make_error(errc::unsupported, what + "<target type='" + target + "'>: only isa-serial is supported");
    out.add("-chardev", chardev);
    out.add_device({{"driver", "isa-serial"},
                    {"chardev", id},
                    {"id", "serial" + std::to_string(i)},
                    {"index", s.target_port.value_or(static_cast<unsigned>(i))}});
  }
  return {};
}

}  // namespace vnumad::qemu::detail
