// The one way vnumad starts a coroutine it does not await: asio::detached
// would drop whatever escapes it (an exception, a bad_alloc) without a
// word, so every spawn names what it runs and an escape is logged as an
// error with that name.
#pragma once

#include <boost/asio/co_spawn.hpp>

#include <exception>
#include <string>
#include <utility>

namespace vnumad::reactor {

// Logs `e` (if any) as "<what> failed: <exception text>".
void log_escaped(const std::string& what, std::exception_ptr e);

// co_spawn(ex, coroutine) with a completion handler that logs what escapes.
// `coroutine` is a lambda returning an awaitable (captures kept alive by
// co_spawn) or an awaitable itself.
template <class Executor, class Coroutine>
void spawn_logged(Executor&& ex, std::string what, Coroutine&& coroutine) {
  boost::asio::co_spawn(std::forward<Executor>(ex), std::forward<Coroutine>(coroutine),
                        [what = std::move(what)](std::exception_ptr e) { log_escaped(what, e); });
}

}  // namespace vnumad::reactor
