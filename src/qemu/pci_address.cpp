#include "qemu/pci_address.hpp"

#include <algorithm>

namespace vnumad::qemu {
namespace {

constexpr unsigned max_slot = 31;
constexpr unsigned max_function = 7;

std::string where(const config::pci_address& a) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04x:%02x:%02x.%x", a.domain, a.bus, a.slot, a.function);
  return buf;
}

}  // namespace

result<pci_allocator> pci_allocator::create(const config::domain& d, bool q35) {
  pci_allocator a(q35);
  a.buses_.insert(0);
  unsigned max_index = 0;
  for (const auto& c : d.devices.controllers) {
    if (c.type != "pci") continue;
    a.buses_.insert(c.index);
    a.models_[c.index] = c.model;
    max_index = std::max(max_index, c.index);
  }
  a.next_index_ = max_index + 1;

  // Built-in functions of the chipset: nothing automatic may go there.
  if (q35) {
    a.used_[{0, 0}].insert(0);                        // host bridge
    a.used_[{0, 0x1f}].insert({0, 2, 3});             // ICH9 LPC, SATA, SMBus
  } else {
    a.used_[{0, 0}].insert(0);                        // i440FX host bridge
    a.used_[{0, 1}].insert({0, 1, 2, 3});             // PIIX3 ISA, IDE, USB, PM
  }

  auto reserve = [&](const std::optional<config::pci_address>& addr, const std::string& what) -> result<void> {
    if (!addr) return {};
    auto s = a.check_explicit(*addr, what);
    if (!s) return s.error();
    auto& fns = a.used_[{s->bus, s->slot}];
    // The chipset's own functions may be named explicitly (libvirt writes the
    // ICH9 SATA at 00:1f.2 and the PIIX3 IDE/USB at 00:01.1/.2).
    bool builtin = s->bus == 0 && ((q35 && s->slot == 0x1f) || (!q35 && s->slot == 1));
    if (fns.count(s->function) && !builtin)
      return make_error(errc::duplicate_element,
                        what + ": PCI address " + where(*addr) + " is already used by another device");
    fns.insert(s->function);
    return {};
  };
  for (const auto& c : d.devices.controllers)
    if (auto r = reserve(c.pci, "<controller type='" + c.type + "' index='" + std::to_string(c.index) + "'>"); !r)
      return r.error();
  for (const auto& disk : d.devices.disks)
    if (auto r = reserve(disk.pci, "<disk><target dev='" + disk.target_dev + "'>"); !r) return r.error();
  for (std::size_t i = 0; i < d.devices.interfaces.size(); ++i)
    if (auto r = reserve(d.devices.interfaces[i].pci, "<interface> #" + std::to_string(i + 1)); !r) return r.error();
  for (std::size_t i = 0; i < d.devices.memory_devices.size(); ++i)
    if (auto r = reserve(d.devices.memory_devices[i].pci, "<memory model='" + d.devices.memory_devices[i].model + "'>");
        !r)
      return r.error();
  return a;
}

std::string pci_allocator::bus_name(unsigned bus) const {
  if (bus == 0) return q35_ ? "pcie.0" : "pci.0";
  return "pci." + std::to_string(bus);
}

result<pci_slot> pci_allocator::check_explicit(const config::pci_address& a, std::string_view what) const {
  if (a.domain != 0)
    return make_error(errc::unsupported, std::string(what) + ": PCI domain " + std::to_string(a.domain) +
                                             " in address " + where(a) + "; only domain 0 exists");
  if (!buses_.count(a.bus))
    return make_error(errc::invalid_value, std::string(what) + ": PCI address " + where(a) + " names bus " +
                                               std::to_string(a.bus) +
                                               ", but no <controller type='pci'> has that index");
  if (a.slot > max_slot || a.function > max_function)
    return make_error(errc::invalid_value, std::string(what) + ": PCI address " + where(a) +
                                               " is out of range (slot 0-31, function 0-7)");
  return pci_slot{a.bus, a.slot, a.function, a.multifunction, false};
}

