#include "cli/daemon_socket.hpp"

#include "cli/cli_common.hpp"

#include <cstdlib>
#include <filesystem>

namespace vnumad::cli {

std::string choose_socket(const socket_request& request, const std::optional<config::daemon_config>& cfg) {
  if (request.connect) return *request.connect;
  if (request.readonly) return cfg && cfg->readonly_socket ? cfg->readonly_socket->string() : default_readonly_socket;
  if (request.env && !request.env->empty()) return *request.env;
  return cfg ? cfg->socket.string() : config::daemon_config{}.socket.string();
}

result<std::string> choose_socket(std::optional<std::string> connect, bool readonly) {
  socket_request request{std::move(connect), readonly, std::nullopt};
  if (const char* env = std::getenv("VNUMAD_SOCKET")) request.env = env;
  std::optional<config::daemon_config> cfg;
  const bool config_decides = !request.connect && (request.readonly || !request.env || request.env->empty());
  std::error_code ec;
  if (config_decides && std::filesystem::exists(default_config_file, ec)) {
    auto loaded = config::load_daemon_config(default_config_file);
    if (!loaded) return loaded.error();
    cfg = std::move(*loaded);
  }
  return choose_socket(request, cfg);
}

}  // namespace vnumad::cli
