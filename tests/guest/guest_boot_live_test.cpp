#define BOOST_TEST_MODULE guest_boot_live
#include <boost/test/unit_test.hpp>

// Boots the test guest (tests/guest/README.md) with four NUMA cells of two
// vCPUs under TCG and checks what the guest kernel itself reports, then
// hot-adds a vCPU and a DIMM and powers it off through ACPI: the end-to-end
// proof that the argv, QMP and the guest agree.
#include "qemu/guest_log.hpp"
#include "qemu/process.hpp"
#include "qmp/qmp_client.hpp"
#include "qmp/qmp_commands.hpp"
#include "support/files_and_processes.hpp"
#include "support/qemu_process_guard.hpp"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>

using namespace vnumad;
using testing::kill_on_exit;
using testing::message_of;
using namespace std::chrono_literals;
namespace asio = boost::asio;
namespace fs = std::filesystem;
using asio::awaitable;

namespace {

const fs::path guest_dir = fs::path(VNUMAD_BINARY_DIR) / "guest";
constexpr unsigned cells = 4;
constexpr unsigned cpus_per_cell = 2;

// Guest distance table the argv sets: 10 + 10*|i-j| + 1 off the diagonal.
unsigned distance(unsigned i, unsigned j) {
  if (i == j) return 10;
  return 11 + 10 * (i > j ? i - j : j - i);
}

struct temp_dir {
  temp_dir() {
    char tmpl[] = "/tmp/vnumad-boot-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  fs::path path;
};

std::vector<std::string> guest_argv(const fs::path& dir) {
  std::vector<std::string> argv = {
      "/usr/bin/qemu-system-x86_64", "-name", "guest=boot", "-S", "-accel", "tcg", "-machine", "q35",
      "-cpu", "max,vendor=GenuineIntel", "-m", "512M,slots=2,maxmem=1G",
      // 4 sockets x 1 core x 2 threads present, a fifth socket for hotplug.
      "-smp", "8,maxcpus=10,sockets=5,cores=1,threads=2"};
  for (unsigned c = 0; c < cells; ++c) {
    argv.insert(argv.end(), {"-object", "memory-backend-ram,id=m" + std::to_string(c) + ",size=128M"});
    std::string node = "node,nodeid=" + std::to_string(c) + ",cpus=" + std::to_string(c * 2) + "-" +
                       std::to_string(c * 2 + 1) + ",memdev=m" + std::to_string(c);
    if (c == 0) node += ",cpus=8-9";  // the hotplug socket belongs to cell 0
    argv.insert(argv.end(), {"-numa", node});
  }
  for (unsigned i = 0; i < cells; ++i)
    for (unsigned j = i + 1; j < cells; ++j)
      argv.insert(argv.end(), {"-numa", "dist,src=" + std::to_string(i) + ",dst=" + std::to_string(j) +
                                            ",val=" + std::to_string(distance(i, j))});
  argv.insert(argv.end(),
              {"-kernel", (guest_dir / "vmlinuz").string(), "-initrd", (guest_dir / "initrd.gz").string(), "-append",
               // nokaslr and swiotlb=noforce make where the kernel's own memory
               // lands deterministic (the image on node 0, no 64 MiB bounce
               // buffer at the top of RAM); with KASLR the image landed on
               // node 3 at random and left it 14 MiB.
               "console=ttyS0 loglevel=1 swiotlb=noforce nokaslr memhp_default_state=online", "-serial",
               "file:" + (dir / "serial.log").string(), "-display", "none", "-nodefaults", "-no-reboot", "-qmp",
               "unix:" + (dir / "qmp.sock").string() + ",server=on,wait=off"});
  return argv;
}

// Polls the serial log until `done` holds for the parsed view.
awaitable<qemu::guest_view> wait_for_view(const fs::path& serial, std::chrono::seconds limit, const char* what,
                                          const std::function<bool(const qemu::guest_view&)>& done) {
  auto ex = co_await asio::this_coro::executor;
  const auto deadline = std::chrono::steady_clock::now() + limit;
  for (;;) {
    auto view = qemu::parse_guest_view(testing::read_text(serial));
    BOOST_TEST_REQUIRE(view.has_value(), message_of(view));
    if (done(*view)) co_return *view;
    BOOST_TEST_REQUIRE((std::chrono::steady_clock::now() < deadline),
                       "guest did not reach '" << what << "' within " << limit.count() << " s; serial log:\n"
                                               << testing::read_text(serial).substr(0, 4000));
    asio::steady_timer t(ex, 250ms);
    co_await t.async_wait(asio::as_tuple(asio::use_awaitable));
  }
}

void run(const std::function<awaitable<void>(asio::io_context&)>& body, std::chrono::seconds limit) {
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
  BOOST_TEST_REQUIRE(done, "test did not finish within " << limit.count() << " s");
}

}  // namespace

BOOST_AUTO_TEST_CASE(guest_sees_its_cells_and_hotplugged_cpu_and_memory) {
  BOOST_TEST_REQUIRE(fs::exists(guest_dir / "vmlinuz"),
                     "no test guest in " << guest_dir << ": run ctest (fixture guest/image) or "
                                            "scripts/make-test-guest.sh " << guest_dir);
  temp_dir dir;
  const fs::path serial = dir.path / "serial.log";
  run([&](asio::io_context& io) -> awaitable<void> {
    const qemu::spawn_options options{guest_argv(dir.path), dir.path / "qemu.log", {0}};
    auto proc = qemu::process::spawn(io.get_executor(), options);
    BOOST_TEST_REQUIRE(proc.has_value(), message_of(proc));
    kill_on_exit guard{*proc};
    qmp::qmp_client client(io.get_executor());
    auto connected = co_await client.connect((dir.path / "qmp.sock").string(), 10s);
    BOOST_TEST_REQUIRE(connected.has_value(), message_of(connected) << "; QEMU: " << qemu::qemu_error_message(dir.path / "qemu.log"));
    BOOST_TEST_REQUIRE((co_await client.negotiate(10s)).has_value());
    BOOST_TEST_REQUIRE((co_await client.execute(qmp::cont(), 10s)).has_value());

    auto view = co_await wait_for_view(serial, 90s, "VNUMA READY", [](const auto& v) { return v.ready; });
    BOOST_TEST_MESSAGE("guest kernel " << view.kernel);
    BOOST_TEST(view.node_ids == (config::id_set{0, 1, 2, 3}));
    BOOST_TEST(view.online == (config::id_set{0, 1, 2, 3, 4, 5, 6, 7}));
    BOOST_TEST(view.possible.size() == 10u);
    BOOST_TEST_REQUIRE(view.nodes.size() == cells);
    for (unsigned c = 0; c < cells; ++c) {
      BOOST_TEST_CONTEXT("guest node " << c) {
        const auto& node = view.nodes.at(c);
        BOOST_TEST(node.cpus.size() == cpus_per_cell);
        // 128 MiB per cell, less what the kernel keeps for itself: its
        // image (~45 MiB) on node 0, a few MiB elsewhere.
        BOOST_TEST(node.memtotal_kb > (c == 0 ? 64u : 112u) * 1024u, "MemTotal " << node.memtotal_kb << " kB");
        BOOST_TEST(node.memtotal_kb <= 128u * 1024u);
        BOOST_TEST_REQUIRE(node.distances.size() == cells);
        for (unsigned j = 0; j < cells; ++j) BOOST_TEST(node.distances[j] == distance(c, j));
      }
    }
    // threads=2 with an Intel vendor: each guest core has two sibling threads
    // that sit on the same node.
    BOOST_TEST_REQUIRE(view.cpus.size() == cells * cpus_per_cell);
    for (const auto& [id, cpu] : view.cpus) {
      BOOST_TEST(cpu.siblings.size() == 2u, "cpu " << id);
      for (unsigned s : cpu.siblings) BOOST_TEST(view.cpus.at(s).node == cpu.node);
    }

    // Hot-add the free vCPU of cell 0; the guest's init onlines it.
    auto slots = qmp::decode_hotpluggable_cpus(*co_await client.execute(qmp::query_hotpluggable_cpus(), 10s));
    BOOST_TEST_REQUIRE(slots.has_value());
    const qmp::hotpluggable_cpu* slot = nullptr;
    for (const auto& s : *slots)
      if (!s.plugged() && s.props.thread_id == 0) slot = &s;
    BOOST_TEST_REQUIRE(slot != nullptr);
    BOOST_TEST((slot->props.node_id == 0));
    auto added = co_await client.execute(qmp::device_add_cpu(slot->type, "vcpu8", slot->props), 20s);
    BOOST_TEST_REQUIRE(added.has_value(), message_of(added));

    // And a 128 MiB DIMM on cell 2, onlined by memhp_default_state=online.
    const auto before_kb = view.nodes.at(2).memtotal_kb;
    // (Built apart from the co_await: g++ 12 miscompiles initializer lists
    // inside a co_await expression.)
    const config::id_set host_nodes{0};
    auto backend_cmd = qmp::object_add_memory_backend_ram("mem-dimm0", 128u << 20, host_nodes);
    BOOST_TEST_REQUIRE((co_await client.execute(std::move(backend_cmd), 10s)).has_value());
    auto dimm = co_await client.execute(qmp::device_add_pc_dimm("dimm0", "mem-dimm0", 2), 20s);
    BOOST_TEST_REQUIRE(dimm.has_value(), message_of(dimm));

    auto grown = co_await wait_for_view(serial, 60s, "9 CPUs online and node2 grown", [&](const auto& v) {
      if (v.ticks.empty()) return false;
      const auto& t = v.ticks.back();
      return t.online.size() == 9u && t.node_memtotal_kb.count(2) && t.node_memtotal_kb.at(2) > before_kb;
    });
    const auto& tick = grown.ticks.back();
    BOOST_TEST(tick.node_cpus.at(0).size() == 3u);
    for (unsigned c = 1; c < cells; ++c) BOOST_TEST(tick.node_cpus.at(c).size() == 2u);
    BOOST_TEST(tick.node_memtotal_kb.at(2) >= before_kb + 120u * 1024u);

    // ACPI power button: the guest's acpid powers off, QEMU exits by itself.
    BOOST_TEST_REQUIRE((co_await client.execute(qmp::system_powerdown(), 10s)).has_value());
    for (;;) {
      auto event = co_await client.next_event(60s);
      BOOST_TEST_REQUIRE(event.has_value(), "waiting for SHUTDOWN: " << message_of(event));
      if (event->name != "SHUTDOWN") continue;
      BOOST_TEST(event->data.at("guest").as_bool());
      break;
    }
    auto exit = co_await proc->wait_exit();
    BOOST_TEST_REQUIRE(exit.has_value());
    BOOST_TEST_REQUIRE(exit->has_value());
    BOOST_TEST(WIFEXITED(**exit));
    BOOST_TEST(WEXITSTATUS(**exit) == 0);
    auto final_view = qemu::parse_guest_view(testing::read_text(serial));
    BOOST_TEST_REQUIRE(final_view.has_value());
    BOOST_TEST(final_view->powered_off);
  }, 240s);
}
