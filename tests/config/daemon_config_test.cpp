#define BOOST_TEST_MODULE config_daemon_config
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "config/daemon_config.hpp"

#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

namespace bdata = boost::unit_test::data;
using namespace vnumad::config;
using vnumad::errc;
using vnumad::config::GiB;
using vnumad::config::MiB;

BOOST_AUTO_TEST_CASE(defaults_from_an_empty_file) {
  auto r = parse_daemon_config("", "empty.conf");
  BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
  BOOST_TEST(r->config_dir == "/etc/vnumad/domains.d");
  BOOST_TEST(r->state_dir == "/run/vnumad");
  BOOST_TEST(r->socket == "/run/vnumad/vnumad.sock");
  BOOST_TEST(r->log_level == "info");
  BOOST_TEST(r->reserved_cpus == "auto");
  BOOST_TEST(!r->overcommit);
  BOOST_TEST(r->cgroup_root.empty());
  BOOST_TEST(r->shutdown_timeout.count() == 60);
  BOOST_TEST(r->qmp_timeout.count() == 60);
  BOOST_TEST(r->qmp_command_timeout.count() == 10);
  BOOST_TEST(r->qemu_binary == "/usr/bin/qemu-system-x86_64");
  BOOST_TEST(r->runas == "vnumad-qemu");
  BOOST_TEST_REQUIRE(r->image_dirs.size() == 1u);
  BOOST_TEST(r->image_dirs[0] == "/var/lib/vnumad/images");
  BOOST_TEST(!r->socket_group.has_value());
  BOOST_TEST(!r->readonly_socket.has_value());
  BOOST_TEST(r->reserved_memory.every_node == GiB);
  BOOST_TEST(r->reserved_memory.per_node.empty());
  BOOST_TEST(r->start_concurrency == 4u);
  BOOST_TEST((r->on_host_shutdown == host_shutdown_action::shutdown));
  BOOST_TEST(r->host_shutdown_timeout.count() == 120);
}

BOOST_AUTO_TEST_CASE(every_key_from_a_real_file) {
  std::filesystem::path file = std::filesystem::temp_directory_path() / ("vnumad-test-" + std::to_string(::getpid()) + ".conf");
  std::ofstream(file) << "# vnumad.conf\n"
                         "config_dir = /srv/vnumad/domains\n"
                         "state_dir=/var/run/vn\n"
                         "socket = /var/run/vn/ctl.sock\n"
                         "log_level = debug\n"
                         "reserved_cpus = 0,60\n"
                         "overcommit = true\n"
                         "cgroup_root = /sys/fs/cgroup/vnumad.slice\n"
                         "shutdown_timeout = 5\n"
                         "qmp_timeout = 7\n"
                         "qmp_command_timeout = 4\n"
                         "qemu_binary = /opt/qemu/bin/qemu-system-x86_64\n"
                         "runas = qemu\n"
                         "image_dirs = /srv/images /var/lib/img\n"
                         "socket_group = kvm\n"
                         "; read-only status socket\n"
                         "readonly_socket = /var/run/vn/ro.sock\n"
                         "log_dir = /srv/vnumad/logs\n"
                         "reserved_memory = 2GiB 0=4GiB\n"
                         "start_concurrency = 1\n"
                         "on_host_shutdown = destroy\n"
                         "host_shutdown_timeout = 30\n";
  auto r = load_daemon_config(file);
  std::filesystem::remove(file);
  BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
  BOOST_TEST(r->config_dir == "/srv/vnumad/domains");
  BOOST_TEST(r->state_dir == "/var/run/vn");
  BOOST_TEST(r->socket == "/var/run/vn/ctl.sock");
  BOOST_TEST(r->log_level == "debug");
  BOOST_TEST(r->reserved_cpus == "0,60");
  BOOST_TEST(r->overcommit);
  BOOST_TEST(r->cgroup_root == "/sys/fs/cgroup/vnumad.slice");
  BOOST_TEST(r->shutdown_timeout.count() == 5);
  BOOST_TEST(r->qmp_timeout.count() == 7);
  BOOST_TEST(r->qmp_command_timeout.count() == 4);
  BOOST_TEST(r->qemu_binary == "/opt/qemu/bin/qemu-system-x86_64");
  BOOST_TEST(r->runas == "qemu");
  BOOST_TEST_REQUIRE(r->image_dirs.size() == 2u);
  BOOST_TEST(r->image_dirs[1] == "/var/lib/img");
  BOOST_TEST(r->socket_group.value() == "kvm");
  BOOST_TEST(r->readonly_socket.value() == "/var/run/vn/ro.sock");
  BOOST_TEST(r->log_dir == "/srv/vnumad/logs");
  BOOST_TEST(r->reserved_memory.every_node == 2 * GiB);
  BOOST_TEST(r->reserved_memory.on(0) == 4 * GiB);
  BOOST_TEST(r->reserved_memory.on(1) == 2 * GiB);
  BOOST_TEST(r->start_concurrency == 1u);
  BOOST_TEST((r->on_host_shutdown == host_shutdown_action::destroy));
  BOOST_TEST(r->host_shutdown_timeout.count() == 30);
}

