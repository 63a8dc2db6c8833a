// PCI placement for the QEMU command line: which bus/slot/function each
// controller and device gets, for the two machine families vnumad runs.
//
// Explicit <address type='pci'> elements are honoured (and reserved first, so
// nothing automatic collides with them). Devices without one are placed the
// way libvirt places them closely enough for a guest to boot and for the NUMA
// relevant devices (expander buses, memory devices) to land where the XML says:
//  - q35: the root bus is "pcie.0"; an endpoint without an address takes the
//    first unused root port or switch downstream port, else a new
//    pcie-root-port; root ports are packed into functions 0-7 of root-bus
//    slots from 00:01 on (function 0 multifunction when the slot has more);
//    downstream ports go behind the first switch upstream port with room;
//    slot 0x1f belongs to the ICH9 (LPC, SATA, SMBus).
//  - pc (i440fx): the root bus is "pci.0"; slot 1 belongs to the PIIX3
//    (ISA, IDE, USB), endpoints go to the next free slot from 00:02 on, then
//    to the expander buses and PCI bridges in index order.
// Bus N in an address is the controller with index N, named "pci.N".
#pragma once

#include "config/domain.hpp"
#include "util/error.hpp"

#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace vnumad::qemu {

struct pci_slot {
  unsigned bus = 0;                 // controller index
  unsigned slot = 0;
  unsigned function = 0;
  bool multifunction = false;       // explicit multifunction='on'
  bool automatic = false;           // chosen here, not written in the XML
};

// A pcie-root-port that the allocator added for an endpoint without address.
struct auto_root_port {
  unsigned index = 0;               // its controller index (bus of the endpoint)
  pci_slot at;                      // where the port itself sits on pcie.0
};

class pci_allocator {
 public:
  // Reserves every explicit PCI address of the domain. Fails on an address
  // used twice, a bus that is no controller, or slot/function out of range.
  static result<pci_allocator> create(const config::domain& d, bool q35);

  bool q35() const { return q35_; }
  // "pcie.0"/"pci.0" for bus 0, "pci.N" otherwise.
  std::string bus_name(unsigned bus) const;

  // A controller plugged into the root bus (expander buses, bridges) or a
  // root port: the explicit address, or the next free root-bus slot (root
  // ports: the next free function of a root-port slot).
  result<pci_slot> place_controller(const config::controller_def& c);

  // An endpoint device: the explicit address, else (q35) slot 0 behind a new
  // root port or (pc) the next free slot of pci.0. `what` names the element.
  result<pci_slot> place_endpoint(const std::optional<config::pci_address>& addr, std::string_view what);

  // Whether an automatically placed function-0 device must say
  // multifunction=on because other functions of its slot are in use.
  bool needs_multifunction(const pci_slot& s) const;

  const std::vector<auto_root_port>& auto_root_ports() const { return auto_ports_; }

 private:
  explicit pci_allocator(bool q35) : q35_(q35) {}
  result<pci_slot> check_explicit(const config::pci_address& a, std::string_view what) const;
  result<pci_slot> next_root_slot(std::string_view what);
  result<pci_slot> next_root_port_function(std::string_view what);
  bool slot_free(unsigned bus, unsigned slot) const;
  std::optional<pci_slot> first_free_slot(unsigned bus, unsigned from_slot);

  std::map<unsigned, std::string> models_;                     // controller index -> model

  bool q35_ = false;
  std::set<unsigned> buses_;                                   // controller indices that provide a bus
  std::map<std::pair<unsigned, unsigned>, std::set<unsigned>> used_;  // (bus, slot) -> functions
  std::set<unsigned> root_port_slots_;                         // root-bus slots packed with auto root ports
  unsigned next_index_ = 0;                                    // first free controller index
  std::vector<auto_root_port> auto_ports_;
};

}  // namespace vnumad::qemu
