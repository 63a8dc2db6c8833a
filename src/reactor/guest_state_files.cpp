// A running guest's files in the state dir, made again when they vanish
// while it runs (daemon_own_files.cpp notices), and the spare link of its
// QMP socket that makes that possible (state_store.hpp).
#include "reactor/guest.hpp"

#include "reactor/logging.hpp"

#include <filesystem>

namespace vnumad::reactor {

void guest::keep_qmp_socket_spare() {
  if (auto kept = ctx_.store.keep_qmp_socket(name()); !kept)
    log_guest(log_level::warning, name(),
              kept.error().message + ": a state dir deleted while it runs cannot get its QMP socket back");
}

std::vector<std::string> guest::restore_state() {
  std::vector<std::string> restored;
  // Only a guest past its start: until then its record and QMP socket do not
  // exist yet by design (the start pipeline writes them).
  if (!process_ || state_ == guest_state::starting) return restored;
  const auto dir = ctx_.store.guest_dir(name());
  std::error_code ec;
  if (!std::filesystem::exists(dir / "record.json", ec) || !std::filesystem::exists(dir / "domain.xml", ec)) {
    if (auto saved = save_record(); saved)
      restored.push_back((dir / "record.json").string() + " and domain.xml");
    else
      log_error("cannot recreate its state record: " + saved.error().message);
  }
  auto socket = ctx_.store.restore_qmp_socket(name());
  if (!socket)
    log_error("cannot recreate its QMP socket: " + socket.error().message);
  else if (!socket->empty())
    restored.push_back(*socket);
  return restored;
}

}  // namespace vnumad::reactor
