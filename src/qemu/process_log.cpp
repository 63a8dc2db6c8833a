// Reading back what QEMU wrote to its log (spawn_options::log_file): the
// tail, and QEMU's own error message from its last run.
#include "qemu/process.hpp"

#include <fstream>
#include <iterator>
#include <sstream>

namespace vnumad::qemu {

std::vector<std::string> read_log_tail(const std::filesystem::path& log, std::size_t max_lines) {
  std::ifstream in(log, std::ios::binary);
  if (!in) return {};
  // Only the end matters; a log of a long-lived guest can be large.
  constexpr std::streamoff window = 64 * 1024;
  in.seekg(0, std::ios::end);
  const std::streamoff size = in.tellg();
  const std::streamoff start = size > window ? size - window : 0;
  in.seekg(start);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> lines;
  std::istringstream stream(text);
  bool first = true;
  for (std::string line; std::getline(stream, line);) {
    if (first && start > 0) {  // a partial line at the window's start
      first = false;
      continue;
    }
    first = false;
    lines.push_back(std::move(line));
  }
  if (lines.size() > max_lines) lines.erase(lines.begin(), lines.end() - static_cast<std::ptrdiff_t>(max_lines));
  return lines;
}

std::string qemu_error_message(const std::filesystem::path& log) {
  auto lines = read_log_tail(log, 200);
  auto from = lines.begin();
  for (auto it = lines.begin(); it != lines.end(); ++it)
    if (it->rfind("vnumad: spawn ", 0) == 0) from = it + 1;
  std::string message;
  std::string last;
  for (auto it = from; it != lines.end(); ++it) {
    if (it->empty()) continue;
    last = *it;
    // QEMU prefixes error_report() output with its program name.
    if (it->rfind("qemu-", 0) == 0 && it->find(": ") != std::string::npos) {
      if (!message.empty()) message += "; ";
      message += *it;
    }
  }
  if (!message.empty()) return message;
  if (!last.empty()) return last;
  return "no output from QEMU in " + log.string();
}

}  // namespace vnumad::qemu