BOOST_AUTO_TEST_CASE(host_shutdown_actions) {
  for (auto a : {host_shutdown_action::shutdown, host_shutdown_action::destroy, host_shutdown_action::leave}) {
    auto r = parse_daemon_config("on_host_shutdown = " + std::string(to_string(a)), "x");
    BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
    BOOST_TEST((r->on_host_shutdown == a));
  }
}

BOOST_AUTO_TEST_CASE(image_dirs_empty_or_relative) {
  auto none = parse_daemon_config("image_dirs =", "x");
  BOOST_TEST_REQUIRE(none.has_value(), none.error().message);
  BOOST_TEST(none->image_dirs.empty());
  auto relative = parse_daemon_config("image_dirs = /ok images", "x");
  BOOST_TEST_REQUIRE(!relative.has_value());
  BOOST_TEST(relative.error().message.find("image_dirs") != std::string::npos);
  BOOST_TEST(relative.error().message.find("'images' is not an absolute path") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(reserved_memory_forms) {
  auto parse = [](const std::string& value) { return parse_daemon_config("reserved_memory = " + value, "x"); };
  BOOST_TEST((parse("1GiB")->reserved_memory == reserved_memory_setting{GiB, {}}));
  BOOST_TEST(parse("512MiB")->reserved_memory.every_node == 512 * MiB);
  BOOST_TEST(parse("0")->reserved_memory.every_node == 0u);
  BOOST_TEST(parse("none")->reserved_memory.every_node == 0u);
  BOOST_TEST(parse("1048576")->reserved_memory.every_node == GiB);  // KiB, as attach-memory --size
  // Per-node overrides; nodes not named keep the default 1 GiB.
  auto mixed = parse("0=4GiB 2-3=256MiB");
  BOOST_TEST_REQUIRE(mixed.has_value(), mixed.error().message);
  BOOST_TEST(mixed->reserved_memory.on(0) == 4 * GiB);
  BOOST_TEST(mixed->reserved_memory.on(1) == GiB);
  BOOST_TEST(mixed->reserved_memory.on(2) == 256 * MiB);
  BOOST_TEST(mixed->reserved_memory.on(3) == 256 * MiB);
  BOOST_TEST(parse("512MiB 1,3=0")->reserved_memory.on(3) == 0u);
  // The canonical text parses back to the same setting (the daemon logs it).
  for (const char* text : {"1GiB", "512MiB 0=2GiB 4=0", "1536MiB 1-2=3GiB"}) {
    auto first = parse(text);
    BOOST_TEST_REQUIRE(first.has_value(), text);
    auto again = parse(format_reserved_memory(first->reserved_memory));
    BOOST_TEST_REQUIRE(again.has_value(), format_reserved_memory(first->reserved_memory));
    BOOST_TEST((again->reserved_memory == first->reserved_memory), text);
  }
  BOOST_TEST(format_reserved_memory(parse("512MiB 0=2GiB 4=0")->reserved_memory) == "512MiB 0=2GiB 4=0B");
}

BOOST_AUTO_TEST_CASE(reserved_cpus_keywords) {
  BOOST_TEST(parse_daemon_config("reserved_cpus = none", "x")->reserved_cpus == "none");
  BOOST_TEST(parse_daemon_config("reserved_cpus = auto", "x")->reserved_cpus == "auto");
  BOOST_TEST(parse_daemon_config("reserved_cpus = 0-3,^2", "x")->reserved_cpus == "0-3,^2");
  for (const char* b : {"yes", "on", "1", "false", "no", "off", "0"})
    BOOST_TEST(parse_daemon_config(std::string("overcommit = ") + b, "x").has_value(), b);
}

struct bad_case {
  std::string text;
  errc code;
  std::vector<std::string> fragments;
};
std::ostream& operator<<(std::ostream& os, const bad_case& c) { return os << c.text; }

BOOST_DATA_TEST_CASE(rejects_bad_settings,
                     bdata::make(std::vector<bad_case>{
                         {"overcomit = true", errc::invalid_value,
                          {"unknown key 'overcomit'", "overcommit", "reserved_cpus", "readonly_socket"}},
                         {"overcommit = maybe", errc::invalid_value, {"overcommit = maybe", "true, false"}},
                         {"log_level = chatty", errc::invalid_value, {"chatty", "trace, debug, info, warning, error"}},
                         {"reserved_cpus = 3-1", errc::invalid_cpuset, {"3-1", "auto, none"}},
                         {"reserved_cpus = some", errc::invalid_cpuset, {"some"}},
                         {"shutdown_timeout = -5", errc::invalid_value, {"shutdown_timeout", "-5"}},
                         {"shutdown_timeout = 1m", errc::invalid_value, {"seconds"}},
                         {"qmp_timeout = 0", errc::invalid_value, {"qmp_timeout", "at least 1"}},
                         {"qmp_command_timeout = 0", errc::invalid_value, {"qmp_command_timeout", "at least 1"}},
                         {"start_concurrency = 0", errc::invalid_value, {"start_concurrency", "at least 1"}},
                         {"start_concurrency = many", errc::invalid_value, {"start_concurrency", "many"}},
                         {"on_host_shutdown = suspend", errc::invalid_value,
                          {"on_host_shutdown = suspend", "shutdown, destroy, leave"}},
                         {"host_shutdown_timeout = 2m", errc::invalid_value, {"host_shutdown_timeout", "seconds"}},
                         {"state_dir = run/vnumad", errc::invalid_value, {"not an absolute path"}},
                         {"socket = ", errc::invalid_value, {"not an absolute path"}},
                         {"[daemon]\nlog_level = info", errc::invalid_value, {"section [daemon]"}},
                         {"log_level = info\nlog_level = debug", errc::invalid_value, {"bad.conf:2"}},
                         {"this is not ini", errc::invalid_value, {"bad.conf:1"}},
                         {"reserved_memory = lots", errc::invalid_value, {"reserved_memory = lots", "1GiB"}},
                         {"reserved_memory = 1XiB", errc::invalid_value, {"reserved_memory", "1GiB"}},
                         {"reserved_memory = 1GiB 2GiB", errc::invalid_value, {"two sizes", "NODES=SIZE"}},
                         {"reserved_memory = 0=1GiB 0=2GiB", errc::invalid_value, {"node 0 is given twice"}},
                         {"reserved_memory = x=1GiB", errc::invalid_value, {"reserved_memory"}},
                         {"reserved_memory = 0=", errc::invalid_value, {"reserved_memory"}},
                         {"reserved_memory = ", errc::invalid_value, {"reserved_memory", "empty"}},
                         {"control_max_clients = 0", errc::invalid_value, {"control_max_clients", "1 to 1000000"}},
                         {"control_max_clients_per_uid = 4294967297", errc::invalid_value,
                          {"control_max_clients_per_uid", "too large"}},
                         {"control_idle_timeout = 86401", errc::invalid_value, {"control_idle_timeout", "0 (no limit) to 86400"}},
                         {"metrics_socket = metrics.sock", errc::invalid_value,
                          {"metrics_socket = metrics.sock", "not an absolute path"}},
                         {"metrics_socket = /run/vnumad/vnumad.sock", errc::invalid_value,
                          {"metrics_socket = /run/vnumad/vnumad.sock", "control socket"}},
                         {"readonly_socket = /run/ro.sock\nmetrics_socket = /run/ro.sock", errc::invalid_value,
                          {"metrics_socket = /run/ro.sock", "control socket"}},
                         {"metrics_listen = localhost:9560", errc::invalid_value,
                          {"metrics_listen = localhost:9560", "not an IPv4 address", "127.0.0.1:9560"}},
                         {"metrics_listen = 127.0.0.1:0", errc::invalid_value, {"metrics_listen = 127.0.0.1:0", "port"}},
                         {"metrics_listen = 9560", errc::invalid_value, {"metrics_listen = 9560", "ADDR:PORT"}},
                     }),
                     c) {
  auto r = parse_daemon_config(c.text, "bad.conf");
  BOOST_TEST_REQUIRE(!r.has_value(), "accepted");
  BOOST_TEST((r.error().code == c.code), vnumad::to_string(r.error().code) << ": " << r.error().message);
  BOOST_TEST(r.error().message.rfind("bad.conf", 0) == 0, r.error().message);
  for (const std::string& f : c.fragments)
    BOOST_TEST(r.error().message.find(f) != std::string::npos, r.error().message << " lacks " << f);
}

BOOST_AUTO_TEST_CASE(missing_file) {
  auto r = load_daemon_config("/nonexistent/vnumad.conf");
  BOOST_TEST_REQUIRE(!r.has_value());
  BOOST_TEST((r.error().code == errc::io_error));
}

BOOST_AUTO_TEST_CASE(metrics_are_off_by_default_and_served_where_the_file_says) {
  auto d = parse_daemon_config("", "x");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(!d->metrics_socket.has_value());
  BOOST_TEST(!d->metrics_listen.has_value());
  auto r = parse_daemon_config("metrics_socket = /run/vnumad/metrics.sock\nmetrics_listen = [::1]:9560\n", "x");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->metrics_socket.value() == "/run/vnumad/metrics.sock");
  BOOST_TEST(r->metrics_listen->address == "::1");
  BOOST_TEST(r->metrics_listen->port == 9560u);
  BOOST_TEST(r->metrics_listen->ipv6);
}

BOOST_AUTO_TEST_CASE(control_socket_limits_have_defaults_and_can_be_set) {
  auto d = parse_daemon_config("", "x");
  BOOST_REQUIRE(d.has_value());
  BOOST_TEST(d->control_max_clients == 128u);
  BOOST_TEST(d->control_max_clients_per_uid == 16u);
  BOOST_TEST(d->control_idle_timeout.count() == 60);
  auto r = parse_daemon_config("control_max_clients = 300\ncontrol_max_clients_per_uid = 4\ncontrol_idle_timeout = 0\n", "x");
  BOOST_TEST_REQUIRE(r.has_value(), (r ? "" : r.error().message));
  BOOST_TEST(r->control_max_clients == 300u);
  BOOST_TEST(r->control_max_clients_per_uid == 4u);
  BOOST_TEST(r->control_idle_timeout.count() == 0);
}

BOOST_AUTO_TEST_CASE(emulators_default_to_debians_qemu_binaries) {
  auto r = parse_daemon_config("", "empty.conf");
  BOOST_TEST_REQUIRE(r.has_value());
  BOOST_TEST(check_emulator("/usr/bin/qemu-system-x86_64", *r).has_value());
  BOOST_TEST(check_emulator("/usr/bin/qemu-system-aarch64", *r).has_value());
  BOOST_TEST(check_emulator("/usr/bin/kvm", *r).has_value());
  BOOST_TEST(check_emulator("/usr/bin/../bin/qemu-system-i386", *r).has_value());  // compared normalised
  auto sh = check_emulator("/bin/sh", *r);
  BOOST_TEST_REQUIRE(!sh.has_value());
  BOOST_TEST(sh.error().code == errc::permission_denied);
  BOOST_TEST(sh.error().message.find("<emulator>/bin/sh</emulator>: not an allowed emulator") == 0u,
             sh.error().message);
  BOOST_TEST(sh.error().message.find("/usr/bin/qemu-system-x86_64, ") != std::string::npos, sh.error().message);
}

BOOST_AUTO_TEST_CASE(emulators_key_replaces_the_list_and_qemu_binary_stays_allowed) {
  auto r = parse_daemon_config("qemu_binary = /opt/q/qemu\nemulators = /opt/a/qemu-a, /opt/b/qemu-b /opt/c/x\n", "x");
  BOOST_TEST_REQUIRE(r.has_value(), r.error().message);
  BOOST_TEST(r->emulators.size() == 3u);
  BOOST_TEST(check_emulator("/opt/b/qemu-b", *r).has_value());
  BOOST_TEST(check_emulator("/opt/q/qemu", *r).has_value());
  auto debian = check_emulator("/usr/bin/qemu-system-x86_64", *r);
  BOOST_TEST_REQUIRE(!debian.has_value());
  BOOST_TEST(debian.error().message.find("allow: /opt/q/qemu, /opt/a/qemu-a, /opt/b/qemu-b, /opt/c/x)") !=
                 std::string::npos,
             debian.error().message);
  auto empty = parse_daemon_config("emulators =\n", "x");
  BOOST_TEST_REQUIRE(empty.has_value());
  BOOST_TEST(check_emulator("/usr/bin/qemu-system-x86_64", *empty).has_value());  // qemu_binary
  BOOST_TEST(!check_emulator("/usr/bin/qemu-system-i386", *empty).has_value());
  auto relative = parse_daemon_config("emulators = qemu-system-x86_64\n", "x");
  BOOST_TEST_REQUIRE(!relative.has_value());
  BOOST_TEST(relative.error().message.find("not an absolute path") != std::string::npos, relative.error().message);
}
