#define BOOST_TEST_MODULE qmp_commands
#include <boost/test/unit_test.hpp>

#include "qmp/qmp_commands.hpp"
#include "qmp/qmp_message.hpp"

#include <fstream>
#include <sstream>

using namespace vnumad;
using namespace vnumad::qmp;
namespace json = boost::json;

namespace {

// The "return" value of a reply recorded from the real QEMU (tests/data/qmp).
json::value recorded(const std::string& name) {
  std::ifstream in(std::string(VNUMAD_TEST_DATA_DIR) + "/qmp/" + name + ".json");
  BOOST_TEST_REQUIRE(static_cast<bool>(in), "missing sample " << name);
  std::stringstream text;
  text << in.rdbuf();
  json::value v = json::parse(text.str());
  if (!v.is_object()) return v;  // an event list
  // Decode through the wire decoder, so the samples also exercise it.
  auto message = decode_message(json::serialize(v));
  BOOST_TEST_REQUIRE(message.has_value());
  if (auto* ret = std::get_if<qmp_return>(&*message)) return ret->value;
  return v;
}

cpu_props props(std::int64_t node, std::int64_t socket, std::int64_t core, std::int64_t thread) {
  cpu_props p;
  p.node_id = node;
  p.socket_id = socket;
  p.core_id = core;
  p.thread_id = thread;
  return p;
}

}  // namespace

BOOST_AUTO_TEST_CASE(hotpluggable_cpus_from_real_qemu) {
  auto before = decode_hotpluggable_cpus(recorded("query-hotpluggable-cpus"));
  BOOST_TEST_REQUIRE(before.has_value(), (before ? "" : before.error().message));
  BOOST_TEST_REQUIRE(before->size() == 4u);
  // QEMU lists slots from the highest id down; only the boot vCPU is plugged.
  int plugged = 0;
  for (const auto& cpu : *before) {
    BOOST_TEST(cpu.type == "max-x86_64-cpu");
    BOOST_TEST(cpu.vcpus_count == 1);
    BOOST_TEST(!cpu.props.die_id.has_value());
    BOOST_TEST(!cpu.props.cluster_id.has_value());
    plugged += cpu.plugged();
  }
  BOOST_TEST(plugged == 1);
  BOOST_TEST((before->back().props == props(0, 0, 0, 0)));
  BOOST_TEST(*before->back().qom_path == "/machine/unattached/device[0]");
  BOOST_TEST((before->front().props == props(1, 1, 0, 1)));

  auto after = decode_hotpluggable_cpus(recorded("query-hotpluggable-cpus-after"));
  BOOST_TEST_REQUIRE(after.has_value());
  BOOST_TEST(after->front().qom_path.value_or("") == "/machine/peripheral/vcpu1");
}

BOOST_AUTO_TEST_CASE(device_add_cpu_reproduces_the_slot) {
  auto slots = decode_hotpluggable_cpus(recorded("query-hotpluggable-cpus"));
  BOOST_TEST_REQUIRE(slots.has_value());
  const auto& slot = slots->front();
  const qmp_command cmd = device_add_cpu(slot.type, "vcpu1", slot.props);
  BOOST_TEST(cmd.execute == "device_add");
  // What the recorder sent to QEMU, which answered {"return": {}}.
  const json::object expected{{"driver", "max-x86_64-cpu"}, {"id", "vcpu1"}, {"node-id", 1},
                              {"socket-id", 1},             {"core-id", 0},  {"thread-id", 1}};
  BOOST_TEST(cmd.arguments == expected);
}

BOOST_AUTO_TEST_CASE(cpus_fast_gives_thread_ids) {
  auto cpus = decode_cpus_fast(recorded("query-cpus-fast"));
  BOOST_TEST_REQUIRE(cpus.has_value(), (cpus ? "" : cpus.error().message));
  BOOST_TEST_REQUIRE(cpus->size() == 2u);
  BOOST_TEST((*cpus)[0].cpu_index == 0);
  BOOST_TEST((*cpus)[0].thread_id > 0);
  BOOST_TEST((*cpus)[1].cpu_index == 3);
  BOOST_TEST((*cpus)[1].qom_path == "/machine/peripheral/vcpu1");
  BOOST_TEST(((*cpus)[1].props == props(1, 1, 0, 1)));
  BOOST_TEST((*cpus)[1].target == "x86_64");
}

