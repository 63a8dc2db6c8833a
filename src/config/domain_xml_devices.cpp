// <devices>: disks, controllers, interfaces, serials/consoles, inputs, the
// balloon and memory devices (dimm, nvdimm, virtio-mem).
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
  if (auto driver = node.get_child_optional("driver")) {
    if (auto t = xml::attr(*driver, "type")) d.driver_type = *t;
    d.cache = xml::attr(*driver, "cache");
  }
  if (auto source = node.get_child_optional("source"))
    d.source = xml::attr(*source, d.type == "block" ? "dev" : "file").value_or("");
  if (auto target = node.get_child_optional("target")) {
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
  if (auto addr = node.get_child_optional("address"); addr && xml::attr(*addr, "type").value_or("") == "drive") {
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
  if (auto model = node.get_child_optional("model")) c.model_name = xml::attr(*model, "name");
  if (auto target = node.get_child_optional("target")) {
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
  if (auto mac = node.get_child_optional("mac")) i.mac = xml::attr(*mac, "address");
  if (auto source = node.get_child_optional("source")) {
    i.source = xml::attr(*source, "bridge");
    if (!i.source) i.source = xml::attr(*source, "network");
    if (!i.source) i.source = xml::attr(*source, "dev");
  }
  if (auto model = node.get_child_optional("model")) i.model = xml::attr(*model, "type").value_or(i.model);
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
  if (auto source = node.get_child_optional("source")) {
    c.path = xml::attr(*source, "path");
    c.mode = xml::attr(*source, "mode");
  }
  if (auto target = node.get_child_optional("target")) {
    c.target_type = xml::attr(*target, "type");
    VNUMAD_TRY(port, xml::uint_attr(*target, kind + "><target", "port"));
    c.target_port = port;
    if (auto model = target->get_child_optional("model")) c.model_name = xml::attr(*model, "name");
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
  if (auto source = node.get_child_optional("source")) {
    if (auto ps = source->get_child_optional("pagesize")) {
      VNUMAD_TRY(bytes, read_scaled(*ps, "source><pagesize"));
      m.source_pagesize_bytes = bytes;
    }
    if (auto mask = source->get_child_optional("nodemask")) {
      VNUMAD_TRY(set, parse_id_set(xml::text(*mask), "<source><nodemask>"));
      m.source_nodemask = set;
    }
    if (auto path = source->get_child_optional("path")) m.source_path = xml::text(*path);
    if (source->count("pmem")) m.source_pmem = true;
  }
  auto target = node.get_child_optional("target");
  if (!target) return make_error(errc::missing_element, "<" + elem + "> has no <target> (it needs <size>)");
  auto size = target->get_child_optional("size");
  if (!size) return make_error(errc::missing_element, "<" + elem + "><target> has no <size>");
  VNUMAD_TRY(bytes, read_scaled(*size, "target><size"));
  m.target_size_bytes = bytes;
  if (auto n = target->get_child_optional("node")) {
    VNUMAD_TRY(v, xml::parse_uint(xml::text(*n), "<" + elem + "><target><node>" + xml::text(*n) + "</node>"));
    m.target_node = v;
  }
  if (auto label = target->get_child_optional("label"))
    if (auto ls = label->get_child_optional("size")) {
      VNUMAD_TRY(v, read_scaled(*ls, "label><size"));
      m.target_label_bytes = v;
    }
  if (target->count("readonly")) m.target_readonly = true;
  if (auto dyn = xml::attr(*target, "dynamicMemslots")) {
    VNUMAD_TRY(b, xml::parse_bool(*dyn, xml::show_attr("target", "dynamicMemslots", *dyn)));
    m.target_dynamic_memslots = b;
  }
  if (auto b = target->get_child_optional("block")) {
    VNUMAD_TRY(v, read_scaled(*b, "target><block"));
    m.target_block_bytes = v;
  }
  if (auto r = target->get_child_optional("requested")) {
    VNUMAD_TRY(v, read_scaled(*r, "target><requested"));
    m.target_requested_bytes = v;
  }
  if (auto a = target->get_child_optional("address"))
    if (auto base = xml::attr(*a, "base")) {
      VNUMAD_TRY(v, xml::parse_u64(*base, xml::show_attr("target><address", "base", *base)));
      m.target_address_base = v;
    }
  if (auto addr = node.get_child_optional("address"); addr && xml::attr(*addr, "type").value_or("") == "dimm") {
    VNUMAD_TRY(slot, xml::uint_attr(*addr, "address type='dimm'", "slot"));
    m.address_slot = slot;
    if (auto base = xml::attr(*addr, "base")) {
      VNUMAD_TRY(v, xml::parse_u64(*base, xml::show_attr("address type='dimm'", "base", *base)));
      m.address_base = v;
    }
  }
  VNUMAD_TRY(pci, read_pci(node, "<" + elem + ">"));
  m.pci = pci;
  if (auto alias = node.get_child_optional("alias")) m.alias = xml::attr(*alias, "name");
  return m;
}

void write_pci(ptree& node, const std::optional<pci_address>& pci) {
  if (!pci) return;
  ptree& a = xml::child(node, "address");
  a.clear();
  xml::set_attr(a, "type", "pci");
  xml::set_attr(a, "domain", xml::hex(pci->domain, 4));
  xml::set_attr(a, "bus", xml::hex(pci->bus, 2));
  xml::set_attr(a, "slot", xml::hex(pci->slot, 2));
  xml::set_attr(a, "function", xml::hex(pci->function, 1));
  if (pci->multifunction) xml::set_attr(a, "multifunction", "on");
}

void write_optional_scaled(ptree& node, std::string_view name, const std::optional<std::uint64_t>& bytes) {
  if (bytes)
    xml::set_scaled_child(node, name, *bytes);
  else
    xml::erase_children(node, name);
}

void write_memory_device(const memory_device_def& m, ptree& node) {
  xml::set_attr(node, "model", m.model);
  if (m.access) xml::set_attr(node, "access", *m.access); else xml::erase_attr(node, "access");
  if (m.discard) xml::set_attr(node, "discard", *m.discard ? "yes" : "no"); else xml::erase_attr(node, "discard");
  bool has_source = m.source_pagesize_bytes || m.source_nodemask || m.source_path || m.source_pmem.value_or(false);
  if (has_source) {
    ptree& s = xml::child(node, "source");
    write_optional_scaled(s, "pagesize", m.source_pagesize_bytes);
    if (m.source_nodemask) xml::child(s, "nodemask").data() = format_id_set(*m.source_nodemask);
    else xml::erase_children(s, "nodemask");
    if (m.source_path) xml::child(s, "path").data() = *m.source_path; else xml::erase_children(s, "path");
    xml::set_flag(s, "pmem", m.source_pmem.value_or(false));
  } else {
    xml::erase_children(node, "source");
  }
  ptree& t = xml::child(node, "target");
  xml::set_scaled_child(t, "size", m.target_size_bytes);
  if (m.target_node) xml::child(t, "node").data() = std::to_string(*m.target_node); else xml::erase_children(t, "node");
  write_optional_scaled(t, "block", m.target_block_bytes);
  write_optional_scaled(t, "requested", m.target_requested_bytes);
  if (m.target_label_bytes) xml::set_scaled_child(xml::child(t, "label"), "size", *m.target_label_bytes);
  else xml::erase_children(t, "label");
  xml::set_flag(t, "readonly", m.target_readonly.value_or(false));
  if (m.target_dynamic_memslots) xml::set_attr(t, "dynamicMemslots", *m.target_dynamic_memslots ? "yes" : "no");
  else xml::erase_attr(t, "dynamicMemslots");
  if (m.target_address_base) xml::set_attr(xml::child(t, "address"), "base", xml::hex64(*m.target_address_base));
  else xml::erase_children(t, "address");
  auto addr = node.get_child_optional("address");
  std::string addr_type = addr ? xml::attr(*addr, "type").value_or("") : "";
  if (m.pci) {
    write_pci(node, m.pci);
  } else if (m.address_slot || m.address_base) {
    ptree& a = xml::child(node, "address");
    a.clear();
    xml::set_attr(a, "type", "dimm");
    if (m.address_slot) xml::set_attr(a, "slot", std::to_string(*m.address_slot));
    if (m.address_base) {
      xml::set_attr(a, "base", xml::hex64(*m.address_base));
    }
  } else if (addr_type == "dimm" || addr_type == "pci") {
    xml::erase_children(node, "address");
  }
  if (m.alias) xml::set_attr(xml::child(node, "alias"), "name", *m.alias); else xml::erase_children(node, "alias");
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
      out.inputs.push_back({xml::attr(node, "type").value_or(""), xml::attr(node, "bus").value_or("")});
    } else if (key == "memory") {
      VNUMAD_TRY(m, read_memory_device(node));
      out.memory_devices.push_back(std::move(m));
    }
  }
  return {};
}

void write_owned_devices(ptree& devices, const devices_def& dev) {
  sync_list(devices, "memory", dev.memory_devices, write_memory_device);
  if (!dev.memballoon_model) {
    xml::erase_children(devices, "memballoon");
    return;
  }
  ptree& balloon = xml::child(devices, "memballoon");
  // model='none' takes no address or stats: a leftover <address> would make
  // libvirt reject the document.
  if (*dev.memballoon_model == "none") balloon.clear();
  xml::set_attr(balloon, "model", *dev.memballoon_model);
}

void write_all_devices(ptree& devices, const devices_def& dev) {
  if (dev.emulator) xml::child(devices, "emulator").data() = *dev.emulator;
  for (const disk_def& d : dev.disks) {
    ptree n;
    xml::set_attr(n, "type", d.type);
    xml::set_attr(n, "device", d.device);
    ptree& driver = xml::child(n, "driver");
    xml::set_attr(driver, "name", "qemu");
    xml::set_attr(driver, "type", d.driver_type);
    if (d.cache) xml::set_attr(driver, "cache", *d.cache);
    if (!d.source.empty()) xml::set_attr(xml::child(n, "source"), d.type == "block" ? "dev" : "file", d.source);
    ptree& target = xml::child(n, "target");
    xml::set_attr(target, "dev", d.target_dev);
    if (!d.bus.empty()) xml::set_attr(target, "bus", d.bus);
    xml::set_flag(n, "readonly", d.readonly);
    write_pci(n, d.pci);
    if (d.drive) {
      ptree& a = xml::child(n, "address");
      xml::set_attr(a, "type", "drive");
      xml::set_attr(a, "controller", std::to_string(d.drive->controller));
      xml::set_attr(a, "bus", std::to_string(d.drive->bus));
      xml::set_attr(a, "target", std::to_string(d.drive->target));
      xml::set_attr(a, "unit", std::to_string(d.drive->unit));
    }
    devices.push_back({"disk", n});
  }
  for (const controller_def& c : dev.controllers) {
    ptree n;
    xml::set_attr(n, "type", c.type);
    xml::set_attr(n, "index", std::to_string(c.index));
    if (!c.model.empty()) xml::set_attr(n, "model", c.model);
    if (c.model_name) xml::set_attr(xml::child(n, "model"), "name", *c.model_name);
    if (c.target_bus_nr || c.target_chassis || c.target_port || c.target_node) {
      ptree& t = xml::child(n, "target");
      if (c.target_chassis) xml::set_attr(t, "chassis", std::to_string(*c.target_chassis));
      if (c.target_port) xml::set_attr(t, "port", xml::hex(*c.target_port, 1));
      if (c.target_bus_nr) xml::set_attr(t, "busNr", std::to_string(*c.target_bus_nr));
      if (c.target_node) xml::child(t, "node").data() = std::to_string(*c.target_node);
    }
    write_pci(n, c.pci);
    devices.push_back({"controller", n});
  }
  for (const interface_def& i : dev.interfaces) {
    ptree n;
    xml::set_attr(n, "type", i.type);
    if (i.mac) xml::set_attr(xml::child(n, "mac"), "address", *i.mac);
    if (i.source && i.type != "user") xml::set_attr(xml::child(n, "source"), i.type, *i.source);
    xml::set_attr(xml::child(n, "model"), "type", i.model);
    write_pci(n, i.pci);
    devices.push_back({"interface", n});
  }
  auto write_chardevs = [&](const std::vector<chardev_def>& list) {
    for (const chardev_def& c : list) {
      ptree n;
      xml::set_attr(n, "type", c.type);
      if (c.path || c.mode) {
        ptree& s = xml::child(n, "source");
        if (c.mode) xml::set_attr(s, "mode", *c.mode);
        if (c.path) xml::set_attr(s, "path", *c.path);
      }
      if (c.target_type || c.target_port || c.model_name) {
        ptree& t = xml::child(n, "target");
        if (c.target_type) xml::set_attr(t, "type", *c.target_type);
        if (c.target_port) xml::set_attr(t, "port", std::to_string(*c.target_port));
        if (c.model_name) xml::set_attr(xml::child(t, "model"), "name", *c.model_name);
      }
      devices.push_back({c.kind.empty() ? "serial" : c.kind, n});
    }
  };
  write_chardevs(dev.serials);
  write_chardevs(dev.consoles);
  for (const input_def& in : dev.inputs) {
    ptree n;
    xml::set_attr(n, "type", in.type);
    if (!in.bus.empty()) xml::set_attr(n, "bus", in.bus);
    devices.push_back({"input", n});
  }
  write_owned_devices(devices, dev);
}

}  // namespace vnumad::config::detail
