// Writing <devices>: the elements the model owns (memory devices, balloon)
// into a kept tree, or every device of a domain built in memory.
#include "config/domain_xml_detail.hpp"

namespace vnumad::config::detail {
namespace {

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
  auto addr = xml::find(node, "address");
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
    if (d.iothread) xml::set_attr(driver, "iothread", std::to_string(*d.iothread));
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
