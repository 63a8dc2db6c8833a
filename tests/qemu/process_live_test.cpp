#define BOOST_TEST_MODULE process_live
#include <boost/test/unit_test.hpp>

#include "qemu/process.hpp"
#include "qmp/qmp_client.hpp"
#include "qmp/qmp_commands.hpp"
#include "support/files_and_processes.hpp"
#include "support/qemu_process_guard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

using namespace vnumad;
using testing::kill_on_exit;
using testing::message_of;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using namespace asio::experimental::awaitable_operators;
using asio::as_tuple;
using asio::awaitable;
using asio::use_awaitable;

namespace {

const std::string qemu_binary = "/usr/bin/qemu-system-x86_64";

// A fresh directory per test; short, because unix socket paths are limited.
struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/vnumad-proc-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

// Runs one test coroutine on a fresh io_context; exceptions and a hang fail
// the test instead of wedging ctest.
void run(const std::function<awaitable<void>(asio::io_context&)>& body, std::chrono::seconds limit = 60s) {
  asio::io_context io;
  bool done = false;
  std::exception_ptr failure;
  asio::co_spawn(io, [&]() -> awaitable<void> { co_await body(io); },
                 [&](std::exception_ptr e) {
                   done = true;
                   failure = e;
                 });
  io.run_for(limit);
  if (failure) std::rethrow_exception(failure);
  BOOST_TEST_REQUIRE(done, "test coroutine did not finish within " << limit.count() << " s");
}

// The machine the daemon would start: paused, 1 of 4 vCPUs present, two
// guest nodes. -name carries the marker process_is_qemu_for() looks for.
std::vector<std::string> paused_guest_argv(const fs::path& dir, const std::string& name) {
  return {qemu_binary, "-name", "guest=" + name + ",debug-threads=on", "-S", "-accel", "tcg",
          "-machine", "q35", "-cpu", "max,vendor=GenuineIntel", "-m", "128M",
          "-smp", "1,maxcpus=4,sockets=4,cores=1,threads=1",
          "-object", "memory-backend-ram,id=m0,size=64M", "-object", "memory-backend-ram,id=m1,size=64M",
          "-numa", "node,nodeid=0,cpus=0-1,memdev=m0", "-numa", "node,nodeid=1,cpus=2-3,memdev=m1",
          "-display", "none", "-nodefaults", "-qmp", "unix:" + (dir / "qmp.sock").string() + ",server=on,wait=off"};
}

// Collects events until one called `name`, or fails on timeout.
awaitable<qmp::qmp_event> expect_event(qmp::qmp_client& client, const std::string& name) {
  for (;;) {
    auto event = co_await client.next_event(10s);
    BOOST_TEST_REQUIRE(event.has_value(), "waiting for " << name << ": " << message_of(event));
    if (event->name == name) co_return *event;
  }
}

}  // namespace

