#define BOOST_TEST_MODULE machine_scope
#include <boost/test/unit_test.hpp>

#include "cgroup/guest_cgroup.hpp"
#include "cgroup/machine_scope.hpp"

#include <sys/stat.h>

#include <filesystem>
#include <limits>

using namespace vnumad;
using namespace vnumad::cgroup;
namespace fs = std::filesystem;

// What vnumad asks systemd for, property by property: a change here changes
// what every guest's scope is (systemctl show machine-NAME.scope).
BOOST_AUTO_TEST_CASE(scope_properties_are_the_delegated_vm_scope) {
  auto props = scope_properties_for("web-1");
  std::vector<scope_property> expected{
      {"Description", std::string("vnumad guest web-1")},
      {"Delegate", true},
      {"After", std::vector<std::string>{"vnumad.service"}},
      {"Before", std::vector<std::string>{"vnumad-guests.service"}},
      {"TasksMax", std::numeric_limits<std::uint64_t>::max()},
      {"CollectMode", std::string("inactive-or-failed")},
  };
  BOOST_TEST_REQUIRE(props.size() == expected.size());
  for (std::size_t i = 0; i < props.size(); ++i) BOOST_TEST((props[i] == expected[i]), "property " << props[i].name);
}

BOOST_AUTO_TEST_CASE(machine_request_names_the_guest_as_a_vm_led_by_qemus_child) {
  auto req = machine_request_for("web-1", std::string("c7a5fdbd-cdaf-9455-926a-d65c16db1809"), 4242);
  BOOST_TEST(req.name == "web-1");
  BOOST_TEST(req.service == "vnumad");
  BOOST_TEST(req.machine_class == "vm");
  BOOST_TEST(req.leader == 4242);
  std::vector<std::uint8_t> id{0xc7, 0xa5, 0xfd, 0xbd, 0xcd, 0xaf, 0x94, 0x55,
                               0x92, 0x6a, 0xd6, 0x5c, 0x16, 0xdb, 0x18, 0x09};
  BOOST_TEST(req.id == id);
  BOOST_TEST((req.properties == scope_properties_for("web-1")));
  // No <uuid> (or one machined could not take): an empty id, which machined
  // accepts and leaves unset.
  BOOST_TEST(machine_request_for("web-1", std::nullopt, 1).id.empty());
  BOOST_TEST(machine_request_for("web-1", std::string("not-a-uuid"), 1).id.empty());
}

BOOST_AUTO_TEST_CASE(uuids_parse_with_or_without_dashes) {
  auto a = parse_uuid("C7A5FDBD-CDAF-9455-926A-D65C16DB1809");
  auto b = parse_uuid("c7a5fdbdcdaf9455926ad65c16db1809");
  BOOST_TEST_REQUIRE(a.has_value());
  BOOST_TEST((a == b));
  BOOST_TEST((*a)[0] == 0xc7);
  BOOST_TEST((*a)[15] == 0x09);
  for (const char* bad : {"", "c7a5", "c7a5fdbdcdaf9455926ad65c16db18091", "g7a5fdbdcdaf9455926ad65c16db1809",
                          "c7a5fdbdcdaf9455926ad65c16db180"})
    BOOST_TEST(!parse_uuid(bad).has_value(), bad);
}

// Re-attach finds a guest's groups from /proc/PID/cgroup: a machine scope,
// wherever in it the main thread sits; anything else is no scope.
BOOST_AUTO_TEST_CASE(the_scope_is_read_from_proc_pid_cgroup) {
  auto scope = scope_in_cgroup_file("0::/machine.slice/machine-web\\x2d1.scope/vnumad/emulator\n");
  BOOST_TEST_REQUIRE(scope.has_value());
  BOOST_TEST(scope->string() == "/machine.slice/machine-web\\x2d1.scope");
  BOOST_TEST(scope_in_cgroup_file("0::/machine.slice/machine-app1.scope\n").value().string() ==
             "/machine.slice/machine-app1.scope");
  // A hybrid host lists the v1 hierarchies first.
  BOOST_TEST(scope_in_cgroup_file("12:cpuset:/vnumad/app1\n1:name=systemd:/x.scope\n"
                                  "0::/machine.slice/machine-app1.scope/vnumad\n")
                 .value()
                 .string() == "/machine.slice/machine-app1.scope");
  BOOST_TEST(!scope_in_cgroup_file("0::/vnumad/app1/emulator\n").has_value());
  BOOST_TEST(!scope_in_cgroup_file("0::/system.slice/vnumad.service\n").has_value());
  BOOST_TEST(!scope_in_cgroup_file("0::/user.slice/user-0.slice/session-3.scope\n").has_value());
  BOOST_TEST(!scope_in_cgroup_file("0::/\n").has_value());
  BOOST_TEST(!scope_in_cgroup_file("12:cpuset:/\n").has_value());
}

