// vnumactl console (cmd_console.cpp), called by cmd_daemon.cpp's run_verb
// once its arguments are parsed and the client is connected.
#pragma once

#include "cli/cli_common.hpp"
#include "reactor/control_client.hpp"

#include <boost/json/object.hpp>

#include <optional>
#include <string>

namespace vnumad::cli {

// --escape: "^]" (Ctrl-]), "^A", one character, or "none".
result<std::optional<char>> parse_escape(const std::string& text);

// Sends the console request (`args`: name, force?), then relays the terminal
// to the guest's serial console until the escape key, the end of stdin or the
// daemon closing the stream.
int run_console(reactor::control_client& client, const std::string& name, const boost::json::object& args,
                std::optional<char> escape, const std::string& escape_text, const cli_io& io);

}  // namespace vnumad::cli