BOOST_AUTO_TEST_CASE(spawn_negotiate_hotplug_run_and_quit) {
  temp_dir dir;
  qemu::spawn_options options{paused_guest_argv(dir.path, "plug"), dir.path / "qemu.log", {0}};
  run([&](asio::io_context& io) -> awaitable<void> {
    auto proc = qemu::process::spawn(io.get_executor(), options);
    BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
    kill_on_exit guard{*proc};
    BOOST_TEST(proc->is_child());
    const pid_t pid = proc->pid();
    BOOST_TEST(qemu::process_is_qemu_for(pid, "guest=plug"));
    BOOST_TEST(!qemu::process_is_qemu_for(pid, "guest=other"));
    BOOST_TEST(!qemu::process_is_qemu_for(::getpid(), "guest=plug"));  // not a qemu binary
    // Own session: it survives the daemon's process group and terminal.
    BOOST_TEST(::getsid(pid) == pid);

    qmp::qmp_client client(io.get_executor());
    std::optional<error> closed;
    client.on_close([&](const error& e) { closed = e; });
    auto connected = co_await client.connect((dir.path / "qmp.sock").string(), 10s);
    BOOST_TEST_REQUIRE(connected.has_value(), message_of(connected));
    auto version = co_await client.negotiate(10s);
    BOOST_TEST_REQUIRE(version.has_value(), message_of(version));
    BOOST_TEST(version->at("qemu").at("major").as_int64() >= 7);

    auto slots_reply = co_await client.execute(qmp::query_hotpluggable_cpus(), 10s);
    BOOST_TEST_REQUIRE(slots_reply.has_value(), message_of(slots_reply));
    auto slots = qmp::decode_hotpluggable_cpus(*slots_reply);
    BOOST_TEST_REQUIRE(slots.has_value(), message_of(slots));
    BOOST_TEST_REQUIRE(slots->size() == 4u);
    std::vector<qmp::hotpluggable_cpu> absent;
    for (const auto& s : *slots)
      if (!s.plugged()) absent.push_back(s);
    BOOST_TEST_REQUIRE(absent.size() == 3u);

    // Three device_add in flight at once: replies are matched by id.
    auto plug = [&](std::size_t i) {
      return client.execute(qmp::device_add_cpu(absent[i].type, "vcpu" + std::to_string(*absent[i].props.socket_id),
                                                absent[i].props),
                            20s);
    };
    auto plugged = co_await (plug(0) && plug(1) && plug(2));
    BOOST_TEST(std::get<0>(plugged).has_value(), message_of(std::get<0>(plugged)));
    BOOST_TEST(std::get<1>(plugged).has_value(), message_of(std::get<1>(plugged)));
    BOOST_TEST(std::get<2>(plugged).has_value(), message_of(std::get<2>(plugged)));

    // A QMP error is a value naming the command and QEMU's words.
    // (Built apart from the co_await: g++ 12 miscompiles initializer lists
    // inside a co_await expression, "array used as initializer".)
    boost::json::object bad_args{{"driver", "no-such-device"}, {"id", "x"}};
    auto bad = co_await client.execute("device_add", std::move(bad_args), 10s);
    BOOST_TEST_REQUIRE(!bad.has_value());
    BOOST_TEST((bad.error().code == errc::qmp_error));
    BOOST_TEST(bad.error().message.find("device_add: GenericError:") != std::string::npos, bad.error().message);
    BOOST_TEST(bad.error().message.find("no-such-device") != std::string::npos);

    auto fast_reply = co_await client.execute(qmp::query_cpus_fast(), 10s);
    BOOST_TEST_REQUIRE(fast_reply.has_value(), message_of(fast_reply));
    auto cpus = qmp::decode_cpus_fast(*fast_reply);
    BOOST_TEST_REQUIRE(cpus.has_value(), message_of(cpus));
    BOOST_TEST(cpus->size() == 4u);
    for (const auto& cpu : *cpus) {
      const fs::path task = "/proc/" + std::to_string(pid) + "/task/" + std::to_string(cpu.thread_id);
      BOOST_TEST(fs::exists(task), task.string() << " (vCPU " << cpu.cpu_index << ")");
      BOOST_TEST(testing::read_text(task / "comm").find("CPU") != std::string::npos);  // debug-threads names them "CPU n/TCG"
    }

    // The MPOL_BIND set before exec shows as QEMU's task policy.
    const std::string numa_maps = testing::read_text("/proc/" + std::to_string(pid) + "/numa_maps");
    BOOST_TEST(numa_maps.find(" bind:0 ") != std::string::npos, numa_maps.substr(0, 400));
    BOOST_TEST(numa_maps.find("default") == std::string::npos, "a mapping without the bind policy");

    auto status = co_await client.execute(qmp::query_status(), 10s);
    BOOST_TEST_REQUIRE(status.has_value());
    BOOST_TEST(qmp::decode_status(*status)->status == "prelaunch");

    auto resumed = co_await client.execute(qmp::cont(), 10s);
    BOOST_TEST_REQUIRE(resumed.has_value(), message_of(resumed));
    co_await expect_event(client, "RESUME");

    auto quit = co_await client.execute(qmp::quit(), 10s);
    BOOST_TEST(quit.has_value(), message_of(quit));
    auto shutdown = co_await expect_event(client, "SHUTDOWN");
    BOOST_TEST(shutdown.data.at("reason").as_string() == "host-qmp-quit");

    auto exit = co_await proc->wait_exit();
    BOOST_TEST_REQUIRE(exit.has_value(), message_of(exit));
    BOOST_TEST_REQUIRE(exit->has_value());
    BOOST_TEST(WIFEXITED(**exit));
    BOOST_TEST(WEXITSTATUS(**exit) == 0, qemu::describe_wait_status(**exit));
    BOOST_TEST(proc->has_exited());
    BOOST_TEST(!qemu::process_is_qemu_for(pid, "guest=plug"));

    // EOF reaches the owner and later commands fail as closed.
    auto after = co_await client.next_event(5s);
    BOOST_TEST(!after.has_value());
    BOOST_TEST(closed.has_value());
    if (closed) BOOST_TEST(closed->message.find("QMP connection closed") != std::string::npos);
    BOOST_TEST(!client.is_open());
    auto late = co_await client.execute(qmp::query_status(), 1s);
    BOOST_TEST_REQUIRE(!late.has_value());
    BOOST_TEST((late.error().code == errc::protocol_error));
  });
}

