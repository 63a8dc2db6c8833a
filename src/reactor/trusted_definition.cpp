#include "reactor/trusted_definition.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml.hpp"
#include "config/path_trust.hpp"

namespace vnumad::reactor {

result<config::domain> read_trusted_definition(const std::filesystem::path& file, const config::daemon_config& cfg) {
  if (auto trusted = config::check_trusted_path(file, "domain file"); !trusted) return trusted.error();
  auto parsed = config::parse_domain_file(file);
  if (!parsed) return parsed;
  if (auto valid = config::validate_domain(*parsed); !valid) return valid.error();
  if (auto strict = config::check_strict(*parsed, cfg.strict); !strict) return strict.error();
  if (parsed->devices.emulator)
    if (auto allowed = config::check_emulator(*parsed->devices.emulator, cfg); !allowed)
      return make_error(allowed.error().code, file.string() + ": " + allowed.error().message);
  return parsed;
}

}  // namespace vnumad::reactor
