// Reading <devices>: disks, controllers, interfaces, serials/consoles, inputs,
// the balloon and memory devices (dimm, nvdimm, virtio-mem). Writing is in
// domain_xml_devices_write.cpp.
#include "config/domain_xml_detail.hpp"

#include "config/units.hpp"

namespace vnumad::config::detail {
namespace {

result<std::optional<pci_address>> read_pci(const ptree& node, std::string_view where) {
  VNUMAD_TRY(addr, xml::single_child(node, "address", where));
  if (!addr || xml::attr(*addr, "type").value_or("") != "pci") return std::optional<pci_address>{};
  pci_address a;
  struct field {
    const char* name;
    unsigned* value;
  };
  for (auto [name, value] : {field{"domain", &a.domain}, field{"bus", &a.bus}, field{"slot", &a.slot},
                             field{"function", &a.function}}) {
    VNUMAD_TRY(n, xml::uint_attr(*addr, "address type='pci'", name));
    if (n) *value = *n;
  }
  if (auto mf = xml::attr(*addr, "multifunction")) {
    VNUMAD_TRY(b, xml::parse_bool(*mf, xml::show_attr("address", "multifunction", *mf)));
    a.multifunction = b;
  }
  return std::optional<pci_address>{a};
}

result<disk_def> read_disk(const ptree& node) {
  disk_def d;
  if (auto t = xml::attr(node, "type")) {
    VNUMAD_TRY(v, xml::one_of(*t, "file|block", xml::show_attr("disk", "type", *t)));
    d.type = v;
  }
  if (auto dev = xml::attr(node, "device")) {
    VNUMAD_TRY(v, xml::one_of(*dev, "disk|cdrom|floppy|lun", xml::show_attr("disk", "device", *dev)));
    d.device = v;
  }
  if (auto driver = xml::find(node, "driver")) {
    // name='qemu' is the only driver libvirt has for QEMU: it is what runs.
    if (xml::peek_attr(*driver, "name") == std::string("qemu")) xml::mark_attr(*driver, "name");
    if (auto t = xml::attr(*driver, "type")) d.driver_type = *t;
    d.cache = xml::attr(*driver, "cache");
    VNUMAD_TRY(iothread, xml::uint_attr(*driver, "disk><driver", "iothread"));
    d.iothread = iothread;
  }
  if (auto source = xml::find(node, "source"))
    d.source = xml::attr(*source, d.type == "block" ? "dev" : "file").value_or("");
  if (auto target = xml::find(node, "target")) {
    d.target_dev = xml::attr(*target, "dev").value_or("");
    if (auto bus = xml::attr(*target, "bus")) {
      VNUMAD_TRY(v, xml::one_of(*bus, "virtio|sata|scsi|ide|usb|fdc", xml::show_attr("disk><target", "bus", *bus)));
      d.bus = v;
    }
  }
  if (d.target_dev.empty())
    return make_error(errc::missing_element, "<disk><target> has no dev attribute, e.g. <target dev='vda' bus='virtio'/>");
  d.readonly = xml::count(node, "readonly") > 0;
  VNUMAD_TRY(pci, read_pci(node, "<disk>"));
  d.pci = pci;
  if (auto addr = xml::find(node, "address"); addr && xml::attr(*addr, "type").value_or("") == "drive") {
    drive_address a;
    for (auto [name, value] : {std::pair{"controller", &a.controller}, std::pair{"bus", &a.bus},
                               std::pair{"target", &a.target}, std::pair{"unit", &a.unit}}) {
      VNUMAD_TRY(n, xml::uint_attr(*addr, "address type='drive'", name));
      if (n) *value = *n;
    }
    d.drive = a;
  }
  return d;
}

result<controller_def> read_controller(const ptree& node) {
  controller_def c;
  auto type = xml::attr(node, "type");
  if (!type) return make_error(errc::missing_element, "<controller> has no type attribute (e.g. pci, usb, sata)");
  c.type = *type;
  std::string elem = "controller type='" + c.type + "'";
  VNUMAD_TRY(index, xml::uint_attr(node, elem, "index"));
  c.index = index.value_or(0);
  c.model = xml::attr(node, "model").value_or("");
  if (auto model = xml::find(node, "model")) c.model_name = xml::attr(*model, "name");
  if (auto target = xml::find(node, "target")) {
    VNUMAD_TRY(bus_nr, xml::uint_attr(*target, "target", "busNr"));
    c.target_bus_nr = bus_nr;
    VNUMAD_TRY(chassis, xml::uint_attr(*target, "target", "chassis"));
    c.target_chassis = chassis;
    VNUMAD_TRY(port, xml::uint_attr(*target, "target", "port"));
    c.target_port = port;
    VNUMAD_TRY(numa, xml::single_child(*target, "node", "<controller><target>"));
    if (numa) {
      VNUMAD_TRY(n, xml::parse_uint(xml::text(*numa), "<controller index='" + std::to_string(c.index) +
                                                        "'><target><node>" + xml::text(*numa) + "</node>"));
      c.target_node = n;
    }
  }
  VNUMAD_TRY(pci, read_pci(node, "<controller>"));
  c.pci = pci;
  return c;
}

result<interface_def> read_interface(const ptree& node) {
  interface_def i;
  auto type = xml::attr(node, "type");
  if (!type) return make_error(errc::missing_element, "<interface> has no type attribute (valid: user, bridge, network)");
  VNUMAD_TRY(t, xml::one_of(*type, "user|bridge|network|ethernet|direct", xml::show_attr("interface", "type", *type)));
  i.type = t;
  if (auto mac = xml::find(node, "mac")) i.mac = xml::attr(*mac, "address");
  if (auto source = xml::find(node, "source")) {
    i.source = xml::attr(*source, "bridge");
    if (!i.source) i.source = xml::attr(*source, "network");
    if (!i.source) i.source = xml::attr(*source, "dev");
  }
  if (auto model = xml::find(node, "model")) i.model = xml::attr(*model, "type").value_or(i.model);
  VNUMAD_TRY(pci, read_pci(node, "<interface>"));
  i.pci = pci;
  return i;
}

result<chardev_def> read_chardev(const ptree& node, const std::string& kind) {
  chardev_def c;
  c.kind = kind;
  if (auto type = xml::attr(node, "type")) {
    VNUMAD_TRY(t, xml::one_of(*type, "pty|file|unix|null|stdio|tcp|udp|vc|dev|pipe|spiceport",
                              xml::show_attr(kind, "type", *type)));
    c.type = t;
  }
  if (auto source = xml::find(node, "source")) {
    c.path = xml::attr(*source, "path");
    c.mode = xml::attr(*source, "mode");
  }
  if (auto target = xml::find(node, "target")) {
    c.target_type = xml::attr(*target, "type");
    VNUMAD_TRY(port, xml::uint_attr(*target, kind + "><target", "port"));
    c.target_port = port;
    if (auto model = xml::find(*target, "model")) c.model_name = xml::attr(*model, "name");
  }
  return c;
}

result<memory_device_def> read_memory_device(const ptree& node) {
  memory_device_def m;
  auto model = xml::attr(node, "model");
  if (!model)
    return make_error(errc::missing_element, "<memory> device has no model attribute (valid: dimm, nvdimm, virtio-mem)");
  VNUMAD_TRY(mm, xml::one_of(*model, "dimm|nvdimm|virtio-mem|virtio-pmem", xml::show_attr("memory", "model", *model)));
  m.model = mm;
  std::string elem = "memory model='" + m.model + "'";
  if (auto access = xml::attr(node, "access")) {
    VNUMAD_TRY(a, xml::one_of(*access, "shared|private", xml::show_attr(elem, "access", *access)));
    m.access = a;
  }
  if (auto discard = xml::attr(node, "discard")) {
    VNUMAD_TRY(b, xml::parse_bool(*discard, xml::show_attr(elem, "discard", *discard)));
    m.discard = b;
  }
  if (auto source = xml::find(node, "source")) {
    if (auto ps = xml::find(*source, "pagesize")) {
      VNUMAD_TRY(bytes, read_scaled(*ps, "source><pagesize"));
      m.source_pagesize_bytes = bytes;
    }
    if (auto mask = xml::find(*source, "nodemask")) {
      VNUMAD_TRY(set, parse_id_set(xml::text(*mask), "<source><nodemask>"));
      m.source_nodemask = set;
    }
    if (auto path = xml::find(*source, "path")) m.source_path = xml::text(*path);
    if (xml::count(*source, "pmem")) m.source_pmem = true;
  }
  auto target = xml::find(node, "target");
  if (!target) return make_error(errc::missing_element, "<" + elem + "> has no <target> (it needs <size>)");
  auto size = xml::find(*target, "size");
  if (!size) return make_error(errc::missing_element, "<" + elem + "><target> has no <size>");
  VNUMAD_TRY(bytes, read_scaled(*size, "target><size"));
  m.target_size_bytes = bytes;
  if (auto n = xml::find(*target, "node")) {
    VNUMAD_TRY(v, xml::parse_uint(xml::text(*n), "<" + elem + "><target><node>" + xml::text(*n) + "</node>"));
    m.target_node = v;
  }
  if (auto label = xml::find(*target, "label"))
    if (auto ls = xml::find(*label, "size")) {
      VNUMAD_TRY(v, read_scaled(*ls, "label><size"));
      m.target_label_bytes = v;
    }
  if (xml::count(*target, "readonly")) m.target_readonly = true;
  if (auto dyn = xml::attr(*target, "dynamicMemslots")) {
    VNUMAD_TRY(b, xml::parse_bool(*dyn, xml::show_attr("target", "dynamicMemslots", *dyn)));
    m.target_dynamic_memslots = b;
  }
  if (auto b = xml::find(*target, "block")) {
    VNUMAD_TRY(v, read_scaled(*b, "target><block"));
    m.target_block_bytes = v;
  }
  if (auto r = xml::find(*target, "requested")) {
    VNUMAD_TRY(v, read_scaled(*r, "target><requested"));
    m.target_requested_bytes = v;
  }
  if (auto a = xml::find(*target, "address"))
    if (auto base = xml::attr(*a, "base")) {
      VNUMAD_TRY(v, xml::parse_u64(*base, xml::show_attr("target><address", "base", *base)));
      m.target_address_base = v;
    }
  if (auto addr = xml::find(node, "address"); addr && xml::attr(*addr, "type").value_or("") == "dimm") {
    VNUMAD_TRY(slot, xml::uint_attr(*addr, "address type='dimm'", "slot"));
    m.address_slot = slot;
    if (auto base = xml::attr(*addr, "base")) {
      VNUMAD_TRY(v, xml::parse_u64(*base, xml::show_attr("address type='dimm'", "base", *base)));
      m.address_base = v;
    }
  }
  VNUMAD_TRY(pci, read_pci(node, "<" + elem + ">"));
  m.pci = pci;
  if (auto alias = xml::find(node, "alias")) m.alias = xml::attr(*alias, "name");
  return m;
}

}  // namespace

result<void> read_devices(const ptree& devices, devices_def& out) {
  VNUMAD_TRY(emulator, xml::single_child(devices, "emulator", "<devices>"));
  if (emulator) out.emulator = xml::text(*emulator);
  VNUMAD_TRY(balloon, xml::single_child(devices, "memballoon", "<devices>"));
  if (balloon) {
    auto model = xml::attr(*balloon, "model").value_or("");
    VNUMAD_TRY(m, xml::one_of(model, "virtio|virtio-transitional|virtio-non-transitional|xen|none",
                              xml::show_attr("memballoon", "model", model)));
    out.memballoon_model = m;
  }
  for (const auto& [key, node] : devices) {
    if (key == "disk") {
      VNUMAD_TRY(d, read_disk(node));
      out.disks.push_back(std::move(d));
    } else if (key == "controller") {
      VNUMAD_TRY(c, read_controller(node));
      out.controllers.push_back(std::move(c));
    } else if (key == "interface") {
      VNUMAD_TRY(i, read_interface(node));
      out.interfaces.push_back(std::move(i));
    } else if (key == "serial" || key == "console") {
      VNUMAD_TRY(c, read_chardev(node, key));
      (key == "serial" ? out.serials : out.consoles).push_back(std::move(c));
    } else if (key == "input") {
      // PS/2 mouse and keyboard are built into the PC machines (libvirt
      // passes nothing for them); vnumad creates no USB or virtio input
      // devices, so those stay unread and are reported.
      if (xml::peek_attr(node, "bus").value_or("ps2") != "ps2") continue;
      out.inputs.push_back({xml::attr(node, "type").value_or(""), xml::attr(node, "bus").value_or("")});
    } else if (key == "memory") {
      VNUMAD_TRY(m, read_memory_device(node));
      out.memory_devices.push_back(std::move(m));
    }
  }
  return {};
}

}  // namespace vnumad::config::detail
