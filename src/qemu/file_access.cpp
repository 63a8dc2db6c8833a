#include "qemu/file_access.hpp"

namespace vnumad::qemu {

namespace {

std::string quoted(const std::string& v) { return "'" + v + "'"; }

void add_chardevs(const std::vector<config::chardev_def>& list, bool console, std::vector<host_file_use>& out) {
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& c = list[i];
    if (c.type != "file" || !c.path) continue;
    out.push_back({.element = "<" + c.kind + " type='file'> #" + std::to_string(i + 1) + " <source path=" +
                              quoted(*c.path) + ">",
                   .path = *c.path,
                   .role = file_role::chardev_log,
                   .chardev_index = i,
                   .console = console});
  }
}

}  // namespace

std::vector<host_file_use> host_files(const config::domain& d) {
  std::vector<host_file_use> out;
  if (d.os.kernel) out.push_back({.element = "<os><kernel>" + *d.os.kernel + "</kernel>", .path = *d.os.kernel});
  if (d.os.initrd) out.push_back({.element = "<os><initrd>" + *d.os.initrd + "</initrd>", .path = *d.os.initrd});
  for (const auto& disk : d.devices.disks) {
    if (disk.source.empty()) continue;
    const bool ro = disk.readonly || disk.device == "cdrom";
    out.push_back({.element = "<disk><target dev=" + quoted(disk.target_dev) + "><source " +
                              (disk.type == "block" ? "dev=" : "file=") + quoted(disk.source) + ">",
                   .path = disk.source,
                   .role = ro ? file_role::image_read : file_role::image_read_write});
  }
  for (const auto& m : d.devices.memory_devices)
    if (m.source_path)
      out.push_back({.element = "<memory model=" + quoted(m.model) + "><source><path>" + *m.source_path + "</path>",
                     .path = *m.source_path,
                     .role = file_role::image_read_write});
  add_chardevs(d.devices.serials, false, out);
  add_chardevs(d.devices.consoles, true, out);
  return out;
}

bool is_within(const std::filesystem::path& path, const std::filesystem::path& dir) {
  if (dir.empty()) return false;
  auto p = path.begin();
  for (auto it = dir.begin(); it != dir.end(); ++it, ++p) {
    if (it->empty() && std::next(it) == dir.end()) break;  // a trailing slash
    if (p == path.end() || *p != *it) return false;
  }
  return true;
}

file_treatment treatment_for(const host_file_use& use, const std::filesystem::path& canonical,
                             const access_rules& rules) {
  bool in_image_dir = false;
  for (const auto& dir : rules.image_dirs) in_image_dir = in_image_dir || is_within(canonical, dir);
  if (use.role == file_role::chardev_log)
    return in_image_dir || is_within(canonical, rules.log_dir) ? file_treatment::open_and_pass
                                                                : file_treatment::user_must_open;
  return in_image_dir ? file_treatment::give : file_treatment::user_must_open;
}

}  // namespace vnumad::qemu
