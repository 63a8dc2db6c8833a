// Finding QEMUs this daemon started, from /proc, without trusting the state
// dir: vnumad gives each QEMU "-name guest=NAME,..." and a QMP socket at
// <state dir>/NAME/qmp.sock (qemu/argv.cpp), and both are in its command
// line. A restarted daemon uses this to never start a second QEMU for a
// guest whose state record is gone (the state dir deleted, say).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

namespace vnumad::reactor {

struct running_qemu {
  pid_t pid = 0;
  std::string guest;
};

// The guest NAME when `argv` is a QEMU command line with "-name guest=NAME,..."
// and a monitor socket at `state_root`/NAME/qmp.sock.
std::optional<std::string> guest_of_qemu_argv(const std::vector<std::string>& argv,
                                              const std::filesystem::path& state_root);

// Every live QEMU of `state_root`, by pid.
std::vector<running_qemu> find_qemus_of(const std::filesystem::path& state_root);

}  // namespace vnumad::reactor
