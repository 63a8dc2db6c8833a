#include "util/read_whole_file.hpp"

#include <cerrno>
#include <fcntl.h>
#include <unistd.h>

namespace vnumad {

std::optional<std::string> read_to_end(int fd) {
  std::string text;
  char buffer[4096];
  for (;;) {
    const ssize_t n = ::read(fd, buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::nullopt;
    if (n == 0) return text;
    text.append(buffer, static_cast<std::size_t>(n));
  }
}

std::optional<std::string> read_whole_file(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  auto text = read_to_end(fd);
  const int err = errno;
  ::close(fd);
  errno = err;
  return text;
}

}  // namespace vnumad