BOOST_AUTO_TEST_CASE(timeouts_and_pending_requests_when_qemu_dies) {
  temp_dir dir;
  qemu::spawn_options options{paused_guest_argv(dir.path, "die"), dir.path / "qemu.log", {}};
  run([&](asio::io_context& io) -> awaitable<void> {
    auto proc = qemu::process::spawn(io.get_executor(), options);
    BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
    kill_on_exit guard{*proc};
    qmp::qmp_client client(io.get_executor());
    BOOST_TEST_REQUIRE((co_await client.connect((dir.path / "qmp.sock").string(), 10s)).has_value());
    BOOST_TEST_REQUIRE((co_await client.negotiate(10s)).has_value());
    // No nodeset: the inherited (default) policy is left alone.
    const std::string numa_maps = testing::read_text("/proc/" + std::to_string(proc->pid()) + "/numa_maps");
    BOOST_TEST(numa_maps.find(" default ") != std::string::npos, numa_maps.substr(0, 400));
    BOOST_TEST(numa_maps.find("bind:") == std::string::npos);

    // A stopped QEMU does not answer: the caller gets a timeout, not a hang.
    BOOST_TEST_REQUIRE(proc->send_signal(SIGSTOP).has_value());
    auto slow = co_await client.execute(qmp::query_status(), 300ms);
    BOOST_TEST_REQUIRE(!slow.has_value());
    BOOST_TEST((slow.error().code == errc::timeout));
    BOOST_TEST(slow.error().message.find("query-status") != std::string::npos);

    // QEMU dying with requests in flight completes them with an error.
    auto kill_soon = [&]() -> awaitable<bool> {
      asio::steady_timer t(io, 200ms);
      co_await t.async_wait(as_tuple(use_awaitable));
      co_return proc->send_signal(SIGKILL).has_value();
    };
    auto outcome = co_await (client.execute(qmp::query_status(), 20s) &&
                             client.execute(qmp::query_cpus_fast(), 20s) && kill_soon());
    BOOST_TEST(std::get<2>(outcome));
    for (const auto* r : {&std::get<0>(outcome), &std::get<1>(outcome)}) {
      BOOST_TEST_REQUIRE(!r->has_value());
      BOOST_TEST((r->error().code == errc::protocol_error));
      BOOST_TEST(r->error().message.find("QMP connection closed") != std::string::npos, r->error().message);
    }
    auto exit = co_await proc->wait_exit();
    BOOST_TEST_REQUIRE(exit.has_value());
    BOOST_TEST_REQUIRE(exit->has_value());
    BOOST_TEST(WIFSIGNALED(**exit));
    BOOST_TEST(qemu::describe_wait_status(**exit) == "killed by signal 9 (Killed)");
  });
}

BOOST_AUTO_TEST_CASE(connect_gives_up_at_its_deadline) {
  temp_dir dir;
  run([&](asio::io_context& io) -> awaitable<void> {
    qmp::qmp_client client(io.get_executor());
    const auto start = std::chrono::steady_clock::now();
    auto r = co_await client.connect((dir.path / "never.sock").string(), 300ms);
    BOOST_TEST_REQUIRE(!r.has_value());
    BOOST_TEST((r.error().code == errc::timeout));
    BOOST_TEST(r.error().message.find("never.sock") != std::string::npos);
    BOOST_TEST((std::chrono::steady_clock::now() - start >= 300ms));
  });
}

