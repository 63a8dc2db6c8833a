#include "reactor/spawn_logged.hpp"

#include "reactor/logging.hpp"

namespace vnumad::reactor {

void log_escaped(const std::string& what, std::exception_ptr e) {
  if (!e) return;
  try {
    std::rethrow_exception(e);
  } catch (const std::exception& ex) {
    log(log_level::error, what + " failed: " + ex.what());
  } catch (...) {
    log(log_level::error, what + " failed: unknown exception");
  }
}

}  // namespace vnumad::reactor
