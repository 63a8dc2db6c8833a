// <memory>, <currentMemory>, <maxMemory>, <numatune>, <memoryBacking>, <vnuma>,
// and the helpers that place new elements under <domain>.
#include "config/domain_xml_detail.hpp"

#include "config/units.hpp"

#include <array>

namespace vnumad::config::detail {
namespace {

// libvirt's order of <domain> children. The schema interleaves them, so the
// order is for people reading the file: new elements land where virsh would
// put them.
constexpr std::array<std::string_view, 31> domain_order{
    "name",     "uuid",      "genid",   "title",  "description", "metadata",   "maxMemory",
    "memory",   "currentMemory", "blkiotune", "memtune", "memoryBacking", "vnuma", "vcpu",
    "vcpus",    "iothreads", "cputune", "numatune", "resource",  "sysinfo",    "os",
    "features", "cpu",       "clock",   "on_poweroff", "on_reboot",  "on_crash",
    "pm",       "perf",      "idmap",   "devices"};

std::size_t rank(std::string_view name) {
  for (std::size_t i = 0; i < domain_order.size(); ++i)
    if (domain_order[i] == name) return i;
  return domain_order.size();
}

result<void> read_numatune(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "numatune", "<domain>"));
  if (!node) return {};
  numatune_def t;
  VNUMAD_TRY(mem, xml::single_child(*node, "memory", "<numatune>"));
  if (mem) {
    numatune_memory m;
    if (auto mode = xml::attr(*mem, "mode")) {
      VNUMAD_TRY(p, parse_numa_policy(*mode, xml::show_attr("numatune><memory", "mode", *mode)));
      m.mode = p;
    }
    VNUMAD_TRY(nodeset, read_set_attr(*mem, "numatune><memory", "nodeset"));
    m.nodeset = nodeset;
    if (auto placement = xml::attr(*mem, "placement")) {
      VNUMAD_TRY(p, xml::one_of(*placement, "static|auto", xml::show_attr("numatune><memory", "placement", *placement)));
      m.placement = p;
    } else if (!m.nodeset && d.vcpu.placement == "auto") {
      m.placement = "auto";  // libvirt inherits <vcpu placement='auto'>
    }
    if (m.placement == "auto" && m.nodeset)
      return make_error(errc::conflicting_element, "<numatune><memory placement='auto' nodeset='" +
                                                       format_id_set(*m.nodeset) +
                                                       "'>: automatic placement chooses the nodeset; drop one of them");
    t.memory = m;
  }
  for (const auto& [key, v] : *node) {
    if (key != "memnode") continue;
    auto cellid = xml::attr(v, "cellid");
    auto nodeset = xml::attr(v, "nodeset");
    if (!cellid || !nodeset)
      return make_error(errc::missing_element,
                        "<memnode> needs cellid and nodeset, e.g. <memnode cellid='0' mode='strict' nodeset='0'/>");
    memnode m;
    VNUMAD_TRY(id, xml::parse_uint(*cellid, xml::show_attr("memnode", "cellid", *cellid)));
    m.cellid = id;
    std::string elem = "memnode cellid='" + *cellid + "'";
    if (auto mode = xml::attr(v, "mode")) {
      VNUMAD_TRY(p, parse_numa_policy(*mode, xml::show_attr(elem, "mode", *mode)));
      m.mode = p;
    }
    VNUMAD_TRY(set, parse_id_set(*nodeset, xml::attr_name(elem, "nodeset")));
    m.nodeset = set;
    for (const memnode& other : t.memnodes)
      if (other.cellid == m.cellid)
        return make_error(errc::duplicate_element, "<" + elem + "> appears twice (one <memnode> per guest cell)");
    t.memnodes.push_back(m);
  }
  d.numatune = t;
  return {};
}

