#include "reactor/state_store.hpp"

#include "config/path_trust.hpp"

#include <boost/json.hpp>

#include <fcntl.h>
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
  fs::permissions(guest_dir(name), fs::perms::owner_all, ec);
  return {};
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

result<void> state_store::remove(std::string_view name) const {
  std::error_code ec;
  fs::remove_all(guest_dir(name), ec);
  if (ec) return make_error(errc::io_error, guest_dir(name).string() + ": cannot remove: " + ec.message());
  return {};
}

}  // namespace vnumad::reactor
