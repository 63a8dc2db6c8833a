#include "cgroup/machine_scope.hpp"

#include "cgroup/proc.hpp"

#include <linux/magic.h>
#include <sys/statfs.h>
#include <systemd/sd-bus.h>
#include <systemd/sd-daemon.h>

#include <cctype>
#include <cstring>
#include <iterator>
#include <limits>
#include <memory>
#include <sstream>

namespace vnumad::cgroup {
namespace fs = std::filesystem;
namespace {

constexpr const char* machined = "org.freedesktop.machine1";
constexpr const char* machined_path = "/org/freedesktop/machine1";
constexpr const char* machined_manager = "org.freedesktop.machine1.Manager";

struct bus_deleter {
  void operator()(sd_bus* bus) const { sd_bus_flush_close_unref(bus); }
};
struct message_deleter {
  void operator()(sd_bus_message* m) const { sd_bus_message_unref(m); }
};
using bus_ptr = std::unique_ptr<sd_bus, bus_deleter>;
using message_ptr = std::unique_ptr<sd_bus_message, message_deleter>;

// sd_bus_error cleans itself up only through sd_bus_error_free.
struct bus_error {
  sd_bus_error e = SD_BUS_ERROR_NULL;
  ~bus_error() { sd_bus_error_free(&e); }
  std::string text(int r) const {
    if (e.message) return std::string(e.name ? e.name : "") + ": " + e.message;
    return std::strerror(-r);
  }
};

result<bus_ptr> system_bus(std::string_view what) {
  sd_bus* bus = nullptr;
  int r = sd_bus_open_system(&bus);
  if (r < 0) return make_error(errc::io_error, std::string(what) + ": cannot connect to the system bus: " + std::strerror(-r));
  return bus_ptr(bus);
}

error bus_failure(std::string what, int r, const bus_error& err) {
  errc code = errc::io_error;
  if (err.e.name && (std::strcmp(err.e.name, "org.freedesktop.machine1.NoSuchMachine") == 0)) code = errc::not_found;
  if (err.e.name && (std::strcmp(err.e.name, "org.freedesktop.machine1.MachineExists") == 0)) code = errc::busy;
  return make_error(code, std::move(what) + ": " + err.text(r));
}

int append_property(sd_bus_message* m, const scope_property& p) {
  int r = sd_bus_message_open_container(m, 'r', "sv");
  if (r < 0) return r;
  r = sd_bus_message_append_basic(m, 's', p.name.c_str());
  if (r < 0) return r;
  if (const bool* b = std::get_if<bool>(&p.value)) {
    r = sd_bus_message_append(m, "v", "b", static_cast<int>(*b));
  } else if (const std::string* s = std::get_if<std::string>(&p.value)) {
    r = sd_bus_message_append(m, "v", "s", s->c_str());
  } else if (const std::uint64_t* t = std::get_if<std::uint64_t>(&p.value)) {
    r = sd_bus_message_append(m, "v", "t", *t);
  } else {
    const auto& list = std::get<std::vector<std::string>>(p.value);
    r = sd_bus_message_open_container(m, 'v', "as");
    if (r >= 0) r = sd_bus_message_open_container(m, 'a', "s");
    for (const auto& item : list)
      if (r >= 0) r = sd_bus_message_append_basic(m, 's', item.c_str());
    if (r >= 0) r = sd_bus_message_close_container(m);
    if (r >= 0) r = sd_bus_message_close_container(m);
  }
  if (r < 0) return r;
  return sd_bus_message_close_container(m);
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

}  // namespace

std::optional<std::array<std::uint8_t, 16>> parse_uuid(std::string_view text) {
  std::array<std::uint8_t, 16> out{};
  std::size_t n = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '-') continue;
    if (n == 32 || i + 1 >= text.size()) return std::nullopt;
    int hi = hex_value(text[i]), lo = hex_value(text[i + 1]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out[n / 2] = static_cast<std::uint8_t>(hi * 16 + lo);
    n += 2;
    ++i;
  }
  if (n != 32) return std::nullopt;
  return out;
}

std::vector<scope_property> scope_properties_for(std::string_view guest) {
  return {
      {"Description", "vnumad guest " + std::string(guest)},
      {"Delegate", true},
      // Stopped after vnumad-guests.service at host shutdown (units stop in
      // reverse order), so that its ACPI power-off comes before systemd's
      // SIGTERM to QEMU when the scope stops; libvirt orders its scopes
      // Before=virt-guest-shutdown.target for the same reason.
      {"After", std::vector<std::string>{"vnumad.service"}},
      {"Before", std::vector<std::string>{"vnumad-guests.service"}},
      {"TasksMax", std::numeric_limits<std::uint64_t>::max()},
      {"CollectMode", std::string("inactive-or-failed")},
  };
}

machine_request machine_request_for(std::string_view guest, const std::optional<std::string>& uuid, pid_t leader) {
  machine_request request;
  request.name = std::string(guest);
  if (uuid)
    if (auto bytes = parse_uuid(*uuid)) request.id.assign(bytes->begin(), bytes->end());
  request.leader = leader;
  request.properties = scope_properties_for(guest);
  return request;
}

bool systemd_manages_cgroups(const fs::path& mount_base) {
  if (sd_booted() <= 0) return false;
  struct statfs info {};
  return ::statfs(mount_base.c_str(), &info) == 0 && info.f_type == CGROUP2_SUPER_MAGIC;
}

result<void> create_machine(const machine_request& request) {
  const std::string what = "guest '" + request.name + "': registering it with systemd-machined";
  auto bus = system_bus(what);
  if (!bus) return bus.error();
  sd_bus_message* raw = nullptr;
  int r = sd_bus_message_new_method_call(bus->get(), &raw, machined, machined_path, machined_manager, "CreateMachine");
  if (r < 0) return make_error(errc::io_error, what + ": " + std::strerror(-r));
  message_ptr call(raw);
  r = sd_bus_message_append(call.get(), "s", request.name.c_str());
  if (r >= 0) r = sd_bus_message_append_array(call.get(), 'y', request.id.data(), request.id.size());
  if (r >= 0)
    r = sd_bus_message_append(call.get(), "ssus", request.service.c_str(), request.machine_class.c_str(),
                              static_cast<std::uint32_t>(request.leader), "");
  if (r >= 0) r = sd_bus_message_open_container(call.get(), 'a', "(sv)");
  for (const auto& p : request.properties)
    if (r >= 0) r = append_property(call.get(), p);
  if (r >= 0) r = sd_bus_message_close_container(call.get());
  if (r < 0) return make_error(errc::io_error, what + ": building the CreateMachine call: " + std::strerror(-r));
  bus_error err;
  sd_bus_message* reply = nullptr;
  // machined answers once the scope's start job has finished (or failed).
  r = sd_bus_call(bus->get(), call.get(), 30'000'000, &err.e, &reply);
  message_ptr reply_owner(reply);
  if (r < 0) return bus_failure(what + " (CreateMachine, leader pid " + std::to_string(request.leader) + ")", r, err);
  return {};
}

result<void> terminate_machine(std::string_view name) {
  const std::string what = "guest '" + std::string(name) + "': ending its machine scope";
  auto bus = system_bus(what);
  if (!bus) return bus.error();
  bus_error err;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus->get(), machined, machined_path, machined_manager, "TerminateMachine", &err.e, &reply,
                             "s", std::string(name).c_str());
  message_ptr reply_owner(reply);
  if (r < 0) {
    auto failure = bus_failure(what + " (TerminateMachine)", r, err);
    if (failure.code == errc::not_found) return {};
    return failure;
  }
  return {};
}