result<void> read_memory_backing(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "memoryBacking", "<domain>"));
  if (!node) return {};
  memory_backing_def mb;
  VNUMAD_TRY(huge, xml::single_child(*node, "hugepages", "<memoryBacking>"));
  if (huge) {
    mb.hugepages = true;
    for (const auto& [key, v] : *huge) {
      if (key != "page") continue;
      hugepage_def page;
      auto size = xml::attr(v, "size");
      if (!size) return make_error(errc::missing_element, "<hugepages><page> has no size, e.g. size='2' unit='MiB'");
      VNUMAD_TRY(bytes, parse_memory_size(*size, xml::attr(v, "unit").value_or(""), xml::show_attr("page", "size", *size)));
      if (bytes == 0) return make_error(errc::invalid_value, xml::show_attr("page", "size", *size) + ": a page size is positive");
      page.size_bytes = bytes;
      VNUMAD_TRY(nodeset, read_set_attr(v, "page", "nodeset"));
      page.nodeset = nodeset;
      mb.pages.push_back(page);
    }
  }
  mb.locked = xml::count(*node, "locked") > 0;
  mb.nosharepages = xml::count(*node, "nosharepages") > 0;
  mb.discard = xml::count(*node, "discard") > 0;
  VNUMAD_TRY(source, xml::single_child(*node, "source", "<memoryBacking>"));
  if (source) {
    auto type = xml::attr(*source, "type").value_or("");
    VNUMAD_TRY(t, xml::one_of(type, "file|anonymous|memfd", xml::show_attr("memoryBacking><source", "type", type)));
    mb.source_type = t;
  }
  VNUMAD_TRY(access, xml::single_child(*node, "access", "<memoryBacking>"));
  if (access) {
    auto mode = xml::attr(*access, "mode").value_or("");
    VNUMAD_TRY(m, xml::one_of(mode, "shared|private", xml::show_attr("memoryBacking><access", "mode", mode)));
    mb.access_mode = m;
  }
  VNUMAD_TRY(alloc, xml::single_child(*node, "allocation", "<memoryBacking>"));
  if (alloc) {
    if (auto mode = xml::attr(*alloc, "mode")) {
      VNUMAD_TRY(m, xml::one_of(*mode, "immediate|ondemand", xml::show_attr("allocation", "mode", *mode)));
      mb.allocation_mode = m;
    }
    VNUMAD_TRY(threads, xml::uint_attr(*alloc, "allocation", "threads"));
    mb.allocation_threads = threads;
  }
  d.memory_backing = mb;
  return {};
}

void set_optional_scaled(ptree& dom, std::string_view name, const std::optional<std::uint64_t>& bytes) {
  if (!bytes) {
    xml::erase_children(dom, name);
    return;
  }
  ptree& node = domain_child(dom, name);
  std::string unit;
  node.data() = xml::scaled_value(*bytes, unit);
  xml::set_attr(node, "unit", unit);
}

}  // namespace

ptree& domain_child(ptree& dom, std::string_view name) {
  auto found = dom.find(std::string(name));
  if (found != dom.not_found()) return dom.to_iterator(found)->second;
  // Insert after the last element that libvirt puts before this one.
  std::size_t r = rank(name);
  auto pos = dom.end();
  for (auto it = dom.begin(); it != dom.end(); ++it) {
    if (xml::is_meta(it->first)) continue;
    if (rank(it->first) > r) {
      pos = it;
      break;
    }
  }
  return dom.insert(pos, {std::string(name), ptree()})->second;
}

result<std::uint64_t> read_scaled(const ptree& node, std::string_view elem) {
  auto unit = xml::attr(node, "unit").value_or("");
  std::string what = "<" + std::string(elem) + (unit.empty() ? "" : " unit='" + unit + "'") + ">" + xml::text(node) +
                     "</" + std::string(elem) + ">";
  return parse_memory_size(xml::text(node), unit, what);
}

result<std::optional<id_set>> read_set_attr(const ptree& node, std::string_view elem, std::string_view name) {
  auto v = xml::attr(node, name);
  if (!v) return std::optional<id_set>{};
  VNUMAD_TRY(set, parse_id_set(*v, xml::attr_name(elem, name)));
  return std::optional<id_set>{std::move(set)};
}

