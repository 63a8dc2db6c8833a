#include "cgroup/proc.hpp"

#include "util/read_whole_file.hpp"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace vnumad::cgroup {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\n')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\n')) s.remove_suffix(1);
  return s;
}

bool parse_pid(std::string_view s, pid_t& out) {
  if (s.empty()) return false;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc() && ptr == s.data() + s.size() && out > 0;
}

}  // namespace

result<std::string> read_text_file(const std::filesystem::path& path) {
  // read(2), so that a /proc file whose process exits meanwhile is an error
  // (ESRCH), not a short read or an exception (util/read_whole_file.hpp).
  auto text = read_whole_file(path);
  if (!text) {
    int err = errno;
    return make_error(err == ENOENT ? errc::not_found : errc::io_error,
                      "cannot read " + path.string() + ": " + std::strerror(err));
  }
  return std::move(*text);
}

result<std::vector<pid_t>> parse_id_lines(std::string_view text, std::string_view origin) {
  std::vector<pid_t> ids;
  while (!text.empty()) {
    std::size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    if (line.empty()) continue;
    pid_t id = 0;
    if (!parse_pid(line, id))
      return make_error(errc::io_error, std::string(origin) + ": '" + std::string(line) + "' is not a thread id");
    ids.push_back(id);
  }
  return ids;
}

result<std::vector<pid_t>> list_threads(pid_t pid) {
  std::filesystem::path dir = "/proc/" + std::to_string(pid) + "/task";
  std::error_code ec;
  std::vector<pid_t> tids;
  for (std::filesystem::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    pid_t tid = 0;
    if (parse_pid(it->path().filename().string(), tid)) tids.push_back(tid);
  }
  if (ec)
    return make_error(ec == std::errc::no_such_file_or_directory ? errc::not_found : errc::io_error,
                      "cannot list threads in " + dir.string() + ": " + ec.message());
  std::sort(tids.begin(), tids.end());
  return tids;
}

result<std::string> read_status_field(pid_t pid, pid_t tid, std::string_view key) {
  std::filesystem::path path = pid == 0 ? "/proc/" + std::to_string(tid) + "/status"
                                        : "/proc/" + std::to_string(pid) + "/task/" + std::to_string(tid) + "/status";
  auto text = read_text_file(path);
  if (!text) return text.error();
  std::string_view rest = *text;
  while (!rest.empty()) {
    std::size_t nl = rest.find('\n');
    std::string_view line = rest.substr(0, nl);
    rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
    if (line.size() > key.size() && line.substr(0, key.size()) == key && line[key.size()] == ':')
      return std::string(trim(line.substr(key.size() + 1)));
  }
  return make_error(errc::not_found, path.string() + " has no '" + std::string(key) + ":' line");
}

result<pid_t> thread_group_of(pid_t tid) {
  auto value = read_status_field(0, tid, "Tgid");
  if (!value) return value.error();
  pid_t tgid = 0;
  if (!parse_pid(*value, tgid))
    return make_error(errc::io_error, "/proc/" + std::to_string(tid) + "/status: Tgid '" + *value + "' is not a pid");
  return tgid;
}

}  // namespace vnumad::cgroup
