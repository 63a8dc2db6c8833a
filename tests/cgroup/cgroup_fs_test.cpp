#define BOOST_TEST_MODULE cgroup_fs
#include <boost/test/unit_test.hpp>

#include "cgroup/affinity.hpp"
#include "cgroup/cgroup_fs.hpp"
#include "test_support.hpp"

#include <cstdlib>

using namespace vnumad;
using namespace vnumad::cgroup;
using namespace vnumad::cgroup::test;
namespace fs = std::filesystem;

namespace {

// A temp dir shaped like cgroupfs, for the detection logic this machine's
// real hierarchies cannot reach (v2 with the cpuset controller).
struct fake_tree {
  fs::path base;
  fake_tree() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-cgfake-XXXXXX").string();
    base = ::mkdtemp(tmpl.data());
  }
  ~fake_tree() { fs::remove_all(base); }
};

config::id_set ids(std::initializer_list<unsigned> l) { return config::id_set(l); }

}  // namespace

BOOST_AUTO_TEST_CASE(detection_on_fake_trees) {
  struct row {
    const char* name;
    std::vector<std::pair<std::string, std::string>> files;  // relative path, content
    std::string configured;                                   // relative to the fake base, "" = auto
    bool ok;
    backend kind;
    std::string root;  // relative to the fake base
    std::string message_part;
  };
  const std::vector<row> rows = {
      {"v2 with cpuset", {{"cgroup.controllers", "cpuset cpu io memory pids\n"}}, "", true, backend::v2, "", ""},
      {"v2 without cpuset falls back to v1",
       {{"cgroup.controllers", "cpu io\n"}, {"cpuset/cpuset.cpus", "0-1\n"}, {"cpuset/tasks", ""}},
       "", true, backend::v1, "cpuset", ""},
      {"cpuset as a word, not a prefix", {{"cgroup.controllers", "cpusetx\n"}}, "", true, backend::none, "", ""},
      {"nothing at all", {}, "", true, backend::none, "", ""},
      {"configured v2 with cpuset",
       {{"machine/cgroup.controllers", "cpu cpuset\n"}}, "machine", true, backend::v2, "machine", ""},
      {"configured v1", {{"cpuset/machine/cpuset.cpus", "0\n"}, {"cpuset/machine/tasks", ""}},
       "cpuset/machine", true, backend::v1, "cpuset/machine", ""},
      {"configured plain directory", {{"plain/file", ""}}, "plain", false, backend::none, "",
       "is neither cgroup v2"},
      {"configured missing", {}, "missing", false, backend::none, "", "does not exist"},
      {"configured v2 without cpuset anywhere",
       {{"cgroup.controllers", "cpu\n"}, {"machine/cgroup.controllers", "cpu\n"}}, "machine", false,
       backend::none, "", "cpuset is not in"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      fake_tree tree;
      for (const auto& [path, content] : r.files) put(tree.base / path, content);
      fs::path configured = r.configured.empty() ? fs::path() : tree.base / r.configured;
      auto found = detect_backend(configured, tree.base);
      BOOST_TEST_REQUIRE(found.has_value() == r.ok);
      if (r.ok) {
        BOOST_TEST(to_string(found->kind) == to_string(r.kind));
        if (r.kind != backend::none) BOOST_TEST(found->root == (r.root.empty() ? tree.base : tree.base / r.root));
        BOOST_TEST(!found->reason.empty());
      } else {
        BOOST_TEST(found.error().message.find(r.message_part) != std::string::npos, found.error().message);
        BOOST_TEST(found.error().message.find(configured.string()) != std::string::npos);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(configured_v2_asks_the_parent_to_enable_cpuset) {
  fake_tree tree;
  put(tree.base / "cgroup.controllers", "cpuset cpu\n");
  put(tree.base / "cgroup.subtree_control", "cpu\n");
  put(tree.base / "vnumad.service/cgroup.controllers", "cpu\n");
  auto found = detect_backend(tree.base / "vnumad.service", tree.base);
  // The fake parent cannot propagate the controller, so detection still fails,
  // but only after writing the request a real kernel would have honoured.
  BOOST_TEST(slurp(tree.base / "cgroup.subtree_control") == "+cpuset");
  BOOST_TEST_REQUIRE(!found);
  BOOST_TEST(found.error().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(v2_create_enables_cpuset_and_marks_threaded_on_fake_tree) {
  fake_tree tree;
  put(tree.base / "cgroup.controllers", "cpuset cpu\n");
  put(tree.base / "cgroup.subtree_control", "");
  put(tree.base / "g/cgroup.controllers", "cpuset\n");
  put(tree.base / "g/cgroup.subtree_control", "");
  put(tree.base / "g/cgroup.type", "domain\n");
  put(tree.base / "g/t/cgroup.type", "domain\n");
  cgroup_fs cg(backend::v2, tree.base);
  BOOST_TEST_REQUIRE(cg.create("g/t", group_kind::threaded).has_value());
  BOOST_TEST(slurp(tree.base / "g/t/cgroup.type") == "threaded");
  // g existed already: nothing was enabled on its account in the root.
  BOOST_TEST(slurp(tree.base / "cgroup.subtree_control") == "");
  BOOST_TEST_REQUIRE(cg.create("h/x").has_value());
  BOOST_TEST(slurp(tree.base / "cgroup.subtree_control") == "+cpuset");
  BOOST_TEST(fs::is_directory(tree.base / "h/x"));
  BOOST_TEST(cg.children("").value() == (std::vector<std::string>{"g", "h"}));
}

BOOST_AUTO_TEST_CASE(group_names_cannot_escape_the_root) {
  cgroup_fs cg(backend::v1, "/nonexistent-root");
  for (const char* bad : {"../x", "a/../../b", "/abs", "./a"}) {
    auto r = cg.create(bad);
    BOOST_TEST_REQUIRE(!r);
    BOOST_TEST(r.error().code == errc::invalid_name);
    BOOST_TEST(r.error().message.find(bad) != std::string::npos);
  }
  BOOST_TEST(cgroup_fs(backend::v1, "/tmp").remove("").error().code == errc::invalid_name);
  BOOST_TEST(cgroup_fs().create("x").error().code == errc::unsupported);
}

BOOST_AUTO_TEST_CASE(auto_detection_on_this_machine) {
  auto found = detect_backend("");
  BOOST_TEST_REQUIRE(found.has_value());
  // Whatever the host has, auto must prefer v2 with cpuset, then v1.
  bool v2 = fs::exists("/sys/fs/cgroup/cgroup.controllers") &&
            list_contains_word(slurp("/sys/fs/cgroup/cgroup.controllers"), "cpuset");
  backend expected = v2 ? backend::v2 : usable_v1() ? backend::v1 : backend::none;
  BOOST_TEST(to_string(found->kind) == to_string(expected));
}

BOOST_AUTO_TEST_CASE(v1_real_create_write_move_read_remove) {
  BOOST_TEST_REQUIRE(usable_v1(), "needs root and a writable cgroup v1 cpuset hierarchy at " << v1_mount);
  scoped_root root(backend::v1, v1_mount);
  cgroup_fs cg = root.fs();
  auto parent_cpus = cgroup_fs(backend::v1, v1_mount).read_cpus("").value();
  auto parent_mems = cgroup_fs(backend::v1, v1_mount).read_mems("").value();

  BOOST_TEST_REQUIRE(cg.create("a/b").has_value());
  // New v1 cpusets inherit the parent's sets, else no task could join.
  BOOST_TEST(cg.read_cpus("a/b").value() == parent_cpus);
  BOOST_TEST(cg.read_mems("a/b").value() == parent_mems);
  BOOST_TEST(cg.children("").value() == std::vector<std::string>{"a"});
  BOOST_TEST(cg.children("a").value() == std::vector<std::string>{"b"});

  unsigned cpu = *parent_cpus.rbegin();
  BOOST_TEST_REQUIRE(cg.write_cpus("a/b", ids({cpu})).has_value());
  BOOST_TEST(cg.read_cpus("a/b").value() == ids({cpu}));

  parked_thread thread;
  BOOST_TEST_REQUIRE(cg.move_thread("a/b", thread.tid()).has_value());
  BOOST_TEST(contains(cg.threads("a/b").value(), thread.tid()));
  BOOST_TEST(read_cpus_allowed_list(::getpid(), thread.tid()).value() == ids({cpu}));

  child_process child(2);
  BOOST_TEST_REQUIRE(cg.move_process("a", child.pid()).has_value());
  auto in_a = cg.threads("a").value();
  for (pid_t tid : child.threads()) BOOST_TEST(contains(in_a, tid));
  BOOST_TEST(contains(cg.processes("a").value(), child.pid()));

  // Populated groups: remove moves their tasks up, then rmdirs children first.
  BOOST_TEST_REQUIRE(cg.remove("a").has_value());
  BOOST_TEST(!cg.exists("a"));
  auto in_root = cg.threads("").value();
  BOOST_TEST(contains(in_root, thread.tid()));
  for (pid_t tid : child.threads()) BOOST_TEST(contains(in_root, tid));
  BOOST_TEST(::kill(child.pid(), 0) == 0);  // still alive
  BOOST_TEST(cg.remove("a").has_value());   // already gone is fine
}

BOOST_AUTO_TEST_CASE(v1_errors_name_the_file_and_value) {
  BOOST_TEST_REQUIRE(usable_v1(), "needs root and a writable cgroup v1 cpuset hierarchy at " << v1_mount);
  scoped_root root(backend::v1, v1_mount);
  cgroup_fs cg = root.fs();
  auto parent_cpus = cg.read_cpus("").value();
  BOOST_TEST_REQUIRE(cg.create("a/b").has_value());
  unsigned first = *parent_cpus.begin();
  unsigned last = *parent_cpus.rbegin();

  // A CPU the machine does not have.
  auto r = cg.write_cpus("a", ids({last + 100}));
  BOOST_TEST_REQUIRE(!r);
  BOOST_TEST(r.error().code == errc::invalid_value);
  std::string file = (root.path() / "a/cpuset.cpus").string();
  BOOST_TEST(r.error().message.find(file) != std::string::npos, r.error().message);
  BOOST_TEST(r.error().message.find("'" + std::to_string(last + 100) + "'") != std::string::npos);
  // ERANGE on current kernels, EINVAL on older ones; either way the errno text is there.
  BOOST_TEST((r.error().message.find("out of range") != std::string::npos ||
              r.error().message.find("Invalid argument") != std::string::npos));

  if (first != last) {
    // A child's cpus outside its parent's set.
    BOOST_TEST_REQUIRE(cg.write_cpus("a/b", ids({last})).has_value());
    BOOST_TEST_REQUIRE(cg.write_cpus("a", ids({last})).has_value());
    auto outside = cg.write_cpus("a/b", ids({first}));
    BOOST_TEST_REQUIRE(!outside);
    BOOST_TEST(outside.error().code == errc::invalid_value);
    BOOST_TEST(outside.error().message.find((root.path() / "a/b/cpuset.cpus").string()) != std::string::npos);
    BOOST_TEST(outside.error().message.find("'" + std::to_string(first) + "'") != std::string::npos);
  }

  auto missing = cg.write_mems("nope", ids({0}));
  BOOST_TEST_REQUIRE(!missing);
  BOOST_TEST(missing.error().code == errc::not_found);
  BOOST_TEST(missing.error().message.find((root.path() / "nope/cpuset.mems").string()) != std::string::npos);

  auto no_thread = cg.move_thread("a", 999999999);
  BOOST_TEST_REQUIRE(!no_thread);
  BOOST_TEST(no_thread.error().message.find((root.path() / "a/tasks").string()) != std::string::npos);
  BOOST_TEST(thread_vanished(no_thread.error()));
}

// This machine's cgroup2 has no controllers, so the cpuset files cannot be
// exercised; the threaded-subtree mechanics can, for real.
BOOST_AUTO_TEST_CASE(v2_real_threaded_subtree_without_cpuset) {
  BOOST_TEST_REQUIRE(usable_v2(), "needs root and cgroup2 mounted at " << v2_mount);
  scoped_root root(backend::v2, v2_mount);
  cgroup_fs cg = root.fs();
  BOOST_TEST_REQUIRE(cg.create("g/t", group_kind::threaded).has_value());
  BOOST_TEST(slurp(root.path() / "g/t/cgroup.type") == "threaded\n");
  BOOST_TEST(slurp(root.path() / "g/cgroup.type") == "domain threaded\n");

  child_process child(2);
  pid_t worker = child.threads().back();
  // A thread may only join a threaded group once its process is in the domain.
  auto early = cg.move_thread("g/t", worker);
  BOOST_TEST(!early);
  BOOST_TEST_REQUIRE(cg.move_process("g", child.pid()).has_value());
  BOOST_TEST_REQUIRE(cg.move_thread("g/t", worker).has_value());
  BOOST_TEST(cg.threads("g/t").value() == std::vector<pid_t>{worker});
  BOOST_TEST(contains(cg.processes("g").value(), child.pid()));

  auto cpus = cg.write_cpus("g/t", ids({0}));
  BOOST_TEST_REQUIRE(!cpus);
  BOOST_TEST(cpus.error().message.find((root.path() / "g/t/cpuset.cpus").string()) != std::string::npos);

  BOOST_TEST_REQUIRE(cg.remove("g").has_value());
  BOOST_TEST(!cg.exists("g"));
  BOOST_TEST(contains(cg.processes("").value(), child.pid()));
  BOOST_TEST(::kill(child.pid(), 0) == 0);
}
