// build_argv: the order and the fixed options of libvirt's command line; the
// parts that depend on the domain are in argv_memory.cpp, argv_cpu.cpp and
// argv_devices.cpp.
#include "qemu/argv.hpp"

#include "qemu/argv_parts.hpp"
#include "qemu/qemu_option.hpp"

#include <algorithm>

namespace vnumad::qemu {
namespace {

result<std::vector<std::string>> build(const config::domain& d, const host_facts& host) {
  using detail::argv_list;
  std::vector<std::string> argv;
  argv.push_back(host.qemu_binary);

  auto name = option_value(d.name, "<name>");
  if (!name) return name.error();
  argv.insert(argv.end(), {"-name", "guest=" + *name + ",debug-threads=on", "-S"});

  std::string machine = d.os.machine.value_or("q35");
  if (auto ok = check_representable(machine, "<os><type machine>"); !ok) return ok.error();
  if (machine.find(',') != std::string::npos)
    return make_error(errc::invalid_value, "<os><type machine='" + machine + "'>: a machine type has no commas");
  const bool q35 = machine.find("q35") != std::string::npos;
  if (!q35 && machine != "pc" && machine.rfind("pc-i440fx-", 0) != 0 && machine.rfind("pc-", 0) != 0)
    return make_error(errc::unsupported,
                      "<os><type machine='" + machine + "'>: vnumad runs q35 and pc (i440fx) machines only");
  if (d.os.arch && *d.os.arch != "x86_64" && *d.os.arch != "i686")
    return make_error(errc::unsupported,
                      "<os><type arch='" + *d.os.arch + "'>: qemu-system-x86_64 runs x86_64 and i686 guests only");

  auto pci = pci_allocator::create(d, q35);
  if (!pci) return pci.error();
  auto memory = detail::plan_memory(d, host, *pci);
  if (!memory) return memory.error();
  argv_list controllers, devices;
  if (auto ok = detail::plan_controllers(d, *pci, controllers); !ok) return ok.error();
  if (auto ok = detail::plan_devices(d, host, *pci, devices); !ok) return ok.error();
  // Root ports the allocator added for endpoints without an address.
  for (const auto& port : pci->auto_root_ports())
    controllers.add_device({{"driver", "pcie-root-port"},
                            {"port", (port.at.slot << 3) | port.at.function},
                            {"chassis", port.index},
                            {"id", "pci." + std::to_string(port.index)}},
                           port.at);

  bool acpi = false;
  for (const auto& f : d.features) acpi = acpi || f == "acpi";
  std::string m = machine + ",usb=off,dump-guest-core=off";
  if (d.memory_backing && d.memory_backing->nosharepages) m += ",mem-merge=off";  // libvirt's order
  if (memory->pc_ram_backend) m += ",memory-backend=pc.ram";
  if (memory->nvdimm) m += ",nvdimm=on";
  m += acpi ? ",acpi=on" : ",acpi=off";
  argv.insert(argv.end(), {"-machine", m});

  if (d.type != "kvm" && d.type != "qemu")
    return make_error(errc::unsupported, "<domain type='" + d.type + "'>: use kvm or qemu (TCG)");
  if (d.tcg_tb_cache_bytes && d.type != "qemu")
    return make_error(errc::unsupported, "<features><tcg><tb-cache>: needs TCG (<domain type='qemu'>), not '" + d.type + "'");
  std::string accel = d.type == "kvm" ? "kvm" : "tcg";
  if (d.tcg_tb_cache_bytes) accel += ",tb-size=" + std::to_string(*d.tcg_tb_cache_bytes / (1024 * 1024));
  argv.insert(argv.end(), {"-accel", accel});

  std::string cpu = cpu_model_name(d);
  if (d.type == "qemu" && cpu == "host")
    return make_error(errc::unsupported, "<cpu mode='" + d.cpu.mode +
                                             "'>: the host CPU model needs KVM (<domain type='kvm'>); "
                                             "use <cpu mode='maximum'> with TCG");
  auto cpu_value = option_value(cpu, "<cpu><model>");
  if (!cpu_value) return cpu_value.error();
  if (d.cpu.vendor) {
    auto vendor = option_value(*d.cpu.vendor, "<cpu><vendor>");
    if (!vendor) return vendor.error();
    *cpu_value += ",vendor=" + *vendor;
  }
  argv.insert(argv.end(), {"-cpu", *cpu_value, "-m", memory->m_value});

  bool locked = d.memory_backing && d.memory_backing->locked;
  auto smp = detail::smp_value(d);
  if (!smp) return smp.error();
  // libvirt puts pc.ram right after -m, the cells after -smp.
  if (memory->pc_ram_backend) detail::flush(memory->guest_ram, *pci, argv);
  argv.insert(argv.end(), {"-overcommit", locked ? "mem-lock=on" : "mem-lock=off", "-smp", *smp});
  argv_list iothreads;
  detail::add_iothreads(d, iothreads);
  detail::flush(iothreads, *pci, argv);
  if (!memory->pc_ram_backend) detail::flush(memory->guest_ram, *pci, argv);

  if (d.uuid) {
    if (auto ok = check_representable(*d.uuid, "<uuid>"); !ok) return ok.error();
    argv.insert(argv.end(), {"-uuid", *d.uuid});
  }
  argv.insert(argv.end(), {"-display", "none", "-no-user-config", "-nodefaults"});

  if (host.qmp_socket_path.empty())
    return make_error(errc::invalid_value, "QMP socket path is empty; the supervisor must choose one");
  auto qmp = option_value(host.qmp_socket_path, "QMP socket path");
  if (!qmp) return qmp.error();
  argv.insert(argv.end(), {"-chardev", "socket,id=charmonitor,path=" + *qmp + ",server=on,wait=off", "-mon",
                           "chardev=charmonitor,id=monitor,mode=control"});

  std::string clock = d.clock_offset.value_or("utc");
  if (clock != "utc" && clock != "localtime")
    return make_error(errc::unsupported, "<clock offset='" + clock + "'>: use utc or localtime");
  argv.insert(argv.end(), {"-rtc", "base=" + clock, "-no-shutdown"});
  if (d.on_reboot == config::lifecycle_action::destroy) argv.push_back("-no-reboot");
  argv.insert(argv.end(), {"-boot", "strict=on"});

  // Direct kernel boot: plain values, QEMU does not split them at commas.
  auto add_path = [&](const std::optional<std::string>& v, const char* opt, const char* what) -> result<void> {
    if (!v) return {};
    if (auto ok = check_representable(*v, what, std::string_view(opt) == "-append"); !ok) return ok.error();
    argv.insert(argv.end(), {opt, *v});
    return {};
  };
  if (auto ok = add_path(d.os.kernel, "-kernel", "<os><kernel>"); !ok) return ok.error();
  if (auto ok = add_path(d.os.initrd, "-initrd", "<os><initrd>"); !ok) return ok.error();
  if (auto ok = add_path(d.os.cmdline, "-append", "<os><cmdline>"); !ok) return ok.error();
  if ((d.os.initrd || d.os.cmdline) && !d.os.kernel)
    return make_error(errc::missing_element, "<os><initrd>/<cmdline>: need <os><kernel>");

  detail::flush(controllers, *pci, argv);
  detail::flush(memory->devices, *pci, argv);
  detail::flush(devices, *pci, argv);

  // libvirt denies spawn because it hands QEMU tap fds; vnumad lets QEMU run
  // qemu-bridge-helper, which the seccomp filter would otherwise kill
  // ("Can't fork bridge helper: Operation not permitted").
  bool helper = std::any_of(d.devices.interfaces.begin(), d.devices.interfaces.end(),
                            [](const auto& i) { return i.type == "bridge" || i.type == "network"; });
  // QEMU never changes its own credentials: vnumad starts it as the runas
  // user already (qemu/qemu_user.hpp), so setuid/setgid stay denied.
  argv.insert(argv.end(), {"-sandbox",
                           std::string("on,obsolete=deny,elevateprivileges=deny,spawn=") +
                               (helper ? "allow" : "deny") + ",resourcecontrol=deny",
                           "-msg", "timestamp=on"});
  auto passthrough = detail::passthrough_args(d);
  if (!passthrough) return passthrough.error();
  argv.insert(argv.end(), passthrough->begin(), passthrough->end());
  return argv;
}

}  // namespace

result<std::vector<std::string>> build_argv(const config::domain& d, const host_facts& host) {
  auto argv = build(d, host);
  // Name the file like the parser's messages do.
  if (!argv && !d.source_file.empty() && argv.error().message.rfind(d.source_file, 0) != 0)
    return make_error(argv.error().code, d.source_file + ": " + argv.error().message);
  return argv;
}

}  // namespace vnumad::qemu
