#include "reactor/qemu_responsive.hpp"

#include "qmp/qmp_commands.hpp"

#include "util/read_whole_file.hpp"

namespace vnumad::reactor {

char process_state(pid_t pid) {
  const std::string text = read_whole_file("/proc/" + std::to_string(pid) + "/stat").value_or("");
  // "PID (comm) S ...": comm may hold spaces and parentheses, the state
  // follows the last ')'.
  auto close = text.rfind(')');
  if (close == std::string::npos || close + 2 >= text.size()) return 0;
  return text[close + 2];
}

error not_responding(const guest& g, std::string_view operation, bool sent, std::string_view detail) {
  std::string pid = g.pid() ? std::to_string(*g.pid()) : std::string("?");
  std::string why;
  if (g.pid()) {
    char state = process_state(*g.pid());
    if (state == 'T' || state == 't') why = " (process stopped: SIGSTOP or a debugger; SIGCONT resumes it)";
  }
  std::string message = "QEMU not responding: guest '" + g.name() + "', pid " + pid + why;
  if (!detail.empty()) message += ": " + std::string(detail);
  message += sent ? "; " + std::string(operation) + " was sent and may still take effect once QEMU answers"
                  : "; " + std::string(operation) + " was not sent, nothing changed";
  return make_error(errc::not_responding, message);
}

boost::asio::awaitable<result<void>> check_responding(guest& g, std::string_view operation) {
  const std::chrono::milliseconds timeout = g.timeouts().quick;
  if (!g.is_active() || !g.qmp()) co_return result<void>{};  // the operation reports "not running" itself
  if (char state = process_state(*g.pid()); state == 'T' || state == 't')
    co_return not_responding(g, operation, false);
  auto status = co_await g.qmp()->execute(qmp::query_status(), timeout);
  if (!status && status.error().code == errc::timeout)
    co_return not_responding(g, operation, false, "no reply to query-status within " +
                                                      std::to_string(timeout.count()) + " ms");
  co_return result<void>{};
}

error explain_unanswered(const guest& g, std::string_view operation, error failure) {
  if (failure.code != errc::timeout) return failure;
  return not_responding(g, operation, true, failure.message);
}

}  // namespace vnumad::reactor