result<void> read_memory(const ptree& dom, domain& d) {
  VNUMAD_TRY(memory, xml::single_child(dom, "memory", "<domain>"));
  if (memory) {
    VNUMAD_TRY(bytes, read_scaled(*memory, "memory"));
    d.memory_bytes = bytes;
  }
  VNUMAD_TRY(current, xml::single_child(dom, "currentMemory", "<domain>"));
  if (current) {
    VNUMAD_TRY(bytes, read_scaled(*current, "currentMemory"));
    d.current_memory_bytes = bytes;
  }
  VNUMAD_TRY(max, xml::single_child(dom, "maxMemory", "<domain>"));
  if (max) {
    VNUMAD_TRY(bytes, read_scaled(*max, "maxMemory"));
    d.max_memory_bytes = bytes;
    VNUMAD_TRY(slots, xml::uint_attr(*max, "maxMemory", "slots"));
    d.max_memory_slots = slots;
  }
  // numatune needs <vcpu placement> for its default: read_cpus runs later, so
  // peek at it here.
  if (auto vcpu = dom.get_child_optional("vcpu"))
    if (auto p = xml::attr(*vcpu, "placement")) d.vcpu.placement = *p;
  VNUMAD_CHECK(read_numatune(dom, d));
  VNUMAD_CHECK(read_memory_backing(dom, d));
  return {};
}

void write_memory(ptree& dom, const domain& d) {
  set_optional_scaled(dom, "maxMemory", d.max_memory_bytes);
  if (d.max_memory_bytes && d.max_memory_slots)
    xml::set_attr(domain_child(dom, "maxMemory"), "slots", std::to_string(*d.max_memory_slots));
  set_optional_scaled(dom, "memory", d.memory_bytes);
  set_optional_scaled(dom, "currentMemory", d.current_memory_bytes);

  if (!d.numatune) {
    xml::erase_children(dom, "numatune");
  } else {
    ptree& tune = domain_child(dom, "numatune");
    if (const auto& m = d.numatune->memory) {
      ptree& mem = xml::child(tune, "memory");
      xml::set_attr(mem, "mode", to_string(m->mode));
      if (m->nodeset) xml::set_attr(mem, "nodeset", format_id_set(*m->nodeset)); else xml::erase_attr(mem, "nodeset");
      if (m->placement != "static" || xml::attr(mem, "placement")) xml::set_attr(mem, "placement", m->placement);
    } else {
      xml::erase_children(tune, "memory");
    }
    sync_list(tune, "memnode", d.numatune->memnodes, [](const memnode& m, ptree& node) {
      xml::set_attr(node, "cellid", std::to_string(m.cellid));
      xml::set_attr(node, "mode", to_string(m.mode));
      xml::set_attr(node, "nodeset", format_id_set(m.nodeset));
    });
  }

  if (!d.memory_backing) {
    xml::erase_children(dom, "memoryBacking");
    return;
  }
  const memory_backing_def& mb = *d.memory_backing;
  ptree& node = domain_child(dom, "memoryBacking");
  if (mb.hugepages) {
    sync_list(xml::child(node, "hugepages"), "page", mb.pages, [](const hugepage_def& p, ptree& page) {
      std::string unit;
      xml::set_attr(page, "size", xml::scaled_value(p.size_bytes, unit));
      xml::set_attr(page, "unit", unit);
      if (p.nodeset) xml::set_attr(page, "nodeset", format_id_set(*p.nodeset)); else xml::erase_attr(page, "nodeset");
    });
  } else {
    xml::erase_children(node, "hugepages");
  }
  xml::set_flag(node, "nosharepages", mb.nosharepages);
  xml::set_flag(node, "locked", mb.locked);
  if (mb.source_type) xml::set_attr(xml::child(node, "source"), "type", *mb.source_type); else xml::erase_children(node, "source");
  if (mb.access_mode) xml::set_attr(xml::child(node, "access"), "mode", *mb.access_mode); else xml::erase_children(node, "access");
  if (mb.allocation_mode || mb.allocation_threads) {
    ptree& alloc = xml::child(node, "allocation");
    if (mb.allocation_mode) xml::set_attr(alloc, "mode", *mb.allocation_mode); else xml::erase_attr(alloc, "mode");
    if (mb.allocation_threads) xml::set_attr(alloc, "threads", std::to_string(*mb.allocation_threads));
    else xml::erase_attr(alloc, "threads");
  } else {
    xml::erase_children(node, "allocation");
  }
  xml::set_flag(node, "discard", mb.discard);
}

