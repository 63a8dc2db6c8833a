// A QEMU that does not answer is not a QEMU that said no. SIGSTOPped (or
// hung), it never sees a request, so its silence must not read as "refused
// to unplug", and a command it has not answered may still take effect when
// it runs again. Operations that change a guest ask first (a stopped
// process, or no reply to query-status, and nothing is sent), and a command
// that then goes unanswered is reported as possibly still taking effect.
#pragma once

#include "reactor/guest.hpp"

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <string_view>

namespace vnumad::reactor {

// The state letter of /proc/PID/stat ('R', 'S', 'T' stopped, 't' traced...),
// 0 when it cannot be read.
char process_state(pid_t pid);

// errc::not_responding for `operation` on `g`. `sent`: the command went out
// and may still take effect once QEMU answers; otherwise nothing changed.
error not_responding(const guest& g, std::string_view operation, bool sent, std::string_view detail = {});

// Succeeds when g's QEMU runs and answers query-status within the quick
// QMP timeout (qmp_timeouts.hpp).
boost::asio::awaitable<result<void>> check_responding(guest& g, std::string_view operation);

// A command's failure as the operator should read it: no reply in time is
// not_responding (sent); any other error is returned as it is.
error explain_unanswered(const guest& g, std::string_view operation, error failure);

}  // namespace vnumad::reactor
