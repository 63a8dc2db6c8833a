// <vcpu>, <vcpus>, <cputune> and <cpu> (mode, model, topology, NUMA cells).
#include "config/domain_xml_detail.hpp"

#include "config/units.hpp"

namespace vnumad::config::detail {
namespace {

result<void> read_vcpu(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "vcpu", "<domain>"));
  if (!node) return {};  // libvirt's default: one vCPU
  VNUMAD_TRY(max, xml::parse_uint(xml::text(*node), "<vcpu>" + node->data() + "</vcpu>"));
  d.vcpu.max = max;
  VNUMAD_TRY(current, xml::uint_attr(*node, "vcpu", "current"));
  d.vcpu.current = current;
  if (auto p = xml::attr(*node, "placement")) {
    VNUMAD_TRY(placement, xml::one_of(*p, "static|auto", xml::show_attr("vcpu", "placement", *p)));
    d.vcpu.placement = placement;
  }
  VNUMAD_TRY(cpuset, read_set_attr(*node, "vcpu", "cpuset"));
  d.vcpu.cpuset = cpuset;
  return {};
}

result<void> read_vcpus(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "vcpus", "<domain>"));
  if (!node) return {};
  for (const auto& [key, v] : *node) {
    if (key != "vcpu") continue;
    vcpu_entry e;
    auto id = xml::attr(v, "id");
    if (!id) return make_error(errc::missing_element, "<vcpus><vcpu> has no id attribute (valid: 0 .. vCPUs-1)");
    VNUMAD_TRY(n, xml::parse_uint(*id, xml::show_attr("vcpus><vcpu", "id", *id)));
    e.id = n;
    auto enabled = xml::attr(v, "enabled");
    if (!enabled)
      return make_error(errc::missing_element, "<vcpus><vcpu id='" + *id + "'> has no enabled attribute (valid: yes, no)");
    VNUMAD_TRY(en, xml::parse_bool(*enabled, xml::show_attr("vcpu id='" + *id + "'", "enabled", *enabled)));
    e.enabled = en;
    if (auto hp = xml::attr(v, "hotpluggable")) {
      VNUMAD_TRY(h, xml::parse_bool(*hp, xml::show_attr("vcpu id='" + *id + "'", "hotpluggable", *hp)));
      e.hotpluggable = h;
    }
    VNUMAD_TRY(order, xml::uint_attr(v, "vcpu id='" + *id + "'", "order"));
    e.order = order;
    d.vcpus.push_back(e);
  }
  return {};
}

result<void> read_iothreads(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "iothreads", "<domain>"));
  if (!node) return {};
  VNUMAD_TRY(n, xml::parse_uint(xml::text(*node), "<iothreads>" + xml::text(*node) + "</iothreads>"));
  d.iothreads = n;
  return {};
}

// <vcpupin vcpu='N' cpuset='...'/> and <iothreadpin iothread='N' cpuset='...'/>.
result<std::pair<unsigned, id_set>> read_pin(const ptree& v, const std::string& elem, const std::string& id_attr,
                                             const std::string& example_id) {
  auto id = xml::attr(v, id_attr);
  auto set = xml::attr(v, "cpuset");
  if (!id || !set)
    return make_error(errc::missing_element, "<" + elem + "> needs both " + id_attr + " and cpuset attributes, e.g. <" +
                                                 elem + " " + id_attr + "='" + example_id + "' cpuset='0-3'/>");
  VNUMAD_TRY(n, xml::parse_uint(*id, xml::show_attr(elem, id_attr, *id)));
  VNUMAD_TRY(cpus, parse_id_set(*set, xml::attr_name(elem + " " + id_attr + "='" + *id + "'", "cpuset")));
  return std::pair{n, std::move(cpus)};
}

