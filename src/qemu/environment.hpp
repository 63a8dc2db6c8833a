// The environment QEMU starts with: the daemon's, plus the variables a domain
// sets with <qemu:commandline><qemu:env>.
#pragma once

#include "config/domain.hpp"

#include <string>
#include <vector>

namespace vnumad::qemu {

// "NAME=value" for each <qemu:env> of the domain, in document order.
std::vector<std::string> passthrough_env(const config::domain& d);

// `base` (a NULL-terminated environ) with each "NAME=value" of `extra`
// replacing the variable of that name, the extra ones last.
std::vector<std::string> merged_environment(char* const* base, const std::vector<std::string>& extra);

}  // namespace vnumad::qemu
