#include "vnuma/numa_maps.hpp"

#include <charconv>

namespace vnumad::vnuma {

namespace {

std::vector<std::string_view> split_spaces(std::string_view line) {
  std::vector<std::string_view> out;
  std::size_t i = 0;
  while (i < line.size()) {
    while (i < line.size() && line[i] == ' ') ++i;
    std::size_t j = i;
    while (j < line.size() && line[j] != ' ') ++j;
    if (j > i) out.push_back(line.substr(i, j - i));
    i = j;
  }
  return out;
}

bool parse_number(std::string_view text, std::uint64_t& out, int base = 10) {
  if (text.empty()) return false;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out, base);
  return ec == std::errc() && ptr == text.data() + text.size();
}

struct maps_entry {
  std::uint64_t end = 0;
  std::string perms;
};

// /proc/PID/maps: "start-end perms offset dev inode [path]".
std::map<std::uint64_t, maps_entry> parse_maps(std::string_view maps) {
  std::map<std::uint64_t, maps_entry> out;
  std::size_t pos = 0;
  while (pos < maps.size()) {
    std::size_t nl = maps.find('\n', pos);
    std::string_view line = maps.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? maps.size() : nl + 1;
    auto fields = split_spaces(line);
    if (fields.size() < 2) continue;
    auto dash = fields[0].find('-');
    std::uint64_t start = 0, end = 0;
    if (dash == std::string_view::npos || !parse_number(fields[0].substr(0, dash), start, 16) ||
        !parse_number(fields[0].substr(dash + 1), end, 16))
      continue;
    out[start] = maps_entry{end, std::string(fields[1])};
  }
  return out;
}

// "bind:0-1", "bind=static:2", "prefer (many):0-1", "weighted interleave:0-3",
// "default", "local".
bool parse_policy(std::string_view text, numa_vma& vma) {
  vma.policy = std::string(text);
  std::string_view mode = text;
  std::string_view nodes;
  if (auto colon = text.find(':'); colon != std::string_view::npos) {
    mode = text.substr(0, colon);
    nodes = text.substr(colon + 1);
  }
  if (auto eq = mode.find('='); eq != std::string_view::npos) mode = mode.substr(0, eq);
  if (auto space = mode.find(' '); space != std::string_view::npos && mode.substr(space + 1) == "(many)")
    mode = mode.substr(0, space);
  vma.policy_mode = std::string(mode);
  if (nodes.empty()) return true;
  auto parsed = config::parse_id_set(nodes, "numa_maps policy nodes");
  if (!parsed) return false;
  vma.policy_nodes = std::move(*parsed);
  return true;
}

}  // namespace

std::uint64_t numa_vma::resident_bytes() const {
  std::uint64_t n = 0;
  for (const auto& [node, count] : pages) n += count;
  return n * page_bytes;
}

std::string unescape_proc_path(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  auto octal = [](char c) { return c >= '0' && c <= '7'; };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() && octal(text[i + 1]) && octal(text[i + 2]) && octal(text[i + 3])) {
      out.push_back(static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 + (text[i + 3] - '0')));
      i += 3;
      continue;
    }
    out.push_back(text[i]);
  }
  return out;
}

result<std::vector<numa_vma>> parse_numa_maps(std::string_view numa_maps, std::string_view maps) {
  const auto ranges = parse_maps(maps);
  std::vector<numa_vma> out;
  std::size_t pos = 0;
  unsigned line_no = 0;
  while (pos < numa_maps.size()) {
    std::size_t nl = numa_maps.find('\n', pos);
    std::string_view line =
        numa_maps.substr(pos, nl == std::string_view::npos ? std::string_view::npos : nl - pos);
    pos = nl == std::string_view::npos ? numa_maps.size() : nl + 1;
    ++line_no;
    auto bad = [&](std::string_view why) {
      return make_error(errc::invalid_value, "numa_maps line " + std::to_string(line_no) + " (\"" +
                                                 std::string(line.substr(0, 200)) + "\"): " + std::string(why));
    };
    auto tokens = split_spaces(line);
    if (tokens.empty()) continue;
    numa_vma vma;
    if (!parse_number(tokens[0], vma.start, 16)) return bad("the start address is not hexadecimal");
    if (tokens.size() < 2) return bad("no memory policy");
    // Two policy names contain a space: "weighted interleave" and "prefer (many)".
    std::size_t next = 2;
    std::string policy(tokens[1]);
    if (policy == "weighted" && tokens.size() > 2) policy += " " + std::string(tokens[next++]);
    else if (tokens.size() > 2 && tokens[2].starts_with("(many)")) policy += " " + std::string(tokens[next++]);
    if (!parse_policy(policy, vma)) return bad("the policy's node list does not parse");
    for (std::size_t i = next; i < tokens.size(); ++i) {
      std::string_view t = tokens[i];
      if (t == "heap") vma.heap = true;
      else if (t == "stack") vma.stack = true;
      else if (t == "huge") vma.huge = true;
      else if (t.starts_with("file=")) vma.file = unescape_proc_path(t.substr(5));
      else if (t.starts_with("kernelpagesize_kB=")) {
        std::uint64_t kb = 0;
        if (!parse_number(t.substr(18), kb) || kb == 0) return bad("kernelpagesize_kB is not a positive number");
        vma.page_bytes = kb * 1024;
      } else if (t.size() > 1 && t[0] == 'N' && t[1] >= '0' && t[1] <= '9') {
        auto eq = t.find('=');
        std::uint64_t node = 0, count = 0;
        if (eq == std::string_view::npos || !parse_number(t.substr(1, eq - 1), node) ||
            !parse_number(t.substr(eq + 1), count))
          return bad("a node count \"" + std::string(t) + "\" does not parse");
        vma.pages[static_cast<unsigned>(node)] += count;
      }
      // anon=, dirty=, mapped=, mapmax=, swapcache=, active=, writeback=:
      // kinds of the same pages the N<node>= counts already cover.
    }
    vma.end = vma.start;
    if (auto it = ranges.find(vma.start); it != ranges.end()) {
      vma.end = it->second.end;
      vma.perms = it->second.perms;
    }
    out.push_back(std::move(vma));
  }
  return out;
}

}  // namespace vnumad::vnuma