result<void> read_vnuma(const ptree& dom, domain& d) {
  if (xml::count(dom, "vnuma") > 1)
    return make_error(errc::duplicate_element, "<vnuma> appears " + std::to_string(xml::count(dom, "vnuma")) +
                                                   " times in <domain> (at most one is allowed)");
  auto found = dom.find("vnuma");
  if (found == dom.not_found()) return {};
  const ptree& node = found->second;
  vnuma_def v;
  if (auto a = node.get_child_optional(xml::attr_key)) {
    for (const auto& [name, value] : *a)
      if (name != "mode" && name != "distribution")
        return make_error(errc::invalid_value, "<vnuma " + name + "='" + value.data() +
                                                   "'>: unknown attribute (valid: mode, distribution)");
  }
  auto mode = xml::attr(node, "mode");
  if (!mode) return make_error(errc::missing_element, "<vnuma> has no mode attribute (valid: host, node)");
  VNUMAD_TRY(m, parse_vnuma_mode(*mode, xml::show_attr("vnuma", "mode", *mode)));
  v.mode = m;
  if (auto dist = xml::attr(node, "distribution")) {
    VNUMAD_TRY(dd, parse_vnuma_distribution(*dist, xml::show_attr("vnuma", "distribution", *dist)));
    v.distribution = dd;
  }
  for (const auto& [key, child] : node) {
    if (xml::is_meta(key) || key == "memory" || key == "partition") continue;
    return make_error(errc::invalid_value, "<vnuma><" + key + ">: unknown element (valid: <memory>, <partition>)");
  }
  VNUMAD_TRY(mem, xml::single_child(node, "memory", "<vnuma>"));
  if (mem) {
    VNUMAD_TRY(bytes, read_scaled(*mem, "vnuma><memory"));
    v.memory_bytes = bytes;
  }
  VNUMAD_TRY(part, xml::single_child(node, "partition", "<vnuma>"));
  if (part) {
    if (v.mode != vnuma_mode::node)
      return make_error(errc::conflicting_element, "<vnuma mode='" + *mode +
                                                       "'><partition>: <partition> is only valid with mode='node'");
    VNUMAD_TRY(nodeset, read_set_attr(*part, "partition", "nodeset"));
    v.partition_nodeset = nodeset;
    VNUMAD_TRY(cells, xml::uint_attr(*part, "partition", "cells"));
    v.partition_cells = cells;
  }
  d.vnuma = v;
  return {};
}

void write_vnuma(ptree& dom, const domain& d) {
  if (!d.vnuma) {
    xml::erase_children(dom, "vnuma");
    return;
  }
  const vnuma_def& v = *d.vnuma;
  ptree& node = domain_child(dom, "vnuma");
  node.clear();  // <vnuma> is ours: the model describes all of it
  xml::set_attr(node, "mode", to_string(v.mode));
  xml::set_attr(node, "distribution", to_string(v.distribution));
  if (v.memory_bytes) xml::set_scaled_child(node, "memory", *v.memory_bytes);
  if (v.partition_nodeset || v.partition_cells) {
    ptree& p = xml::child(node, "partition");
    if (v.partition_nodeset) xml::set_attr(p, "nodeset", format_id_set(*v.partition_nodeset));
    if (v.partition_cells) xml::set_attr(p, "cells", std::to_string(*v.partition_cells));
  }
}

}  // namespace vnumad::config::detail