BOOST_AUTO_TEST_CASE(memory_devices_from_real_qemu) {
  auto devices = decode_memory_devices(recorded("query-memory-devices"));
  BOOST_TEST_REQUIRE(devices.has_value(), (devices ? "" : devices.error().message));
  BOOST_TEST_REQUIRE(devices->size() == 1u);
  const auto& d = devices->front();
  BOOST_TEST(d.type == "dimm");
  BOOST_TEST(d.id == "dimm0");
  BOOST_TEST(d.memdev == "/objects/mem-dimm0");
  BOOST_TEST(d.size == 134217728u);
  BOOST_TEST(d.addr == 4294967296u);
  BOOST_TEST(d.node == 1);
  BOOST_TEST(d.slot == 0);
  BOOST_TEST(d.hotplugged);
  BOOST_TEST(d.hotpluggable);
}

BOOST_AUTO_TEST_CASE(memdev_from_real_qemu) {
  // Four backends bound to node 0: ram, memfd (share), file and a dimm's.
  auto backends = decode_memdev(recorded("query-memdev"));
  BOOST_TEST_REQUIRE(backends.has_value(), (backends ? "" : backends.error().message));
  BOOST_TEST_REQUIRE(backends->size() == 4u);
  const auto& memfd = backends->front();
  BOOST_TEST(memfd.id == "ram-node1");
  BOOST_TEST(memfd.size == 67108864u);
  BOOST_TEST(memfd.policy == "bind");
  BOOST_TEST(memfd.share);
  BOOST_TEST((memfd.host_nodes == std::set<unsigned>{0}));
  BOOST_TEST(backends->at(1).id == "memdimm0");
  BOOST_TEST(!backends->at(1).share);
  BOOST_TEST(backends->back().size == 134217728u);

  auto bad = decode_memdev(json::parse(R"([{"id":"x","size":1,"policy":"bind","host-nodes":["0"]}])"));
  BOOST_TEST(!bad.has_value());
}

BOOST_AUTO_TEST_CASE(status_from_real_qemu) {
  struct row {
    const char* sample;
    const char* status;
    bool running;
  };
  for (const row& r : {row{"query-status-paused", "prelaunch", false}, row{"query-status-running", "running", true}}) {
    auto s = decode_status(recorded(r.sample));
    BOOST_TEST_REQUIRE(s.has_value());
    BOOST_TEST(s->status == r.status);
    BOOST_TEST(s->running == r.running);
  }
}

BOOST_AUTO_TEST_CASE(recorded_errors_and_events_decode) {
  auto err = decode_message(json::serialize(recorded("device_del-cpu-paused-error")));
  BOOST_TEST_REQUIRE(err.has_value());
  BOOST_TEST(std::get<qmp_error_reply>(*err).description.find("acpi: device unplug request") != std::string::npos);

  const json::value events = recorded("quit-events");
  BOOST_TEST_REQUIRE(events.is_array());
  auto shutdown = decode_message(json::serialize(events.as_array().front()));
  BOOST_TEST_REQUIRE(shutdown.has_value());
  BOOST_TEST(std::get<qmp_event>(*shutdown).name == "SHUTDOWN");
  BOOST_TEST(std::get<qmp_event>(*shutdown).data.at("reason").as_string() == "host-qmp-quit");
}

BOOST_AUTO_TEST_CASE(encoders_name_the_commands_qemu_knows) {
  struct row {
    qmp_command cmd;
    const char* execute;
    json::object arguments;
  };
  const std::vector<row> rows = {
      {query_hotpluggable_cpus(), "query-hotpluggable-cpus", {}},
      {query_cpus_fast(), "query-cpus-fast", {}},
      {query_memory_devices(), "query-memory-devices", {}},
      {query_status(), "query-status", {}},
      {cont(), "cont", {}},
      {stop(), "stop", {}},
      {system_powerdown(), "system_powerdown", {}},
      {system_reset(), "system_reset", {}},
      {quit(), "quit", {}},
      {device_del("vcpu3"), "device_del", {{"id", "vcpu3"}}},
      {object_del("mem-dimm0"), "object-del", {{"id", "mem-dimm0"}}},
      {device_add_pc_dimm("dimm0", "mem-dimm0", 1), "device_add",
       {{"driver", "pc-dimm"}, {"id", "dimm0"}, {"memdev", "mem-dimm0"}, {"node", 1}}},
      {object_add_memory_backend_ram("mem-dimm0", 134217728, {0}), "object-add",
       {{"qom-type", "memory-backend-ram"}, {"id", "mem-dimm0"}, {"size", 134217728}, {"host-nodes", {0}},
        {"policy", "bind"}}},
      {object_add_memory_backend_ram("m", 1048576, {}), "object-add",
       {{"qom-type", "memory-backend-ram"}, {"id", "m"}, {"size", 1048576}}},
      {object_add_memory_backend_ram("m", 1048576, {0, 2}, "interleave"), "object-add",
       {{"qom-type", "memory-backend-ram"}, {"id", "m"}, {"size", 1048576}, {"host-nodes", {0, 2}},
        {"policy", "interleave"}}},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.execute) {
      BOOST_TEST(r.cmd.execute == r.execute);
      // Compare as serialized JSON values: numbers may differ in signedness.
      BOOST_TEST(json::parse(json::serialize(r.cmd.arguments)) == json::parse(json::serialize(r.arguments)));
    }
  }
}

