// Controllers and devices: PCI topology (root ports, expander buses with
// their NUMA node, bridges), USB, disks (-blockdev + device), NICs (-netdev +
// device), balloon; serial ports in argv_serial.cpp.
#include "qemu/argv_parts.hpp"
#include "qemu/qemu_option.hpp"

#include <boost/json/serialize.hpp>

#include <algorithm>
#include <cstdio>
#include <functional>

namespace vnumad::qemu::detail {
namespace {

std::string controller_what(const config::controller_def& c) {
  return "<controller type='" + c.type + "' index='" + std::to_string(c.index) + "' model='" + c.model + "'>";
}

// libvirt numbers expander buses downward from 255, leaving room for the
// buses behind each one.
unsigned expander_bus_nr(const config::domain& d, const config::controller_def& pxb, unsigned& lowest) {
  if (pxb.target_bus_nr) {
    lowest = std::min(lowest, *pxb.target_bus_nr);
    return *pxb.target_bus_nr;
  }
  unsigned behind = 0;
  std::function<void(unsigned)> count = [&](unsigned bus) {
    for (const auto& c : d.devices.controllers)
      if (c.type == "pci" && c.pci && c.pci->bus == bus && c.index != bus) {
        ++behind;
        count(c.index);
      }
  };
  count(pxb.index);
  unsigned nr = lowest - 2 - behind;
  lowest = nr;
  return nr;
}

std::string mac_for(const config::domain& d, std::size_t index) {
  // Stable across restarts without storing anything: derived from the uuid
  // (or name) and the interface's position, in QEMU/libvirt's 52:54:00 range.
  std::size_t h = std::hash<std::string>{}(d.uuid.value_or(d.name) + "#" + std::to_string(index));
  char buf[32];
  std::snprintf(buf, sizeof buf, "52:54:00:%02x:%02x:%02x", unsigned(h & 0xff), unsigned((h >> 8) & 0xff),
                unsigned((h >> 16) & 0xff));
  return buf;
}

}  // namespace

void argv_list::add_json(std::string option, const boost::json::object& o) {
  add(std::move(option), to_json_arg(o));
}

result<void> plan_controllers(const config::domain& d, pci_allocator& pci, argv_list& out) {
  std::vector<const config::controller_def*> ctrls;
  for (const auto& c : d.devices.controllers) ctrls.push_back(&c);
  // Parents before children: a bus must exist before a device names it.
  std::stable_sort(ctrls.begin(), ctrls.end(), [](auto* a, auto* b) {
    if ((a->type == "pci") != (b->type == "pci")) return a->type == "pci";
    return a->index < b->index;
  });
  std::set<unsigned> numa_cells;
  for (const auto& c : d.cpu.cells) numa_cells.insert(c.id);
  unsigned lowest_bus_nr = 256;

  for (const auto* c : ctrls) {
    std::string what = controller_what(*c);
    boost::json::object o;
    if (c->type == "pci") {
      const auto& m = c->model;
      if (m == "pci-root" || m == "pcie-root") continue;
      if (c->index == 0)
        return make_error(errc::invalid_value, what + ": index 0 is the root bus (pci-root or pcie-root)");
      auto at = pci.place_controller(*c);
      if (!at) return at.error();
      std::string id = "pci." + std::to_string(c->index);
      if (m == "pcie-root-port") {
        o["driver"] = c->model_name.value_or("pcie-root-port");
        o["port"] = c->target_port.value_or((at->slot << 3) | at->function);
        o["chassis"] = c->target_chassis.value_or(c->index);
      } else if (m == "pcie-expander-bus" || m == "pci-expander-bus") {
        o["driver"] = m == "pcie-expander-bus" ? "pxb-pcie" : "pxb";
        o["bus_nr"] = expander_bus_nr(d, *c, lowest_bus_nr);
        if (c->target_node) {
          if (!numa_cells.count(*c->target_node))
            return make_error(errc::invalid_value,
                              what + ": " + m + " with index " + std::to_string(c->index) +
                                  " is configured for a NUMA node (" + std::to_string(*c->target_node) +
                                  ") not present in the domain's <cpu><numa> array (" +
                                  std::to_string(numa_cells.size()) + ")");
          o["numa_node"] = *c->target_node;
        }
      } else if (m == "pcie-to-pci-bridge") {
        o["driver"] = "pcie-pci-bridge";
      } else if (m == "pci-bridge") {
        o["driver"] = "pci-bridge";
        o["chassis_nr"] = c->target_chassis.value_or(c->index);
      } else if (m == "dmi-to-pci-bridge") {
        o["driver"] = "i82801b11-bridge";
      } else if (m == "pcie-switch-upstream-port") {
        o["driver"] = "x3130-upstream";
      } else if (m == "pcie-switch-downstream-port") {
        o["driver"] = "xio3130-downstream";
        o["port"] = c->target_port.value_or(at->slot);
        o["chassis"] = c->target_chassis.value_or(c->index);
      } else {
        return make_error(errc::unsupported, what + ": PCI controller model '" + m + "' is not supported");
      }
      o["id"] = id;
      out.add_device(std::move(o), *at);
    } else if (c->type == "usb") {
      std::string model = c->model.empty() ? (pci.q35() ? "qemu-xhci" : "piix3-uhci") : c->model;
      if (model == "none") continue;
      if (model == "piix3-uhci" && !pci.q35() && !c->pci) {
        out.add_device({{"driver", "piix3-usb-uhci"}, {"id", "usb"}}, pci_slot{0, 1, 2, false, false});
        continue;
      }
      const char* driver = model == "qemu-xhci" ? "qemu-xhci" : model == "nec-xhci" ? "nec-usb-xhci"
                           : model == "piix3-uhci" ? "piix3-usb-uhci" : nullptr;
      if (!driver) return make_error(errc::unsupported, what + ": USB model '" + model + "' is not supported");
      auto at = pci.place_endpoint(c->pci, what);
      if (!at) return at.error();
      out.add_device({{"driver", driver}, {"id", c->index ? "usb" + std::to_string(c->index) : "usb"}}, *at);
    } else if (c->type == "sata") {
      if (pci.q35() && c->index == 0) continue;  // the ICH9's own AHCI ("ide" bus)
      auto at = pci.place_endpoint(c->pci, what);
      if (!at) return at.error();
      out.add_device({{"driver", "ich9-ahci"}, {"id", "sata" + std::to_string(c->index)}}, *at);
    } else if (c->type == "ide") {
      if (pci.q35() || c->index != 0)
        return make_error(errc::unsupported, what + ": only the i440fx's built-in IDE controller exists");
    } else if (c->type == "scsi") {
      if (!c->model.empty() && c->model != "virtio-scsi")
        return make_error(errc::unsupported, what + ": SCSI model '" + c->model + "' (use virtio-scsi)");
      auto at = pci.place_endpoint(c->pci, what);
      if (!at) return at.error();
      out.add_device({{"driver", "virtio-scsi-pci"}, {"id", "scsi" + std::to_string(c->index)}}, *at);
    } else if (c->type == "virtio-serial") {
      auto at = pci.place_endpoint(c->pci, what);
      if (!at) return at.error();
      out.add_device({{"driver", "virtio-serial-pci"}, {"id", "virtio-serial" + std::to_string(c->index)}}, *at);
    } else {
      return make_error(errc::unsupported, what + ": controller type '" + c->type + "' is not supported");
    }
  }
  return {};
}

result<void> plan_devices(const config::domain& d, const host_facts& host, pci_allocator& pci, argv_list& out) {
  // Boot order: the first device of each <boot dev> kind gets bootindex 1, 2...
  auto boot_index = [&](std::string_view kind) -> std::optional<unsigned> {
    for (std::size_t i = 0; i < d.os.boot_devs.size(); ++i)
      if (d.os.boot_devs[i] == kind) return static_cast<unsigned>(i + 1);
    return std::nullopt;
  };
  bool hd_booted = false, cd_booted = false, net_booted = false;

  for (std::size_t i = 0; i < d.devices.disks.size(); ++i) {
    const auto& disk = d.devices.disks[i];
    std::string what = "<disk><target dev='" + disk.target_dev + "'>";
    if (auto ok = check_representable(disk.target_dev, "<disk><target dev>"); !ok) return ok.error();
    if (auto ok = check_representable(disk.source, what + "<source>", disk.device == "cdrom"); !ok) return ok.error();
    bool cdrom = disk.device == "cdrom";
    std::string node = "libvirt-" + std::to_string(d.devices.disks.size() - i);
    bool ro = disk.readonly || cdrom;
    if (!disk.source.empty()) {
      boost::json::object file{{"driver", disk.type == "block" ? "host_device" : "file"},
                               {"filename", disk.source},
                               {"node-name", node + "-storage"},
                               {"read-only", ro}};
      if (disk.cache) {
        const auto& c = *disk.cache;
        if (c == "none" || c == "directsync") file["cache"] = boost::json::object{{"direct", true}, {"no-flush", false}};
        else if (c == "unsafe") file["cache"] = boost::json::object{{"direct", false}, {"no-flush", true}};
        else if (c != "writeback" && c != "default" && c != "writethrough")
          return make_error(errc::invalid_value, what + "<driver cache='" + c +
                                                     "'>: valid are none, writeback, writethrough, directsync, unsafe");
      }
      out.add_json("-blockdev", file);
      if (disk.driver_type != "raw" && disk.driver_type != "qcow2")
        return make_error(errc::unsupported, what + "<driver type='" + disk.driver_type + "'>: use raw or qcow2");
      out.add_json("-blockdev", {{"node-name", node + "-format"},
                                 {"read-only", ro},
                                 {"driver", disk.driver_type},
                                 {"file", node + "-storage"}});
    }
    boost::json::object dev;
    std::optional<pci_slot> at;
    std::string alias;
    unsigned ctrl = disk.drive ? disk.drive->controller : 0, bus = disk.drive ? disk.drive->bus : 0,
             unit = disk.drive ? disk.drive->unit : 0;
    if (disk.bus == "virtio") {
      if (cdrom) return make_error(errc::unsupported, what + ": a virtio cdrom does not exist; use bus='sata'");
      auto placed = pci.place_endpoint(disk.pci, what);
      if (!placed) return placed.error();
      at = *placed;
      dev["driver"] = "virtio-blk-pci";
      if (disk.iothread) dev["iothread"] = "iothread" + std::to_string(*disk.iothread);
      alias = "virtio-disk" + std::to_string(i);
    } else if (disk.bus == "sata") {
      dev["driver"] = cdrom ? "ide-cd" : "ide-hd";
      // The q35 built-in AHCI exposes its ports as buses ide.0-ide.5.
      dev["bus"] = (pci.q35() && ctrl == 0) ? "ide." + std::to_string(unit)
                                            : "sata" + std::to_string(ctrl) + "." + std::to_string(unit);
      alias = "sata" + std::to_string(ctrl) + "-0-" + std::to_string(unit);
    } else if (disk.bus == "ide") {
      if (pci.q35()) return make_error(errc::unsupported, what + ": q35 has no IDE bus; use bus='sata'");
      dev["driver"] = cdrom ? "ide-cd" : "ide-hd";
      dev["bus"] = "ide." + std::to_string(bus);
      dev["unit"] = unit;
      alias = "ide0-" + std::to_string(bus) + "-" + std::to_string(unit);
    } else if (disk.bus == "scsi") {
      dev["driver"] = cdrom ? "scsi-cd" : "scsi-hd";
      dev["bus"] = "scsi" + std::to_string(ctrl) + ".0";
      dev["channel"] = bus;
      dev["scsi-id"] = disk.drive ? disk.drive->target : 0;
      dev["lun"] = unit;
      alias = "scsi" + std::to_string(ctrl) + "-0-" + std::to_string(disk.drive ? disk.drive->target : 0) + "-" +
              std::to_string(unit);
    } else {
      return make_error(errc::unsupported, what + ": disk bus '" + disk.bus + "' is not supported (virtio, sata, ide, scsi)");
    }
    if (!disk.source.empty()) dev["drive"] = node + "-format";
    dev["id"] = alias;
    bool& booted = cdrom ? cd_booted : hd_booted;
    if (auto b = boot_index(cdrom ? "cdrom" : "hd"); b && !booted && d.os.kernel.value_or("").empty()) {
      dev["bootindex"] = *b;
      booted = true;
    }
    out.add_device(std::move(dev), at);
  }

  for (std::size_t i = 0; i < d.devices.interfaces.size(); ++i) {
    const auto& nic = d.devices.interfaces[i];
    std::string what = "<interface type='" + nic.type + "'> #" + std::to_string(i + 1);
    std::string netdev = "hostnet" + std::to_string(i);
    if (nic.type == "user") {
      out.add_json("-netdev", {{"type", "user"}, {"id", netdev}});
    } else if (nic.type == "bridge" || nic.type == "network") {
      if (!nic.source) return make_error(errc::missing_element, what + ": <source " + nic.type + "='...'> is required");
      if (auto ok = check_representable(*nic.source, what + "<source>"); !ok) return ok.error();
      out.add_json("-netdev", {{"type", "bridge"}, {"br", *nic.source}, {"id", netdev}});
    } else {
      return make_error(errc::unsupported, what + ": interface type '" + nic.type + "' (use user, bridge or network)");
    }
    static const std::map<std::string, std::string> drivers{
        {"virtio", "virtio-net-pci"}, {"e1000", "e1000"}, {"e1000e", "e1000e"}, {"rtl8139", "rtl8139"}};
    auto drv = drivers.find(nic.model);
    if (drv == drivers.end())
      return make_error(errc::unsupported, what + "<model type='" + nic.model + "'>: use virtio, e1000, e1000e or rtl8139");
    std::string mac = nic.mac.value_or(mac_for(d, i));
    if (auto ok = check_representable(mac, what + "<mac address>"); !ok) return ok.error();
    auto at = pci.place_endpoint(nic.pci, what);
    if (!at) return at.error();
    boost::json::object dev{{"driver", drv->second}, {"netdev", netdev}, {"id", "net" + std::to_string(i)}, {"mac", mac}};
    if (auto b = boot_index("network"); b && !net_booted && d.os.kernel.value_or("").empty()) {
      dev["bootindex"] = *b;
      net_booted = true;
    }
    out.add_device(std::move(dev), *at);
  }

  if (auto ok = plan_serials(d, host.console_socket_path, out); !ok) return ok.error();

  std::string balloon = d.devices.memballoon_model.value_or("virtio");
  if (balloon == "virtio") {
    auto at = pci.place_endpoint(std::nullopt, "<memballoon model='virtio'>");
    if (!at) return at.error();
    out.add_device({{"driver", "virtio-balloon-pci"}, {"id", "balloon0"}}, *at);
  } else if (balloon != "none") {
    return make_error(errc::unsupported, "<memballoon model='" + balloon + "'>: use virtio or none");
  }
  return {};
}

void flush(const argv_list& list, const pci_allocator& pci, std::vector<std::string>& argv) {
  for (const auto& item : list.items) {
    if (!item.option.empty()) argv.push_back(item.option);
    if (item.device) {
      boost::json::object o = *item.device;
      if (item.pci) {
        o["bus"] = pci.bus_name(item.pci->bus);
        if (pci.needs_multifunction(*item.pci)) o["multifunction"] = true;
        o["addr"] = format_pci_addr(item.pci->slot, item.pci->function);
      }
      argv.push_back(to_json_arg(o));
    } else if (!item.value.empty()) {
      argv.push_back(item.value);
    }
  }
}

}  // namespace vnumad::qemu::detail
