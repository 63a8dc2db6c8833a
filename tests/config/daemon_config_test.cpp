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
  BOOST_TEST(r->qemu_binary == "/usr/bin/qemu-system-x86_64");
  BOOST_TEST(!r->runas.has_value());
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
                         "qemu_binary = /opt/qemu/bin/qemu-system-x86_64\n"
                         "runas = qemu\n"
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
  BOOST_TEST(r->qemu_binary == "/opt/qemu/bin/qemu-system-x86_64");
  BOOST_TEST(r->runas.value() == "qemu");
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
