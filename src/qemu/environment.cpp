#include "qemu/environment.hpp"

#include <algorithm>
#include <string_view>

namespace vnumad::qemu {

std::vector<std::string> passthrough_env(const config::domain& d) {
  std::vector<std::string> out;
  if (d.qemu_commandline)
    for (const auto& e : d.qemu_commandline->env) out.push_back(e.name + "=" + e.value);
  return out;
}

std::vector<std::string> merged_environment(char* const* base, const std::vector<std::string>& extra) {
  auto name_of = [](std::string_view entry) { return entry.substr(0, entry.find('=') + 1); };  // "NAME="
  std::vector<std::string> out;
  for (char* const* e = base; e && *e; ++e) {
    const std::string_view name = name_of(*e);
    if (std::none_of(extra.begin(), extra.end(), [&](const std::string& x) { return name_of(x) == name; }))
      out.emplace_back(*e);
  }
  out.insert(out.end(), extra.begin(), extra.end());
  return out;
}

}  // namespace vnumad::qemu