BOOST_AUTO_TEST_CASE(missing_binary_is_an_error_naming_it) {
  temp_dir dir;
  asio::io_context io;
  for (const std::string binary : {"/nonexistent/qemu-system-x86_64", "vnumad-no-such-qemu"}) {
    auto proc = qemu::process::spawn(io.get_executor(), {{binary, "-version"}, dir.path / "qemu.log", {}});
    BOOST_TEST_REQUIRE(!proc.has_value());
    BOOST_TEST((proc.error().code == errc::process_failed));
    BOOST_TEST(proc.error().message.find(binary) != std::string::npos, proc.error().message);
    BOOST_TEST(proc.error().message.find("No such file or directory") != std::string::npos, proc.error().message);
  }
  // A node above what the kernel could ever have is refused before fork.
  auto far = qemu::process::spawn(io.get_executor(), {{qemu_binary, "-version"}, dir.path / "qemu.log", {16000}});
  BOOST_TEST_REQUIRE(!far.has_value());
  BOOST_TEST((far.error().code == errc::node_unavailable));
  BOOST_TEST(far.error().message.find("16000") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(bad_option_gives_qemus_own_message) {
  temp_dir dir;
  const fs::path log = dir.path / "qemu.log";
  run([&](asio::io_context& io) -> awaitable<void> {
    // Two runs into one log: only the latest run's message is reported.
    for (const std::string option : {"-first-bad-option", "-second-bad-option"}) {
      auto proc = qemu::process::spawn(io.get_executor(), {{qemu_binary, option}, log, {}});
      BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
    kill_on_exit guard{*proc};
      auto exit = co_await proc->wait_exit();
      BOOST_TEST_REQUIRE(exit.has_value());
      BOOST_TEST_REQUIRE(exit->has_value());
      BOOST_TEST(WEXITSTATUS(**exit) == 1, qemu::describe_wait_status(**exit));
    }
    const std::string message = qemu::qemu_error_message(log);
    BOOST_TEST(message.find("qemu-system-x86_64: -second-bad-option: invalid option") != std::string::npos, message);
    BOOST_TEST(message.find("first") == std::string::npos, message);
    const auto tail = qemu::read_log_tail(log, 2);
    BOOST_TEST_REQUIRE(tail.size() == 2u);
    BOOST_TEST(tail[0].find("vnumad: spawn " + qemu_binary + " -second-bad-option") == 0u, tail[0]);
  });
}

BOOST_AUTO_TEST_CASE(attach_watches_a_process_that_is_not_our_child) {
  // A shell that backgrounds a sleep and exits leaves the sleep orphaned:
  // like a QEMU whose daemon restarted, it can be watched but not reaped.
  FILE* shell = ::popen("sleep 30 </dev/null >/dev/null 2>&1 & echo $!", "r");
  BOOST_TEST_REQUIRE(shell != nullptr);
  int pid = 0;
  BOOST_TEST_REQUIRE(std::fscanf(shell, "%d", &pid) == 1);
  ::pclose(shell);
  run([&](asio::io_context& io) -> awaitable<void> {
    auto proc = qemu::process::attach(io.get_executor(), pid);
    BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
    kill_on_exit guard{*proc};
    BOOST_TEST(!proc->is_child());
    BOOST_TEST(!qemu::process_is_qemu_for(pid, "sleep"));  // alive, but not a qemu
    BOOST_TEST_REQUIRE(proc->send_signal(SIGTERM).has_value());
    auto exit = co_await proc->wait_exit();
    BOOST_TEST_REQUIRE(exit.has_value(), message_of(exit));
    BOOST_TEST(!exit->has_value());  // its status went to its real parent
    BOOST_TEST(proc->has_exited());
  });
  asio::io_context io;
  auto gone = qemu::process::attach(io.get_executor(), 0x3ffffff0);
  BOOST_TEST_REQUIRE(!gone.has_value());
  BOOST_TEST((gone.error().code == errc::not_found));
}

// QEMU must be inside its guest's cgroup from its first instruction, so
// nothing it allocates is placed (and later migrated) outside the guest's
// cpuset.mems. The child joins the given cgroup.procs before exec: the new
// process is there the moment spawn() returns, with no move by the parent.
BOOST_AUTO_TEST_CASE(child_joins_its_cgroup_before_exec) {
  const fs::path v1 = "/sys/fs/cgroup/cpuset";
  if (::access((v1 / "cgroup.procs").c_str(), W_OK) != 0) {
    BOOST_TEST_MESSAGE("no writable cgroup v1 cpuset at " << v1 << ": nothing to join on this host");
    return;
  }
  temp_dir dir;
  const fs::path group = v1 / ("vnumad-spawn-test-" + std::to_string(::getpid()));
  fs::create_directory(group);
  struct remove_group {
    fs::path g;
    ~remove_group() { ::rmdir(g.c_str()); }
  } cleanup{group};
  // A v1 group starts with empty sets: copy the root's, as cgroup_fs does.
  for (const char* file : {"cpuset.cpus", "cpuset.mems"}) {
    std::ifstream in(v1 / file);
    std::string value;
    std::getline(in, value);
    std::ofstream(group / file) << value;
  }
  asio::io_context io;
  qemu::spawn_options options{{"/bin/sleep", "30"}, dir.path / "sleep.log", {}};
  options.join_cgroup_procs = group / "cgroup.procs";
  auto proc = qemu::process::spawn(io.get_executor(), options);
  BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
  const std::string cgroups = testing::read_text("/proc/" + std::to_string(proc->pid()) + "/cgroup");
  BOOST_TEST(cgroups.find(":cpuset:/" + group.filename().string() + "\n") != std::string::npos, cgroups);
  std::ifstream procs(group / "cgroup.procs");
  pid_t member = 0;
  procs >> member;
  BOOST_TEST(member == proc->pid());
  (void)proc->send_signal(SIGKILL);
  ::waitpid(proc->pid(), nullptr, 0);

  // A cgroup file that cannot be opened fails the spawn, naming the file.
  options.join_cgroup_procs = dir.path / "no-such-group" / "cgroup.procs";
  auto refused = qemu::process::spawn(io.get_executor(), options);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message.find("no-such-group/cgroup.procs") != std::string::npos, refused.error().message);
}

// Under systemd the parent gets the child's pid while the child waits: it has
// its session but has not exec'd (so has allocated nothing of QEMU's) until
// before_exec returns; systemd-machined then puts it in its scope. A failing
// hook kills and reaps the child and fails the spawn with the hook's error.
BOOST_AUTO_TEST_CASE(the_child_waits_for_before_exec) {
  temp_dir dir;
  asio::io_context io;
  qemu::spawn_options options{{"/bin/sleep", "30"}, dir.path / "sleep.log", {}};
  pid_t seen = 0;
  std::string cmdline_then, sid_then;
  options.before_exec = [&](pid_t pid) -> result<void> {
    seen = pid;
    // Let the child get as far as it can on its own.
    std::this_thread::sleep_for(200ms);
    cmdline_then = testing::read_text("/proc/" + std::to_string(pid) + "/cmdline");
    std::istringstream status(testing::read_text("/proc/" + std::to_string(pid) + "/stat"));
    std::string field;
    for (int i = 0; i < 6 && status >> field; ++i) sid_then = field;  // field 6: session id
    return {};
  };
  auto proc = qemu::process::spawn(io.get_executor(), options);
  BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
  BOOST_TEST(seen == proc->pid());
  BOOST_TEST(cmdline_then.find("sleep") == std::string::npos, "the child had exec'd before the hook returned");
  BOOST_TEST(sid_then == std::to_string(proc->pid()), "the child had not called setsid yet");
  BOOST_TEST(testing::read_text("/proc/" + std::to_string(proc->pid()) + "/cmdline").rfind("/bin/sleep", 0) == 0);
  (void)proc->send_signal(SIGKILL);
  ::waitpid(proc->pid(), nullptr, 0);

  pid_t refused_pid = 0;
  options.before_exec = [&](pid_t pid) -> result<void> {
    refused_pid = pid;
    return make_error(errc::unsupported, "machined said no");
  };
  auto refused = qemu::process::spawn(io.get_executor(), options);
  BOOST_TEST_REQUIRE(!refused.has_value());
  BOOST_TEST(refused.error().message == "machined said no");
  BOOST_TEST_REQUIRE(refused_pid > 0);
  BOOST_TEST(::waitpid(refused_pid, nullptr, WNOHANG) == -1, "the refused child was not reaped");
  BOOST_TEST(::kill(refused_pid, 0) == -1);
}
