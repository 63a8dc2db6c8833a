// Finding QEMU processes in /proc by their command line: the identity check
// after a pidfd attach, and the scan for QEMUs of a state dir that no guest
// supervises.
#include "qemu/process.hpp"

#include "util/read_whole_file.hpp"

#include <filesystem>

namespace vnumad::qemu {

bool process_is_qemu_for(pid_t pid, std::string_view marker) {
  auto read = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline");
  if (!read) return false;  // gone meanwhile
  const std::string& cmdline = *read;
  std::vector<std::string_view> args;
  std::string_view rest(cmdline);
  while (!rest.empty()) {
    const auto nul = rest.find('\0');
    args.push_back(rest.substr(0, nul));
    if (nul == std::string_view::npos) break;
    rest.remove_prefix(nul + 1);
  }
  // A zombie or kernel thread has an empty command line.
  if (args.empty()) return false;
  const std::string_view argv0 = args.front();
  const auto slash = argv0.rfind('/');
  const std::string_view base = slash == std::string_view::npos ? argv0 : argv0.substr(slash + 1);
  if (base.find("qemu") == std::string_view::npos) return false;
  for (std::size_t i = 1; i < args.size(); ++i)
    if (args[i].find(marker) != std::string_view::npos) return true;
  return false;
}

std::vector<pid_t> find_qemu_processes(std::string_view marker) {
  std::vector<pid_t> found;
  std::error_code ec;
  for (std::filesystem::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(name));
    if (process_is_qemu_for(pid, marker)) found.push_back(pid);
  }
  return found;
}

}  // namespace vnumad::qemu