result<bool> machine_exists(std::string_view name) {
  const std::string what = "guest '" + std::string(name) + "': looking up its machine";
  auto bus = system_bus(what);
  if (!bus) return bus.error();
  bus_error err;
  sd_bus_message* reply = nullptr;
  int r = sd_bus_call_method(bus->get(), machined, machined_path, machined_manager, "GetMachine", &err.e, &reply, "s",
                             std::string(name).c_str());
  message_ptr reply_owner(reply);
  if (r >= 0) return true;
  auto failure = bus_failure(what + " (GetMachine)", r, err);
  if (failure.code == errc::not_found) return false;
  return failure;
}

std::optional<fs::path> scope_in_cgroup_file(std::string_view text) {
  std::istringstream lines{std::string(text)};
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("0::", 0) != 0) continue;
    fs::path scope;
    fs::path path(line.substr(3));
    auto first = std::next(path.begin());  // after the root "/"
    if (path.begin() == path.end() || first == path.end() || first->string() != "machine.slice") return std::nullopt;
    for (const auto& part : path) {
      scope /= part;
      const std::string name = part.string();
      if (name.size() > 6 && name.compare(name.size() - 6, 6, ".scope") == 0) return scope;
    }
    return std::nullopt;
  }
  return std::nullopt;
}

result<std::optional<fs::path>> scope_of_process(pid_t pid, const fs::path& mount_base) {
  auto text = read_text_file("/proc/" + std::to_string(pid) + "/cgroup");
  if (!text) return text.error();
  auto scope = scope_in_cgroup_file(*text);
  if (!scope) return std::optional<fs::path>{};
  return std::optional<fs::path>{mount_base / scope->relative_path()};
}

}  // namespace vnumad::cgroup
