// QEMU's command-line value syntaxes, kept apart from what the values mean.
//
// Two syntaxes reach QEMU from vnumad:
//  - the legacy "key=value,key=value" (QemuOpts / keyval) form, used for -name,
//    -chardev, -machine, -smp, -numa ...: a comma inside a value must be written
//    as ",," or it starts a new key;
//  - JSON (-object, -device, -blockdev, -netdev), which needs no escaping.
// The argv never passes through a shell, so nothing else needs quoting; but a
// newline or NUL cannot be carried by either syntax (and has no business in a
// path or name), so such values are rejected instead of mangled.
#pragma once

#include "util/error.hpp"

#include <boost/json/object.hpp>

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace vnumad::qemu {

// Doubles every comma: "a,b" -> "a,,b".
std::string escape_option_value(std::string_view value);

// Rejects values that no QEMU option syntax can carry: empty (when
// !allow_empty), NUL, newline, carriage return or other control characters.
// `what` names the XML element/attribute, e.g. "<disk><source file>".
result<void> check_representable(std::string_view value, std::string_view what, bool allow_empty = false);

// check_representable + escape_option_value in one step.
result<std::string> option_value(std::string_view value, std::string_view what);

// Splits a key=value option string at single commas, undoing ",," escaping.
// A leading item without '=' (e.g. "pc" in "-machine pc,usb=off", "node" in
// "-numa node,...") gets an empty key. Keys may repeat (-numa cpus=).
std::vector<std::pair<std::string, std::string>> split_option(std::string_view text);

// Compact JSON text for -object/-device/-blockdev/-netdev arguments.
std::string to_json_arg(const boost::json::object& o);

// QEMU's PCI "addr" property: "0x1" or "0x1.0x2" (slot.function).
std::string format_pci_addr(unsigned slot, unsigned function);

}  // namespace vnumad::qemu
