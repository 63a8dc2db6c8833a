// The journal half of the logger: one entry per event over journald's native
// protocol, through libsystemd's sd_journal_sendv (which also handles values
// with newlines and entries too large for one datagram).
#include "reactor/logging.hpp"

#include <sys/uio.h>

// Without this, sd-journal.h adds CODE_FILE=/CODE_LINE=/CODE_FUNC= naming
// this file: the same place for every event, so of no use.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>

namespace vnumad::reactor {

bool send_to_journal(const std::vector<std::string>& fields) {
  std::vector<iovec> iov;
  iov.reserve(fields.size());
  for (const auto& f : fields) iov.push_back(iovec{const_cast<char*>(f.data()), f.size()});
  return sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) >= 0;
}

}  // namespace vnumad::reactor
