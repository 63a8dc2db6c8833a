// Shared by the tests that spawn QEMU themselves (tests/qemu, tests/guest).
#pragma once

#include "qemu/process.hpp"
#include "util/error.hpp"

#include <signal.h>

#include <string>

namespace vnumad::testing {

// QEMU runs in its own session and outlives the test process: a failing
// check must not leave it behind.
struct kill_on_exit {
  qemu::process& proc;
  ~kill_on_exit() {
    if (!proc.has_exited()) (void)proc.send_signal(SIGKILL);
  }
};

// "ok", or the error's message, for a check's failure text.
template <class T>
std::string message_of(const result<T>& r) {
  return r ? std::string("ok") : r.error().message;
}

}  // namespace vnumad::testing
