#include "reactor/state_store.hpp"

#include "config/path_trust.hpp"
#include "qemu/file_grants.hpp"
#include "reactor/logging.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace vnumad::reactor {

namespace json = boost::json;
namespace fs = std::filesystem;

namespace {

// Both open with O_NOFOLLOW in a directory only root can write
// (config/path_trust.hpp): a link planted in the state dir is not followed.
result<void> write_atomically(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  auto fd = config::open_in_trusted_dir(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
  if (!fd) return fd.error();
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(*fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      const int err = errno;
      ::close(*fd);
      return make_error(errc::io_error, tmp.string() + ": write failed: " + std::strerror(err));
    }
    done += static_cast<std::size_t>(n);
  }
  ::fchmod(*fd, 0600);  // an older .tmp keeps its mode through O_TRUNC
  if (::close(*fd) != 0) return make_error(errc::io_error, tmp.string() + ": write failed: " + std::strerror(errno));
  std::error_code ec;
  fs::rename(tmp, path, ec);
  if (ec) return make_error(errc::io_error, path.string() + ": rename failed: " + ec.message());
  return {};
}

result<std::string> read_file(const fs::path& path) {
  auto fd = config::open_in_trusted_dir(path, O_RDONLY);
  if (!fd) return make_error(fd.error().code, "cannot read " + fd.error().message);
  std::string text;
  char buf[16 * 1024];
  for (;;) {
    const ssize_t n = ::read(*fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(*fd);
      return make_error(errc::io_error, path.string() + ": cannot read: " + std::strerror(err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
  }
  ::close(*fd);
  return text;
}

}  // namespace

result<void> state_store::prepare(std::string_view name) const {
  std::error_code ec;
  fs::create_directories(root_, ec);
  if (ec) return make_error(errc::io_error, root_.string() + ": cannot create: " + ec.message());
  fs::create_directories(guest_dir(name), ec);
  if (ec) return make_error(errc::io_error, guest_dir(name).string() + ": cannot create: " + ec.message());
  fs::permissions(guest_dir(name), fs::perms::owner_all | fs::perms::group_exec | fs::perms::others_exec, ec);
  return {};
}

fs::path state_store::qmp_socket(std::string_view name) const {
  const fs::path legacy = guest_dir(name) / "qmp.sock";
  std::error_code ec;
  if (fs::is_socket(legacy, ec)) return legacy;
  return qemu_dir(name) / "qmp.sock";
}

std::vector<fs::path> state_store::grant_files_except(std::string_view name) const {
  std::vector<fs::path> files;
  for (const auto& other : list())
    if (other != name && fs::exists(grants_file(other))) files.push_back(grants_file(other));
  return files;
}

result<void> state_store::save(const guest_record& r) const {
  if (auto ok = prepare(r.name); !ok) return ok;
  if (auto ok = write_atomically(guest_dir(r.name) / "domain.xml", r.expanded_xml); !ok) return ok;
  json::array dimms;
  for (const auto& d : r.hotplugged_dimms) dimms.push_back(json::value(d));
  json::object o{{"name", r.name},
                 {"pid", r.pid},
                 {"phase", r.phase == start_phase::running ? "running" : "starting"},
                 {"config_file", r.config_file.string()},
                 {"started_at", r.started_at},
                 {"hotplugged_dimms", std::move(dimms)},
                 {"placement", vnuma::to_json(r.place)}};
  return write_atomically(guest_dir(r.name) / "record.json", json::serialize(o) + "\n");
}

result<guest_record> state_store::load(std::string_view name) const {
  auto text = read_file(guest_dir(name) / "record.json");
  if (!text) return text.error();
  auto xml = read_file(guest_dir(name) / "domain.xml");
  if (!xml) return xml.error();
  std::string where = (guest_dir(name) / "record.json").string();
  boost::system::error_code ec;
  json::value v = json::parse(*text, ec);
  if (ec || !v.is_object()) return make_error(errc::protocol_error, where + ": not a JSON object");
  try {
    const json::object& o = v.as_object();
    guest_record r;
    r.name = std::string(o.at("name").as_string());
    if (r.name != name) return make_error(errc::protocol_error, where + ": names guest '" + r.name + "'");
    r.pid = static_cast<pid_t>(o.at("pid").to_number<std::int64_t>());
    r.phase = o.at("phase").as_string() == "running" ? start_phase::running : start_phase::starting;
    r.config_file = std::string(o.at("config_file").as_string());
    r.started_at = o.at("started_at").to_number<std::int64_t>();
    if (const auto* dimms = o.if_contains("hotplugged_dimms"))
      for (const auto& d : dimms->as_array()) r.hotplugged_dimms.emplace_back(d.as_string());
    auto place = vnuma::placement_from_json(o.at("placement"));
    if (!place) return make_error(errc::protocol_error, where + ": " + place.error().message);
    r.place = std::move(*place);
    r.expanded_xml = std::move(*xml);
    return r;
  } catch (const std::exception& e) {
    return make_error(errc::protocol_error, where + ": " + e.what());
  }
}

std::vector<std::string> state_store::list() const {
  std::vector<std::string> names;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(root_, ec))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

fs::path state_store::qmp_socket_spare(std::string_view name) const {
  fs::path root = root_.lexically_normal();
  if (!root.has_filename()) root = root.parent_path();  // a trailing '/'
  return root.parent_path() / ("." + root.filename().string() + "-qmp") / (std::string(name) + ".sock");
}

result<void> state_store::keep_qmp_socket(std::string_view name) const {
  const fs::path spare = qmp_socket_spare(name);
  std::error_code ec;
  fs::create_directories(spare.parent_path(), ec);
  if (ec) return make_error(errc::io_error, spare.parent_path().string() + ": cannot create: " + ec.message());
  fs::permissions(spare.parent_path(), fs::perms::owner_all, ec);
  fs::remove(spare, ec);
  fs::create_hard_link(qmp_socket(name), spare, ec);
  if (ec) return make_error(errc::io_error, "cannot link " + qmp_socket(name).string() + " to " + spare.string() + ": " + ec.message());
  return {};
}

result<std::string> state_store::restore_qmp_socket(std::string_view name) const {
  const fs::path socket = qmp_socket(name);
  const fs::path spare = qmp_socket_spare(name);
  std::error_code ec;
  const bool have_socket = fs::is_socket(fs::symlink_status(socket, ec));
  const bool have_spare = fs::is_socket(fs::symlink_status(spare, ec));
  if (have_socket == have_spare) return std::string();  // both there, or nothing to restore from
  if (!have_socket) {
    if (auto ok = prepare(name); !ok) return ok.error();
    // QEMU's own folder went with the state dir; root's now, which is all
    // vnumad needs to reach a QEMU that already listens.
    fs::create_directories(socket.parent_path(), ec);
    fs::create_hard_link(spare, socket, ec);
    if (ec) return make_error(errc::io_error, "cannot link " + spare.string() + " back to " + socket.string() + ": " + ec.message());
    return socket.string() + " (from " + spare.string() + ")";
  }
  if (auto kept = keep_qmp_socket(name); !kept) return kept.error();
  return spare.string();
}

result<void> state_store::remove(std::string_view name) const {
  if (fs::exists(grants_file(name)))
    for (const auto& problem : qemu::restore_file_grants(grants_file(name), grant_files_except(name)))
      log(log_level::warning, "guest '" + std::string(name) + "': " + problem);
  std::error_code ec;
  fs::remove(qmp_socket_spare(name), ec);
  fs::remove_all(guest_dir(name), ec);
  if (ec) return make_error(errc::io_error, guest_dir(name).string() + ": cannot remove: " + ec.message());
  return {};
}

}  // namespace vnumad::reactor
