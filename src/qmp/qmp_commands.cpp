#include "qmp/qmp_commands.hpp"

namespace vnumad::qmp {
namespace json = boost::json;

namespace {

error bad_reply(const std::string& command, const std::string& what) {
  return make_error(errc::protocol_error, "QMP " + command + " reply: " + what);
}

// Reads an optional integer member; wrong type is an error naming the key.
result<std::optional<std::int64_t>> opt_int(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (!v) return std::optional<std::int64_t>{};
  if (v->is_int64()) return std::optional<std::int64_t>{v->as_int64()};
  if (v->is_uint64() && v->as_uint64() <= static_cast<std::uint64_t>(INT64_MAX))
    return std::optional<std::int64_t>{static_cast<std::int64_t>(v->as_uint64())};
  return bad_reply(where, std::string("\"") + key + "\" is not an integer: " + json::serialize(*v));
}

result<std::int64_t> req_int(const json::object& obj, const char* key, const std::string& where) {
  auto v = opt_int(obj, key, where);
  if (!v) return v.error();
  if (!*v) return bad_reply(where, std::string("missing \"") + key + "\" in " + json::serialize(obj));
  return **v;
}

result<std::uint64_t> req_uint(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (!v) return bad_reply(where, std::string("missing \"") + key + "\" in " + json::serialize(obj));
  if (v->is_uint64()) return v->as_uint64();
  if (v->is_int64() && v->as_int64() >= 0) return static_cast<std::uint64_t>(v->as_int64());
  return bad_reply(where, std::string("\"") + key + "\" is not an unsigned integer: " + json::serialize(*v));
}

result<std::optional<std::string>> opt_string(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (!v) return std::optional<std::string>{};
  if (!v->is_string()) return bad_reply(where, std::string("\"") + key + "\" is not a string: " + json::serialize(*v));
  return std::optional<std::string>{std::string(v->as_string())};
}

result<std::string> req_string(const json::object& obj, const char* key, const std::string& where) {
  auto v = opt_string(obj, key, where);
  if (!v) return v.error();
  if (!*v) return bad_reply(where, std::string("missing \"") + key + "\" in " + json::serialize(obj));
  return std::move(**v);
}

result<bool> opt_bool(const json::object& obj, const char* key, const std::string& where) {
  const json::value* v = obj.if_contains(key);
  if (!v) return false;
  if (!v->is_bool()) return bad_reply(where, std::string("\"") + key + "\" is not a boolean: " + json::serialize(*v));
  return v->as_bool();
}

result<cpu_props> decode_props(const json::object& entry, const std::string& where) {
  const json::value* v = entry.if_contains("props");
  if (!v || !v->is_object()) return bad_reply(where, "missing \"props\" object in " + json::serialize(entry));
  const json::object& p = v->as_object();
  cpu_props props;
  struct field {
    const char* key;
    std::optional<std::int64_t> cpu_props::*member;
  };
  static constexpr field fields[] = {
      {"node-id", &cpu_props::node_id},       {"socket-id", &cpu_props::socket_id},
      {"die-id", &cpu_props::die_id},         {"cluster-id", &cpu_props::cluster_id},
      {"core-id", &cpu_props::core_id},       {"thread-id", &cpu_props::thread_id},
  };
  for (const auto& f : fields) {
    auto value = opt_int(p, f.key, where);
    if (!value) return value.error();
    props.*f.member = *value;
  }
  return props;
}

result<const json::array*> as_array(const json::value& reply, const std::string& where) {
  if (!reply.is_array()) return bad_reply(where, "expected an array, got " + json::serialize(reply));
  return &reply.as_array();
}

qmp_command simple(const char* name) { return qmp_command{name, {}}; }

}  // namespace

json::object encode_cpu_props(const cpu_props& props) {
  json::object obj;
  if (props.node_id) obj["node-id"] = *props.node_id;
  if (props.socket_id) obj["socket-id"] = *props.socket_id;
  if (props.die_id) obj["die-id"] = *props.die_id;
  if (props.cluster_id) obj["cluster-id"] = *props.cluster_id;
  if (props.core_id) obj["core-id"] = *props.core_id;
  if (props.thread_id) obj["thread-id"] = *props.thread_id;
  return obj;
}

qmp_command query_hotpluggable_cpus() { return simple("query-hotpluggable-cpus"); }

result<std::vector<hotpluggable_cpu>> decode_hotpluggable_cpus(const json::value& reply) {
  const std::string where = "query-hotpluggable-cpus";
  auto array = as_array(reply, where);
  if (!array) return array.error();
  std::vector<hotpluggable_cpu> cpus;
  for (const json::value& item : **array) {
    if (!item.is_object()) return bad_reply(where, "entry is not an object: " + json::serialize(item));
    const json::object& e = item.as_object();
    hotpluggable_cpu cpu;
    auto type = req_string(e, "type", where);
    auto count = req_int(e, "vcpus-count", where);
    auto props = decode_props(e, where);
    auto qom = opt_string(e, "qom-path", where);
    if (!type) return type.error();
    if (!count) return count.error();
    if (!props) return props.error();
    if (!qom) return qom.error();
    cpu.type = std::move(*type);
    cpu.vcpus_count = *count;
    cpu.props = *props;
    cpu.qom_path = std::move(*qom);
    cpus.push_back(std::move(cpu));
  }
  return cpus;
}

qmp_command device_add_cpu(const std::string& type, const std::string& id, const cpu_props& props) {
  json::object args = encode_cpu_props(props);
  args["driver"] = type;
  args["id"] = id;
  return qmp_command{"device_add", std::move(args)};
}

qmp_command query_cpus_fast() { return simple("query-cpus-fast"); }

result<std::vector<cpu_info>> decode_cpus_fast(const json::value& reply) {
  const std::string where = "query-cpus-fast";
  auto array = as_array(reply, where);
  if (!array) return array.error();
  std::vector<cpu_info> cpus;
  for (const json::value& item : **array) {
    if (!item.is_object()) return bad_reply(where, "entry is not an object: " + json::serialize(item));
    const json::object& e = item.as_object();
    auto index = req_int(e, "cpu-index", where);
    auto thread = req_int(e, "thread-id", where);
    auto props = decode_props(e, where);
    auto qom = req_string(e, "qom-path", where);
    auto target = opt_string(e, "target", where);
    if (!index) return index.error();
    if (!thread) return thread.error();
    if (!props) return props.error();
    if (!qom) return qom.error();
    if (!target) return target.error();
    cpus.push_back(cpu_info{*index, *thread, *props, std::move(*qom), target->value_or("")});
  }
  return cpus;
}

qmp_command query_iothreads() { return simple("query-iothreads"); }

result<std::vector<iothread_info>> decode_iothreads(const json::value& reply) {
  const std::string where = "query-iothreads";
  auto array = as_array(reply, where);
  if (!array) return array.error();
  std::vector<iothread_info> out;
  for (const json::value& item : **array) {
    if (!item.is_object()) return bad_reply(where, "entry is not an object: " + json::serialize(item));
    auto id = req_string(item.as_object(), "id", where);
    auto thread = req_int(item.as_object(), "thread-id", where);
    if (!id) return id.error();
    if (!thread) return thread.error();
    out.push_back(iothread_info{std::move(*id), *thread});
  }
  return out;
}

qmp_command device_del(const std::string& id) { return qmp_command{"device_del", json::object{{"id", id}}}; }

qmp_command object_add_memory_backend_ram(const std::string& id, std::uint64_t size_bytes,
                                          const std::set<unsigned>& host_nodes, const std::string& policy) {
  json::object args{{"qom-type", "memory-backend-ram"}, {"id", id}, {"size", size_bytes}};
  if (!host_nodes.empty()) {
    json::array nodes;
    for (unsigned n : host_nodes) nodes.push_back(n);
    args["host-nodes"] = std::move(nodes);
    args["policy"] = policy;
  }
  return qmp_command{"object-add", std::move(args)};
}

qmp_command object_add(json::object arguments) { return qmp_command{"object-add", std::move(arguments)}; }
qmp_command device_add(json::object arguments) { return qmp_command{"device_add", std::move(arguments)}; }

qmp_command object_del(const std::string& id) { return qmp_command{"object-del", json::object{{"id", id}}}; }

qmp_command device_add_pc_dimm(const std::string& id, const std::string& memdev, unsigned node) {
  return qmp_command{"device_add", json::object{{"driver", "pc-dimm"}, {"id", id}, {"memdev", memdev}, {"node", node}}};
}

qmp_command query_memory_devices() { return simple("query-memory-devices"); }

result<std::vector<memory_device>> decode_memory_devices(const json::value& reply) {
  const std::string where = "query-memory-devices";
  auto array = as_array(reply, where);
  if (!array) return array.error();
  std::vector<memory_device> devices;
  for (const json::value& item : **array) {
    if (!item.is_object()) return bad_reply(where, "entry is not an object: " + json::serialize(item));
    const json::object& e = item.as_object();
    memory_device dev;
    auto type = req_string(e, "type", where);
    if (!type) return type.error();
    dev.type = std::move(*type);
    const json::value* data = e.if_contains("data");
    if (!data || !data->is_object()) return bad_reply(where, "missing \"data\" object in " + json::serialize(e));
    const json::object& d = data->as_object();
    // Only DIMM-like devices have the full set; virtio-mem and sgx-epc carry
    // other keys, so everything but the size is optional here.
    auto id = opt_string(d, "id", where);
    auto memdev = opt_string(d, "memdev", where);
    auto size = req_uint(d, "size", where);
    auto slot = opt_int(d, "slot", where);
    auto node = opt_int(d, "node", where);
    auto hotplugged = opt_bool(d, "hotplugged", where);
    auto hotpluggable = opt_bool(d, "hotpluggable", where);
    if (!id) return id.error();
    if (!memdev) return memdev.error();
    if (!size) return size.error();
    if (!slot) return slot.error();
    if (!node) return node.error();
    if (!hotplugged) return hotplugged.error();
    if (!hotpluggable) return hotpluggable.error();
    dev.id = id->value_or("");
    dev.memdev = memdev->value_or("");
    dev.size = *size;
    if (d.contains("addr")) {
      auto addr = req_uint(d, "addr", where);
      if (!addr) return addr.error();
      dev.addr = *addr;
    }
    dev.slot = slot->value_or(-1);
    dev.node = node->value_or(-1);
    dev.hotplugged = *hotplugged;
    dev.hotpluggable = *hotpluggable;
    devices.push_back(std::move(dev));
  }
  return devices;
}

qmp_command query_memdev() { return simple("query-memdev"); }

result<std::vector<memdev>> decode_memdev(const json::value& reply) {
  const std::string where = "query-memdev";
  auto array = as_array(reply, where);
  if (!array) return array.error();
  std::vector<memdev> out;
  for (const json::value& item : **array) {
    if (!item.is_object()) return bad_reply(where, "entry is not an object: " + json::serialize(item));
    const json::object& e = item.as_object();
    memdev m;
    // "id" is optional in the schema (a backend created without one); such a
    // backend is still listed, with an empty id.
    auto id = opt_string(e, "id", where);
    auto size = req_uint(e, "size", where);
    auto policy = req_string(e, "policy", where);
    auto share = opt_bool(e, "share", where);
    if (!id) return id.error();
    if (!size) return size.error();
    if (!policy) return policy.error();
    if (!share) return share.error();
    m.id = id->value_or("");
    m.size = *size;
    m.policy = std::move(*policy);
    m.share = *share;
    if (const json::value* nodes = e.if_contains("host-nodes")) {
      if (!nodes->is_array()) return bad_reply(where, "\"host-nodes\" is not an array: " + json::serialize(*nodes));
      for (const json::value& n : nodes->as_array()) {
        if (!n.is_uint64() && !(n.is_int64() && n.as_int64() >= 0))
          return bad_reply(where, "\"host-nodes\" entry is not a node number: " + json::serialize(n));
        m.host_nodes.insert(static_cast<unsigned>(n.to_number<std::uint64_t>()));
      }
    }
    out.push_back(std::move(m));
  }
  return out;
}

qmp_command cont() { return simple("cont"); }
qmp_command stop() { return simple("stop"); }
qmp_command system_powerdown() { return simple("system_powerdown"); }
qmp_command system_reset() { return simple("system_reset"); }
qmp_command quit() { return simple("quit"); }
qmp_command query_status() { return simple("query-status"); }

result<vm_status> decode_status(const json::value& reply) {
  const std::string where = "query-status";
  if (!reply.is_object()) return bad_reply(where, "expected an object, got " + json::serialize(reply));
  auto status = req_string(reply.as_object(), "status", where);
  if (!status) return status.error();
  const json::value* running = reply.as_object().if_contains("running");
  if (!running || !running->is_bool()) return bad_reply(where, "missing boolean \"running\" in " + json::serialize(reply));
  return vm_status{std::move(*status), running->as_bool()};
}

std::string deleted_device_id(const boost::json::object& data) {
  if (const auto* device = data.if_contains("device"); device && device->is_string() && !device->as_string().empty())
    return std::string(device->as_string());
  const auto* path = data.if_contains("path");
  if (!path || !path->is_string()) return {};
  constexpr std::string_view prefix = "/machine/peripheral/";
  std::string_view p(path->as_string());
  if (p.substr(0, prefix.size()) != prefix) return {};
  p.remove_prefix(prefix.size());
  return std::string(p.substr(0, p.find('/')));
}

}  // namespace vnumad::qmp
