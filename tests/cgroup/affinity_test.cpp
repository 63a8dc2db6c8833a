#define BOOST_TEST_MODULE affinity
#include <boost/test/unit_test.hpp>

#include "cgroup/affinity.hpp"
#include "cgroup/proc.hpp"
#include "test_support.hpp"

using namespace vnumad;
using namespace vnumad::cgroup;
using namespace vnumad::cgroup::test;

namespace {
config::id_set online_cpus() { return get_affinity(::getpid()).value(); }
}  // namespace

BOOST_AUTO_TEST_CASE(pin_each_single_cpu_and_read_back_both_ways) {
  parked_thread thread;
  for (unsigned cpu : online_cpus()) {
    BOOST_TEST_CONTEXT("cpu " << cpu) {
      BOOST_TEST_REQUIRE(set_affinity(thread.tid(), {cpu}).has_value());
      BOOST_TEST(get_affinity(thread.tid()).value() == config::id_set{cpu});
      BOOST_TEST(read_cpus_allowed_list(::getpid(), thread.tid()).value() == config::id_set{cpu});
    }
  }
  BOOST_TEST_REQUIRE(set_affinity(thread.tid(), online_cpus()).has_value());
  BOOST_TEST(read_cpus_allowed_list(::getpid(), thread.tid()).value() == online_cpus());
}

BOOST_AUTO_TEST_CASE(pin_a_thread_of_another_process) {
  child_process child(1);
  pid_t worker = child.threads().back();
  unsigned cpu = *online_cpus().rbegin();
  BOOST_TEST_REQUIRE(set_affinity(worker, {cpu}).has_value());
  BOOST_TEST(read_cpus_allowed_list(child.pid(), worker).value() == config::id_set{cpu});
  // Only that thread: the main thread keeps its set.
  BOOST_TEST(read_cpus_allowed_list(child.pid(), child.pid()).value() == online_cpus());
}

BOOST_AUTO_TEST_CASE(errors_name_thread_and_set) {
  parked_thread thread;
  struct row {
    const char* name;
    pid_t tid;
    config::id_set cpus;
    errc code;
    std::string part;
  };
  unsigned absent = *online_cpus().rbegin() + 1000;
  const std::vector<row> rows = {
      {"empty set", thread.tid(), {}, errc::invalid_value, "empty CPU set"},
      {"cpu the host lacks", thread.tid(), {absent}, errc::invalid_value, "'" + std::to_string(absent) + "'"},
      {"no such thread", 999999999, {0}, errc::not_found, "thread 999999999"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.name) {
      auto result = set_affinity(r.tid, r.cpus);
      BOOST_TEST_REQUIRE(!result);
      BOOST_TEST(to_string(result.error().code) == to_string(r.code));
      BOOST_TEST(result.error().message.find(r.part) != std::string::npos, result.error().message);
      BOOST_TEST(result.error().message.find(std::to_string(r.tid)) != std::string::npos);
    }
  }
  auto missing = read_cpus_allowed_list(999999999, 999999999);
  BOOST_TEST_REQUIRE(!missing);
  BOOST_TEST(missing.error().message.find("/proc/999999999/task/999999999/status") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(proc_readers) {
  child_process child(3);
  auto tids = list_threads(child.pid()).value();
  BOOST_TEST(tids.size() == 4u);
  BOOST_TEST(tids.front() == child.pid());
  for (pid_t tid : tids) BOOST_TEST(thread_group_of(tid).value() == child.pid());
  BOOST_TEST(!list_threads(999999999));
  BOOST_TEST(parse_id_lines("12\n 7\n\n", "tasks").value() == (std::vector<pid_t>{12, 7}));
  auto bad = parse_id_lines("12\nx\n", "/x/tasks");
  BOOST_TEST_REQUIRE(!bad);
  BOOST_TEST(bad.error().message.find("/x/tasks") != std::string::npos);
}
