// A guest definition from the config dir, read only if vnumad may trust it:
// the file and its directories are root's alone (config/path_trust.hpp), it
// parses and validates within the size and depth limits
// (config/xml_limits.hpp), and its <emulator> is an allowed one
// (vnumad.conf `emulators`); with vnumad.conf `strict = true`, nothing in it
// is left unacted on (domain::warnings).
#pragma once

#include "config/daemon_config.hpp"
#include "config/domain.hpp"
#include "util/error.hpp"

#include <filesystem>

namespace vnumad::reactor {

result<config::domain> read_trusted_definition(const std::filesystem::path& file, const config::daemon_config& cfg);

}  // namespace vnumad::reactor
