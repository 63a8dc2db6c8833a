// The `console` verb (docs/control-protocol.md): the guest's serial port 0,
// a socket chardev QEMU serves at STATE/NAME/qemu/console.sock
// (qemu/argv_serial.cpp). The daemon connects to it only while a client is
// attached, so a daemon restart loses nothing: the next attach connects
// again. One client per guest; `force` takes the console over (as virsh
// console --force) by closing the current client's connection to QEMU,
// which ends its stream.
#include "reactor/control_ops.hpp"
#include "reactor/logging.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace vnumad::reactor {

namespace asio = boost::asio;
namespace json = boost::json;
using asio::awaitable;
using unix_stream = asio::local::stream_protocol;

namespace {

// Why a guest has no console, or nothing: serial port 0 is the first
// <serial>, else a <console> with a serial target (as qemu/argv_serial.cpp).
std::optional<std::string> no_console_reason(const config::domain& d) {
  const config::chardev_def* port0 = nullptr;
  if (!d.devices.serials.empty()) port0 = &d.devices.serials.front();
  for (const auto& c : d.devices.consoles)
    if (!port0 && c.target_type.value_or("serial") == "serial") port0 = &c;
  if (!port0) return "it has no <serial> or <console> device";
  if (port0->type != "pty" && port0->type != "file")
    return "its serial port 0 is <" + port0->kind + " type='" + port0->type + "'> (pty and file serials have one)";
  return std::nullopt;
}

}  // namespace

// The arguments are checked (verbs.cpp: name, force) by daemon::open_stream.
awaitable<result<byte_stream>> control_ops::console(const verb_call& call) {
  auto found = named(call);
  if (!found) co_return found.error();
  std::shared_ptr<guest> g = *found;
  const std::string name = call.text("name");
  const json::value* force_arg = call.request.args.if_contains("force");
  const bool force = force_arg && force_arg->is_bool() && force_arg->as_bool();
  if (!g->is_active())
    co_return make_error(errc::not_running, "console: guest '" + name + "' is not running (state: " +
                                                    std::string(to_string(g->state())) + ")");
  if (auto why = no_console_reason(g->running_domain()))
    co_return make_error(errc::unsupported, "console: guest '" + name + "' has no console: " + *why);
  // Checked before connecting and again after: another client may have
  // attached while this one connected.
  auto take_over = [&]() -> result<void> {
    auto current = d_.consoles_[name].lock();
    if (!current || !current->is_open()) return {};
    if (!force)
      return make_error(errc::busy, "console attached: guest '" + name +
                                        "' already has a console client (vnumactl console --force takes it over)");
    boost::system::error_code ignored;
    current->shutdown(unix_stream::socket::shutdown_both, ignored);
    current->close(ignored);
    return {};
  };
  if (auto allowed = take_over(); !allowed) co_return allowed.error();
  const std::string path = d_.store_.console_socket(name).string();
  auto far = std::make_shared<unix_stream::socket>(d_.io_);
  auto [ec] = co_await far->async_connect(unix_stream::endpoint(path), asio::as_tuple(asio::use_awaitable));
  if (ec)
    co_return make_error(errc::io_error, "console: guest '" + name + "': cannot connect to " + path + ": " +
                                             ec.message() + " (a guest started by a vnumad without consoles has "
                                                            "none until it restarts)");
  if (auto allowed = take_over(); !allowed) co_return allowed.error();
  d_.consoles_[name] = far;
  log_guest(log_level::info, name, std::string("console attached") + (force ? " (taken over)" : ""));
  co_return byte_stream{far, json::object{{"name", name}, {"console", "serial0"}}};
}

}  // namespace vnumad::reactor
