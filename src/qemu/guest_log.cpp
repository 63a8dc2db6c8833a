#include "qemu/guest_log.hpp"

#include <charconv>
#include <optional>

namespace vnumad::qemu {

namespace {

constexpr std::string_view prefix = "VNUMA ";

error bad_line(std::string_view line, const std::string& why) {
  return make_error(errc::protocol_error, "guest serial log: " + why + " in line '" + std::string(line) + "'");
}

template <class T>
std::optional<T> parse_number(std::string_view text) {
  T value{};
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The kernel prints empty cpulists for memory-only nodes; parse_id_set rejects
// an empty set, which is right for configuration but not here.
result<config::id_set> parse_list(std::string_view text, std::string_view what) {
  if (text.empty()) return config::id_set{};
  return config::parse_id_set(text, what);
}

using fields = std::vector<std::pair<std::string_view, std::string_view>>;

result<fields> split_fields(std::string_view body, std::string_view line) {
  fields out;
  while (!body.empty()) {
    const auto space = body.find(' ');
    std::string_view token = body.substr(0, space);
    body = space == std::string_view::npos ? std::string_view{} : body.substr(space + 1);
    if (token.empty()) continue;
    const auto eq = token.find('=');
    if (eq == std::string_view::npos) return bad_line(line, "token '" + std::string(token) + "' is not key=value");
    out.emplace_back(token.substr(0, eq), token.substr(eq + 1));
  }
  return out;
}

// "node3.cpus" -> (3, "cpus")
std::optional<std::pair<unsigned, std::string_view>> node_key(std::string_view key) {
  if (key.substr(0, 4) != "node") return std::nullopt;
  const auto dot = key.find('.');
  if (dot == std::string_view::npos) return std::nullopt;
  auto id = parse_number<unsigned>(key.substr(4, dot - 4));
  if (!id) return std::nullopt;
  return std::pair{*id, key.substr(dot + 1)};
}

result<void> parse_header(const fields& f, std::string_view line, guest_view& view) {
  for (const auto& [key, value] : f) {
    config::id_set* target = nullptr;
    if (key == "kernel") view.kernel = value;
    else if (key == "nodes") target = &view.node_ids;
    else if (key == "possible") target = &view.possible;
    else if (key == "present") target = &view.present;
    else if (key == "online") target = &view.online;
    if (target) {
      auto set = parse_list(value, key);
      if (!set) return bad_line(line, set.error().message);
      *target = std::move(*set);
    }
  }
  return {};
}

result<void> parse_node(const fields& f, std::string_view line, guest_view& view) {
  guest_node node;
  for (const auto& [key, value] : f) {
    if (key == "node") {
      auto id = parse_number<unsigned>(value);
      if (!id) return bad_line(line, "node id '" + std::string(value) + "' is not a number");
      node.id = *id;
    } else if (key == "cpus") {
      auto set = parse_list(value, "cpus");
      if (!set) return bad_line(line, set.error().message);
      node.cpus = std::move(*set);
    } else if (key == "memtotal_kb") {
      auto kb = parse_number<std::uint64_t>(value);
      if (!kb) return bad_line(line, "memtotal_kb '" + std::string(value) + "' is not a number");
      node.memtotal_kb = *kb;
    } else if (key == "distance") {
      std::string_view rest = value;
      while (!rest.empty()) {
        const auto comma = rest.find(',');
        auto d = parse_number<unsigned>(rest.substr(0, comma));
        if (!d) return bad_line(line, "distance list '" + std::string(value) + "' is not numbers separated by ','");
        node.distances.push_back(*d);
        rest = comma == std::string_view::npos ? std::string_view{} : rest.substr(comma + 1);
      }
    }
  }
  view.nodes[node.id] = std::move(node);
  return {};
}

result<void> parse_cpu(const fields& f, std::string_view line, guest_view& view) {
  guest_cpu cpu;
  for (const auto& [key, value] : f) {
    unsigned* target = nullptr;
    if (key == "cpu") target = &cpu.id;
    else if (key == "node") target = &cpu.node;
    else if (key == "package") target = &cpu.package;
    else if (key == "die") target = &cpu.die;
    else if (key == "core") target = &cpu.core;
    else if (key == "siblings") {
      auto set = parse_list(value, "siblings");
      if (!set) return bad_line(line, set.error().message);
      cpu.siblings = std::move(*set);
    }
    if (target) {
      auto n = parse_number<unsigned>(value);
      if (!n) return bad_line(line, std::string(key) + " '" + std::string(value) + "' is not a number");
      *target = *n;
    }
  }
  view.cpus[cpu.id] = std::move(cpu);
  return {};
}

result<void> parse_tick(const fields& f, std::string_view line, guest_view& view) {
  guest_tick tick;
  for (const auto& [key, value] : f) {
    if (key == "tick") {
      auto n = parse_number<unsigned>(value);
      if (!n) return bad_line(line, "tick '" + std::string(value) + "' is not a number");
      tick.seq = *n;
    } else if (key == "online") {
      auto set = parse_list(value, "online");
      if (!set) return bad_line(line, set.error().message);
      tick.online = std::move(*set);
    } else if (auto nk = node_key(key)) {
      if (nk->second == "cpus") {
        auto set = parse_list(value, "cpus");
        if (!set) return bad_line(line, set.error().message);
        tick.node_cpus[nk->first] = std::move(*set);
      } else if (nk->second == "memtotal_kb") {
        auto kb = parse_number<std::uint64_t>(value);
        if (!kb) return bad_line(line, std::string(key) + " '" + std::string(value) + "' is not a number");
        tick.node_memtotal_kb[nk->first] = *kb;
      }
    }
  }
  view.ticks.push_back(std::move(tick));
  return {};
}

}  // namespace

result<guest_view> parse_guest_view(std::string_view log) {
  guest_view view;
  while (!log.empty()) {
    const auto nl = log.find('\n');
    if (nl == std::string_view::npos) break;  // incomplete last line
    std::string_view line = log.substr(0, nl);
    log.remove_prefix(nl + 1);
    while (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.substr(0, prefix.size()) != prefix) continue;
    const std::string_view body = line.substr(prefix.size());
    if (body == "READY") {
      view.ready = true;
      continue;
    }
    if (body == "POWEROFF") {
      view.powered_off = true;
      continue;
    }
    auto f = split_fields(body, line);
    if (!f) return f.error();
    if (f->empty()) return bad_line(line, "no fields");
    const std::string_view kind = f->front().first;
    result<void> r;
    if (kind == "kernel") {
      view = guest_view{};
      r = parse_header(*f, line, view);
    } else if (kind == "node") {
      r = parse_node(*f, line, view);
    } else if (kind == "cpu") {
      r = parse_cpu(*f, line, view);
    } else if (kind == "tick") {
      r = parse_tick(*f, line, view);
    } else {
      return bad_line(line, "unknown line kind '" + std::string(kind) + "'");
    }
    if (!r) return r.error();
  }
  return view;
}

}  // namespace vnumad::qemu