result<void> read_cputune(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "cputune", "<domain>"));
  if (!node) return {};
  cputune_def t;
  for (const auto& [key, v] : *node) {
    if (key == "vcpupin") {
      VNUMAD_TRY(pin, read_pin(v, "vcpupin", "vcpu", "0"));
      t.vcpupins.push_back({pin.first, pin.second});
    } else if (key == "emulatorpin") {
      if (t.emulatorpin) return make_error(errc::duplicate_element, "<emulatorpin> appears more than once in <cputune>");
      auto set = xml::attr(v, "cpuset");
      if (!set) return make_error(errc::missing_element, "<emulatorpin> has no cpuset attribute, e.g. cpuset='0-3'");
      VNUMAD_TRY(cpus, parse_id_set(*set, xml::attr_name("emulatorpin", "cpuset")));
      t.emulatorpin = cpus;
    } else if (key == "iothreadpin") {
      VNUMAD_TRY(pin, read_pin(v, "iothreadpin", "iothread", "1"));
      t.iothreadpins.push_back({pin.first, pin.second});
    }
  }
  d.cputune = t;
  return {};
}

result<numa_cell> read_cell(const ptree& v, unsigned index) {
  numa_cell c;
  VNUMAD_TRY(id, xml::uint_attr(v, "cell", "id"));
  c.id = id.value_or(index);  // libvirt numbers id-less cells by position
  std::string elem = "cell id='" + std::to_string(c.id) + "'";
  VNUMAD_TRY(cpus, read_set_attr(v, elem, "cpus"));
  c.cpus = cpus;
  auto memory = xml::attr(v, "memory");
  if (!memory)
    return make_error(errc::missing_element, "<" + elem + "> has no memory attribute, e.g. memory='8' unit='GiB'");
  auto unit = xml::attr(v, "unit");
  VNUMAD_TRY(bytes, parse_memory_size(*memory, unit.value_or(""), xml::show_attr(elem, "memory", *memory)));
  c.memory_bytes = bytes;
  if (auto access = xml::attr(v, "memAccess")) {
    VNUMAD_TRY(a, xml::one_of(*access, "shared|private", xml::show_attr(elem, "memAccess", *access)));
    c.mem_access = a;
  }
  if (auto discard = xml::attr(v, "discard")) {
    VNUMAD_TRY(b, xml::parse_bool(*discard, xml::show_attr(elem, "discard", *discard)));
    c.discard = b;
  }
  VNUMAD_TRY(distances, xml::single_child(v, "distances", "<" + elem + ">"));
  if (distances) {
    for (const auto& [key, s] : *distances) {
      if (key != "sibling") continue;
      auto sid = xml::attr(s, "id");
      auto value = xml::attr(s, "value");
      if (!sid || !value)
        return make_error(errc::missing_element,
                          "<" + elem + "><distances><sibling> needs id and value, e.g. <sibling id='1' value='21'/>");
      VNUMAD_TRY(to, xml::parse_uint(*sid, xml::show_attr("sibling", "id", *sid)));
      VNUMAD_TRY(val, xml::parse_uint(*value, xml::show_attr("sibling id='" + *sid + "'", "value", *value)));
      if (val < 10 || val > 255)
        return make_error(errc::invalid_value, "<" + elem + "><sibling id='" + *sid + "' value='" + *value +
                                                   "'>: a NUMA distance is 10..255");
      if (!c.distances.emplace(to, val).second)
        return make_error(errc::duplicate_element,
                          "<" + elem + "><distances>: sibling id " + *sid + " is given twice (one per cell)");
    }
  }
  return c;
}

