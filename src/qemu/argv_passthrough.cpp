// <qemu:commandline> arguments and the <iothreads> objects.
//
// Passthrough is what libvirt users rely on for options libvirt has no XML
// for, and a domain file is root's already (config/path_trust.hpp): its author
// could run anything as root. So the arguments go to QEMU as written, at the
// end of the command line, except the options vnumad sets itself to supervise
// and confine QEMU. QEMU takes the last of a repeated option, so these would
// silently undo vnumad's own: -sandbox (the seccomp filter), -runas /
// -run-with / -chroot (QEMU's credentials and root, vnumad's choice),
// -daemonize (vnumad watches the process it started), -name (vnumad finds
// its QEMU by guest=NAME), and a second monitor (-qmp, -mon, -monitor), through
// which vCPUs and memory could change behind vnumad's ledger. They are
// refused with an error naming the argument rather than dropped. The daemon
// logs that the guest uses passthrough (libvirt "taints" such a domain).
#include "qemu/argv_parts.hpp"
#include "qemu/qemu_option.hpp"

#include <array>

namespace vnumad::qemu::detail {
namespace {

constexpr std::array<std::string_view, 10> vnumad_owned{"-sandbox", "-runas",   "-run-with", "-chroot", "-daemonize",
                                                        "-name",    "-qmp",     "-qmp-pretty", "-mon", "-monitor"};

}  // namespace

result<std::vector<std::string>> passthrough_args(const config::domain& d) {
  std::vector<std::string> out;
  if (!d.qemu_commandline) return out;
  for (const std::string& arg : d.qemu_commandline->args) {
    const std::string what = "<qemu:commandline><qemu:arg value='" + arg + "'>";
    if (auto ok = check_representable(arg, what, true); !ok) return ok.error();
    // QEMU accepts --option as -option.
    std::string_view option = arg;
    if (option.rfind("--", 0) == 0) option.remove_prefix(1);
    for (std::string_view owned : vnumad_owned)
      if (option == owned)
        return make_error(errc::unsupported, what + ": vnumad sets " + std::string(owned) +
                                                 " itself (it supervises and confines QEMU); a domain cannot "
                                                 "override it");
    out.push_back(arg);
  }
  for (const auto& e : d.qemu_commandline->env)
    if (auto ok = check_representable(e.value, "<qemu:commandline><qemu:env name='" + e.name + "'>", true); !ok)
      return ok.error();
  return out;
}

void add_iothreads(const config::domain& d, argv_list& out) {
  for (unsigned id = 1; id <= d.iothreads; ++id)
    out.add_json("-object", {{"qom-type", "iothread"}, {"id", "iothread" + std::to_string(id)}});
}

}  // namespace vnumad::qemu::detail
