// What the read-only control socket (mode 0666: any local user) may see of a
// domain. Domain files are root's; they may hold a VNC/SPICE password
// (<graphics passwd=...>), other secret attributes, and free text an operator
// never meant for every user (<description>, <metadata>, XML comments). As
// libvirt does without VIR_DOMAIN_XML_SECURE, these are left out.
#pragma once

#include "config/domain.hpp"

#include <string_view>

namespace vnumad::config {

// An attribute name that holds a secret: one containing "passw" or "secret"
// in any case (passwd, password, passwdValidTo, which libvirt drops with the
// password, secret-key...).
bool is_secret_attribute(std::string_view name);

// `d` with <description>, <metadata>, XML comments and every secret attribute
// (at any depth) removed from its XML tree; the model is unchanged, so the
// written XML is otherwise the same.
domain redacted(const domain& d);

}  // namespace vnumad::config