result<void> read_cpu(const ptree& dom, domain& d) {
  VNUMAD_TRY(node, xml::single_child(dom, "cpu", "<domain>"));
  if (!node) return {};
  cpu_def& cpu = d.cpu;
  cpu.mode = "custom";  // libvirt's default when <cpu> has no mode
  if (auto mode = xml::attr(*node, "mode")) {
    VNUMAD_TRY(m, xml::one_of(*mode, "host-passthrough|host-model|maximum|custom", xml::show_attr("cpu", "mode", *mode)));
    cpu.mode = m;
  }
  // match and check ask libvirt to compare the model with the host; vnumad
  // compares nothing, so only the values that mean exactly that count as
  // acted on (as does migratable='on', QEMU's default for -cpu host).
  if (auto match = xml::peek_attr(*node, "match")) {
    VNUMAD_TRY(m, xml::one_of(*match, "minimum|exact|strict", xml::show_attr("cpu", "match", *match)));
    cpu.match = m;
    if (m == "exact") xml::mark_attr(*node, "match");
  }
  if (auto check = xml::peek_attr(*node, "check")) {
    VNUMAD_TRY(c, xml::one_of(*check, "none|partial|full", xml::show_attr("cpu", "check", *check)));
    cpu.check = c;
    if (c == "none") xml::mark_attr(*node, "check");
  }
  if (xml::peek_attr(*node, "migratable") == std::string("on")) xml::mark_attr(*node, "migratable");
  VNUMAD_TRY(model, xml::single_child(*node, "model", "<cpu>"));
  if (model) cpu.model = xml::text(*model);
  VNUMAD_TRY(vendor, xml::single_child(*node, "vendor", "<cpu>"));
  if (vendor) cpu.vendor = xml::text(*vendor);
  VNUMAD_TRY(topo, xml::single_child(*node, "topology", "<cpu>"));
  if (topo) {
    cpu_topology t;
    struct field {
      const char* name;
      unsigned* value;
    };
    for (auto [name, value] : {field{"sockets", &t.sockets}, field{"dies", &t.dies}, field{"clusters", &t.clusters},
                               field{"cores", &t.cores}, field{"threads", &t.threads}}) {
      VNUMAD_TRY(n, xml::uint_attr(*topo, "topology", name));
      if (!n) continue;
      if (*n == 0)
        return make_error(errc::invalid_value,
                          xml::show_attr("topology", name, "0") + ": must be at least 1");
      *value = *n;
    }
    cpu.topology = t;
  }
  VNUMAD_TRY(numa, xml::single_child(*node, "numa", "<cpu>"));
  if (numa) {
    unsigned index = 0;
    for (const auto& [key, v] : *numa) {
      if (key != "cell") continue;
      VNUMAD_TRY(cell, read_cell(v, index++));
      cpu.cells.push_back(std::move(cell));
    }
  }
  return {};
}

void write_cell(const numa_cell& c, ptree& node) {
  xml::set_attr(node, "id", std::to_string(c.id));
  if (c.cpus)
    xml::set_attr(node, "cpus", format_id_set(*c.cpus));
  else
    xml::erase_attr(node, "cpus");
  std::string unit;
  xml::set_attr(node, "memory", xml::scaled_value(c.memory_bytes, unit));
  xml::set_attr(node, "unit", unit);
  if (c.mem_access) xml::set_attr(node, "memAccess", *c.mem_access); else xml::erase_attr(node, "memAccess");
  if (c.discard) xml::set_attr(node, "discard", *c.discard ? "yes" : "no"); else xml::erase_attr(node, "discard");
  xml::erase_children(node, "distances");
  if (!c.distances.empty()) {
    ptree distances;
    for (auto [to, value] : c.distances) {
      ptree s;
      xml::set_attr(s, "id", std::to_string(to));
      xml::set_attr(s, "value", std::to_string(value));
      distances.push_back({"sibling", s});
    }
    node.push_back({"distances", distances});
  }
}