BOOST_AUTO_TEST_CASE(decoders_reject_malformed_replies) {
  struct row {
    const char* reply;
    result<int> (*decode)(const json::value&);
    const char* expected;
  };
  auto hp = [](const json::value& v) -> result<int> {
    auto r = decode_hotpluggable_cpus(v);
    if (!r) return r.error();
    return 0;
  };
  auto fast = [](const json::value& v) -> result<int> {
    auto r = decode_cpus_fast(v);
    if (!r) return r.error();
    return 0;
  };
  auto mem = [](const json::value& v) -> result<int> {
    auto r = decode_memory_devices(v);
    if (!r) return r.error();
    return 0;
  };
  auto status = [](const json::value& v) -> result<int> {
    auto r = decode_status(v);
    if (!r) return r.error();
    return 0;
  };
  const std::vector<row> rows = {
      {R"({})", hp, "expected an array"},
      {R"([1])", hp, "entry is not an object"},
      {R"([{"vcpus-count": 1, "props": {}}])", hp, "missing \"type\""},
      {R"([{"type": "t", "props": {}}])", hp, "missing \"vcpus-count\""},
      {R"([{"type": "t", "vcpus-count": 1}])", hp, "missing \"props\""},
      {R"([{"type": "t", "vcpus-count": 1, "props": {"node-id": "0"}}])", hp, "\"node-id\" is not an integer"},
      {R"([{"type": "t", "vcpus-count": 1, "props": {}, "qom-path": 5}])", hp, "\"qom-path\" is not a string"},
      {R"([{"cpu-index": 0, "props": {}, "qom-path": "/x"}])", fast, "missing \"thread-id\""},
      {R"([{"cpu-index": 0, "thread-id": 1.5, "props": {}, "qom-path": "/x"}])", fast, "\"thread-id\" is not an integer"},
      {R"([{"cpu-index": 0, "thread-id": 1, "props": {}}])", fast, "missing \"qom-path\""},
      {R"([{"data": {"size": 1}}])", mem, "missing \"type\""},
      {R"([{"type": "dimm"}])", mem, "missing \"data\""},
      {R"([{"type": "dimm", "data": {}}])", mem, "missing \"size\""},
      {R"([{"type": "dimm", "data": {"size": -1}}])", mem, "\"size\" is not an unsigned integer"},
      {R"([{"type": "dimm", "data": {"size": 1, "hotplugged": 1}}])", mem, "\"hotplugged\" is not a boolean"},
      {R"({"running": true})", status, "missing \"status\""},
      {R"({"status": "running"})", status, "missing boolean \"running\""},
      {R"([])", status, "expected an object"},
  };
  for (const auto& r : rows) {
    BOOST_TEST_CONTEXT(r.reply) {
      auto out = r.decode(json::parse(r.reply));
      BOOST_TEST_REQUIRE(!out.has_value());
      BOOST_TEST((out.error().code == errc::protocol_error));
      BOOST_TEST(out.error().message.find(r.expected) != std::string::npos, out.error().message);
    }
  }
}

BOOST_AUTO_TEST_CASE(device_deleted_names_the_device_by_id_or_by_peripheral_path) {
  namespace json = boost::json;
  using vnumad::qmp::deleted_device_id;
  // QEMU 10 reports a vCPU unplug only through its lapic child's path.
  BOOST_TEST(deleted_device_id(json::parse(R"({"path":"/machine/peripheral/vcpu5/lapic"})").as_object()) == "vcpu5");
  BOOST_TEST(deleted_device_id(json::parse(R"({"device":"dimm0","path":"/machine/peripheral/dimm0"})").as_object()) ==
             "dimm0");
  BOOST_TEST(deleted_device_id(json::parse(R"({"path":"/machine/peripheral/dimm1"})").as_object()) == "dimm1");
  BOOST_TEST(deleted_device_id(json::parse(R"({"path":"/machine/unattached/device[3]"})").as_object()).empty());
  BOOST_TEST(deleted_device_id(json::object{}).empty());
}
