// The receiving end of sd_notify, as systemd provides it: a datagram socket
// whose path goes into NOTIFY_SOCKET of the daemon's environment. Shared by
// the integration tests and the benchmarks (no Boost.Test here).
#pragma once

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <optional>
#include <stdexcept>
#include <string>

namespace vnumad::testing {

class notify_socket {
 public:
  explicit notify_socket(std::filesystem::path path) : path_(std::move(path)) {
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (fd_ < 0 || path_.string().size() >= sizeof addr.sun_path) throw std::runtime_error("notify socket: " + path_.string());
    std::strcpy(addr.sun_path, path_.c_str());
    ::unlink(path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
      throw std::runtime_error("cannot bind " + path_.string() + ": " + std::strerror(errno));
  }
  ~notify_socket() {
    if (fd_ >= 0) ::close(fd_);
    ::unlink(path_.c_str());
  }
  notify_socket(const notify_socket&) = delete;
  notify_socket& operator=(const notify_socket&) = delete;

  const std::filesystem::path& path() const { return path_; }

  // The next datagram, or nullopt after `timeout`.
  std::optional<std::string> receive(std::chrono::milliseconds timeout) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
    if (n < 0) return std::nullopt;
    return std::string(buf, static_cast<std::size_t>(n));
  }

  // The value of `KEY=` in a message (one assignment a line), if there.
  static std::optional<std::string> field(const std::string& message, const std::string& key) {
    std::size_t pos = 0;
    while (pos < message.size()) {
      std::size_t end = message.find('\n', pos);
      if (end == std::string::npos) end = message.size();
      if (message.compare(pos, key.size() + 1, key + "=") == 0) return message.substr(pos + key.size() + 1, end - pos - key.size() - 1);
      pos = end + 1;
    }
    return std::nullopt;
  }

 private:
  std::filesystem::path path_;
  int fd_ = -1;
};

// STATUS= of vnumad: "R running, S starting, Q queued, F failed".
struct start_counts {
  unsigned running = 0, starting = 0, queued = 0, failed = 0;
  bool operator==(const start_counts&) const = default;
};

inline std::optional<start_counts> parse_status(const std::string& status) {
  start_counts c;
  if (std::sscanf(status.c_str(), "%u running, %u starting, %u queued, %u failed", &c.running, &c.starting, &c.queued,
                  &c.failed) != 4)
    return std::nullopt;
  return c;
}

}  // namespace vnumad::testing