void write_cpu(ptree& dom, const cpu_def& cpu) {
  bool had = dom.find("cpu") != dom.not_found();
  bool wanted = !cpu.mode.empty() || cpu.topology || !cpu.cells.empty() || cpu.model;
  if (!wanted) {
    xml::erase_children(dom, "cpu");
    return;
  }
  ptree& node = domain_child(dom, "cpu");
  // Keep an absent mode absent when it means libvirt's default anyway.
  bool mode_written = xml::attr(node, "mode").has_value() || !had;
  if (!cpu.mode.empty() && (mode_written || cpu.mode != "custom")) xml::set_attr(node, "mode", cpu.mode);
  if (cpu.match) xml::set_attr(node, "match", *cpu.match); else xml::erase_attr(node, "match");
  if (cpu.check) xml::set_attr(node, "check", *cpu.check); else xml::erase_attr(node, "check");
  if (cpu.model) xml::child(node, "model").data() = *cpu.model; else xml::erase_children(node, "model");
  if (cpu.vendor) xml::child(node, "vendor").data() = *cpu.vendor; else xml::erase_children(node, "vendor");
  if (cpu.topology) {
    ptree& t = xml::child(node, "topology");
    const cpu_topology& v = *cpu.topology;
    xml::set_attr(t, "sockets", std::to_string(v.sockets));
    // dies/clusters only when they matter or were written: older libvirt
    // schemas (9.0) do not know clusters.
    if (v.dies != 1 || xml::attr(t, "dies")) xml::set_attr(t, "dies", std::to_string(v.dies));
    if (v.clusters != 1 || xml::attr(t, "clusters")) xml::set_attr(t, "clusters", std::to_string(v.clusters));
    xml::set_attr(t, "cores", std::to_string(v.cores));
    xml::set_attr(t, "threads", std::to_string(v.threads));
  } else {
    xml::erase_children(node, "topology");
  }
  if (cpu.cells.empty()) {
    xml::erase_children(node, "numa");
  } else {
    sync_list(xml::child(node, "numa"), "cell", cpu.cells, write_cell);
  }
}

}  // namespace

result<void> read_cpus(const ptree& dom, domain& d) {
  VNUMAD_CHECK(read_vcpu(dom, d));
  VNUMAD_CHECK(read_vcpus(dom, d));
  VNUMAD_CHECK(read_iothreads(dom, d));
  VNUMAD_CHECK(read_cputune(dom, d));
  VNUMAD_CHECK(read_cpu(dom, d));
  return {};
}

void write_cpus(ptree& dom, const domain& d) {
  ptree& vcpu = domain_child(dom, "vcpu");
  vcpu.data() = std::to_string(d.vcpu.max);
  if (d.vcpu.placement != "static" || xml::attr(vcpu, "placement")) xml::set_attr(vcpu, "placement", d.vcpu.placement);
  if (d.vcpu.cpuset) xml::set_attr(vcpu, "cpuset", format_id_set(*d.vcpu.cpuset)); else xml::erase_attr(vcpu, "cpuset");
  if (d.vcpu.current) xml::set_attr(vcpu, "current", std::to_string(*d.vcpu.current)); else xml::erase_attr(vcpu, "current");

  if (d.vcpus.empty()) {
    xml::erase_children(dom, "vcpus");
  } else {
    sync_list(domain_child(dom, "vcpus"), "vcpu", d.vcpus, [](const vcpu_entry& e, ptree& node) {
      xml::set_attr(node, "id", std::to_string(e.id));
      xml::set_attr(node, "enabled", e.enabled ? "yes" : "no");
      xml::set_attr(node, "hotpluggable", e.hotpluggable ? "yes" : "no");
      if (e.order) xml::set_attr(node, "order", std::to_string(*e.order)); else xml::erase_attr(node, "order");
    });
  }

  if (!d.cputune) {
    xml::erase_children(dom, "cputune");
  } else {
    ptree& tune = domain_child(dom, "cputune");
    sync_list(tune, "vcpupin", d.cputune->vcpupins, [](const vcpupin& p, ptree& node) {
      xml::set_attr(node, "vcpu", std::to_string(p.vcpu));
      xml::set_attr(node, "cpuset", format_id_set(p.cpuset));
    });
    if (d.cputune->emulatorpin)
      xml::set_attr(xml::child(tune, "emulatorpin"), "cpuset", format_id_set(*d.cputune->emulatorpin));
    else
      xml::erase_children(tune, "emulatorpin");
    sync_list(tune, "iothreadpin", d.cputune->iothreadpins, [](const iothreadpin& p, ptree& node) {
      xml::set_attr(node, "iothread", std::to_string(p.iothread));
      xml::set_attr(node, "cpuset", format_id_set(p.cpuset));
    });
  }
  if (d.iothreads)
    domain_child(dom, "iothreads").data() = std::to_string(d.iothreads);
  else
    xml::erase_children(dom, "iothreads");
  write_cpu(dom, d.cpu);
}

}  // namespace vnumad::config::detail