bool pci_allocator::slot_free(unsigned bus, unsigned slot) const {
  auto it = used_.find({bus, slot});
  return it == used_.end() || it->second.empty();
}

std::optional<pci_slot> pci_allocator::first_free_slot(unsigned bus, unsigned from_slot) {
  for (unsigned slot = from_slot; slot <= max_slot; ++slot) {
    if (!slot_free(bus, slot)) continue;
    used_[{bus, slot}].insert(0);
    return pci_slot{bus, slot, 0, false, true};
  }
  return std::nullopt;
}

result<pci_slot> pci_allocator::next_root_slot(std::string_view what) {
  if (auto s = first_free_slot(0, 1)) return *s;
  return make_error(errc::unsupported, std::string(what) + ": no free slot left on " + bus_name(0) +
                                           "; give the device an explicit <address type='pci'> behind a bridge");
}

result<pci_slot> pci_allocator::next_root_port_function(std::string_view what) {
  for (unsigned slot : root_port_slots_) {
    auto& fns = used_[{0, slot}];
    for (unsigned f = 0; f <= max_function; ++f)
      if (!fns.count(f)) {
        fns.insert(f);
        return pci_slot{0, slot, f, false, true};
      }
  }
  auto s = next_root_slot(what);
  if (s) root_port_slots_.insert(s->slot);
  return s;
}

result<pci_slot> pci_allocator::place_controller(const config::controller_def& c) {
  std::string what = "<controller type='pci' index='" + std::to_string(c.index) + "' model='" + c.model + "'>";
  if (c.pci) return check_explicit(*c.pci, what);
  if (q35_ && c.model == "pcie-root-port") return next_root_port_function(what);
  if (c.model == "pcie-switch-downstream-port") {
    for (const auto& [index, model] : models_)
      if (model == "pcie-switch-upstream-port")
        if (auto s = first_free_slot(index, 0)) return *s;
    return make_error(errc::invalid_value, what + ": needs a pcie-switch-upstream-port with a free slot");
  }
  return next_root_slot(what);
}

result<pci_slot> pci_allocator::place_endpoint(const std::optional<config::pci_address>& addr, std::string_view what) {
  if (addr) {
    // Usually reserved by create() already; addresses the model learnt later
    // (read from the XML tree) are reserved here.
    auto s = check_explicit(*addr, what);
    if (s) used_[{s->bus, s->slot}].insert(s->function);
    return s;
  }
  if (!q35_) {
    if (auto s = first_free_slot(0, 2)) return *s;
    for (const auto& [index, model] : models_) {
      if (model == "pci-expander-bus")
        if (auto s = first_free_slot(index, 0)) return *s;
      if (model == "pci-bridge")
        if (auto s = first_free_slot(index, 1)) return *s;
    }
    return make_error(errc::unsupported, std::string(what) +
                                             ": no free PCI slot left on pci.0, expander buses or bridges; add a "
                                             "<controller type='pci' model='pci-bridge'>");
  }
  for (const auto& [index, model] : models_)
    if ((model == "pcie-root-port" || model == "pcie-switch-downstream-port") && slot_free(index, 0)) {
      used_[{index, 0}].insert(0);
      return pci_slot{index, 0, 0, false, true};
    }
  auto port = next_root_port_function(what);
  if (!port) return port.error();
  unsigned index = next_index_++;
  buses_.insert(index);
  auto_ports_.push_back({index, *port});
  used_[{index, 0}].insert(0);
  return pci_slot{index, 0, 0, false, true};
}

bool pci_allocator::needs_multifunction(const pci_slot& s) const {
  if (s.multifunction) return true;
  if (!s.automatic || s.function != 0) return false;
  auto it = used_.find({s.bus, s.slot});
  return it != used_.end() && it->second.size() > 1;
}

}  // namespace vnumad::qemu