// This process is in no machine scope, and the answer comes from the real
// /proc file (the v1-only host here has a 0:: line from its unified mount).
BOOST_AUTO_TEST_CASE(a_live_process_outside_machine_slice_is_in_no_scope) {
  auto scope = scope_of_process(::getpid());
  BOOST_TEST_REQUIRE(scope.has_value(), scope.error().message);
  BOOST_TEST(!scope->has_value());
  auto gone = scope_of_process(std::numeric_limits<pid_t>::max());
  BOOST_TEST_REQUIRE(!gone.has_value());
  BOOST_TEST(gone.error().message.find("/cgroup") != std::string::npos, gone.error().message);
}

// The no-systemd fallback: without a systemd PID 1 (no /run/systemd/system)
// or without the unified hierarchy at the mount point, vnumad keeps its own
// tree. Tests/numahost/systemd covers the other side under a real systemd.
BOOST_AUTO_TEST_CASE(machine_scopes_need_systemd_and_cgroup_v2) {
  BOOST_TEST(!systemd_manages_cgroups("/proc"), "/proc is not a cgroup2 mount");
  struct stat st {};
  if (::stat("/run/systemd/system", &st) != 0) {
    BOOST_TEST(!systemd_manages_cgroups("/sys/fs/cgroup"), "PID 1 is not systemd here");
    BOOST_TEST(!systemd_manages_cgroups("/sys/fs/cgroup/unified"), "PID 1 is not systemd here");
  } else {
    BOOST_TEST_MESSAGE("systemd is PID 1 here: only the non-cgroup2 mount is checked");
  }
}

// In its scope the guest's groups are <scope>/vnumad/..., and nothing above
// the scope is part of the layout.
BOOST_AUTO_TEST_CASE(groups_in_a_scope_live_under_its_vnumad_child) {
  const fs::path scope = "/sys/fs/cgroup/machine.slice/machine-web.scope";
  auto g = guest_cgroup::open_in_scope(scope, "web");
  BOOST_TEST_REQUIRE(g.has_value());
  BOOST_TEST(g->in_scope());
  BOOST_TEST((g->fs().kind() == backend::v2));
  BOOST_TEST(g->fs().root() == scope);
  BOOST_TEST(g->guest_group() == "vnumad");
  BOOST_TEST(g->emulator_group() == "vnumad/emulator");
  BOOST_TEST(g->vcpu_group(3) == "vnumad/vcpu3");
  BOOST_TEST(g->fs().path_of(g->vcpu_group(3)) == scope / "vnumad/vcpu3");
  // vnumad's own tree is unchanged.
  auto own = guest_cgroup::open(cgroup_fs(backend::v2, "/sys/fs/cgroup"), "web");
  BOOST_TEST_REQUIRE(own.has_value());
  BOOST_TEST(!own->in_scope());
  BOOST_TEST(own->vcpu_group(3) == "vnumad/web/vcpu3");
  BOOST_TEST(!guest_cgroup::open_in_scope(scope, "..").has_value());
}

// Without a system bus (this host has no systemd) registering fails with an
// error that names the guest, and the daemon never gets there (it checks
// systemd_manages_cgroups first).
BOOST_AUTO_TEST_CASE(registering_without_a_bus_says_which_guest) {
  struct stat st {};
  if (::stat("/run/dbus/system_bus_socket", &st) == 0) {
    BOOST_TEST_MESSAGE("a system bus runs here: not calling machined from a unit test");
    return;
  }
  auto created = create_machine(machine_request_for("web", std::nullopt, ::getpid()));
  BOOST_TEST_REQUIRE(!created.has_value());
  BOOST_TEST(created.error().message.find("guest 'web'") != std::string::npos, created.error().message);
  BOOST_TEST(created.error().message.find("system bus") != std::string::npos, created.error().message);
}
