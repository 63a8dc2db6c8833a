#include "reactor/qemu_scan.hpp"

#include "util/read_whole_file.hpp"

namespace vnumad::reactor {

namespace fs = std::filesystem;

namespace {

std::vector<std::string> read_cmdline(pid_t pid) {
  // A process that exits meanwhile reads as empty: not a QEMU.
  const std::string text = read_whole_file("/proc/" + std::to_string(pid) + "/cmdline").value_or("");
  std::vector<std::string> args;
  std::size_t start = 0;
  while (start < text.size()) {
    std::size_t nul = text.find('\0', start);
    if (nul == std::string::npos) nul = text.size();
    args.push_back(text.substr(start, nul - start));
    start = nul + 1;
  }
  return args;
}

}  // namespace

std::optional<std::string> guest_of_qemu_argv(const std::vector<std::string>& argv, const fs::path& state_root) {
  if (argv.empty()) return std::nullopt;  // a zombie or kernel thread
  if (fs::path(argv.front()).filename().string().find("qemu") == std::string::npos) return std::nullopt;
  std::optional<std::string> name;
  for (std::size_t i = 1; i + 1 < argv.size(); ++i)
    if (argv[i] == "-name" && argv[i + 1].rfind("guest=", 0) == 0) {
      const std::string& value = argv[i + 1];
      name = value.substr(6, value.find(',') == std::string::npos ? std::string::npos : value.find(',') - 6);
    }
  if (!name || name->empty()) return std::nullopt;
  // The QMP socket in QEMU's own folder (state_store.hpp), or in the guest's
  // folder for a QEMU started before that folder existed.
  for (const fs::path& path : {state_root / *name / "qemu" / "qmp.sock", state_root / *name / "qmp.sock"}) {
    const std::string socket = "path=" + path.string() + ",";
    for (std::size_t i = 1; i < argv.size(); ++i)
      if (argv[i].find(socket) != std::string::npos) return name;
  }
  return std::nullopt;
}

std::vector<running_qemu> find_qemus_of(const fs::path& state_root) {
  std::vector<running_qemu> found;
  std::error_code ec;
  for (fs::directory_iterator it("/proc", ec), end; !ec && it != end; it.increment(ec)) {
    const std::string entry = it->path().filename().string();
    if (entry.empty() || entry.find_first_not_of("0123456789") != std::string::npos) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(entry));
    if (auto name = guest_of_qemu_argv(read_cmdline(pid), state_root)) found.push_back({pid, *name});
  }
  return found;
}

}  // namespace vnumad::reactor
