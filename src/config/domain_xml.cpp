#include "config/domain_xml.hpp"

#include "config/domain_validate.hpp"
#include "config/domain_xml_detail.hpp"
#include "config/xml_limits.hpp"

#include <boost/property_tree/detail/rapidxml.hpp>
#include <boost/property_tree/xml_parser.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <regex>
#include <sstream>

namespace vnumad::config {
namespace {

using detail::ptree;
namespace px = boost::property_tree::xml_parser;

// Elements that libvirt allows once under <domain>; a second one is an error
// rather than something to silently ignore.
constexpr std::string_view singletons[] = {
    "name",    "uuid",     "memory",   "currentMemory", "maxMemory",   "vcpu",      "vcpus",
    "cputune", "numatune", "memoryBacking", "cpu",      "os",          "features",  "clock",
    "on_poweroff", "on_reboot", "on_crash", "devices",  "vnuma",     "iothreads",
};

bool is_uuid(std::string_view s) {
  static const std::regex re("^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$");
  return std::regex_match(s.begin(), s.end(), re);
}

result<void> read_os(const ptree& dom, domain& d) {
  VNUMAD_TRY(os, xml::single_child(dom, "os", "<domain>"));
  if (!os) return {};
  VNUMAD_TRY(type, xml::single_child(*os, "type", "<os>"));
  if (type) {
    d.os.type = xml::text(*type);
    d.os.arch = xml::attr(*type, "arch");
    d.os.machine = xml::attr(*type, "machine");
  }
  for (const auto& [key, node] : *os) {
    if (key == "boot") {
      auto dev = xml::attr(node, "dev");
      if (!dev) return make_error(errc::missing_element, "<os><boot> has no dev attribute (valid: hd, cdrom, network, fd)");
      VNUMAD_TRY(v, xml::one_of(*dev, "hd|cdrom|network|fd", xml::show_attr("boot", "dev", *dev)));
      d.os.boot_devs.push_back(v);
    } else if (key == "kernel") {
      d.os.kernel = xml::text(node);
    } else if (key == "initrd") {
      d.os.initrd = xml::text(node);
    } else if (key == "cmdline") {
      xml::mark(node);
      d.os.cmdline = node.data();  // a kernel command line may carry meaningful spaces
    }
  }
  return {};
}

result<void> read_general(const ptree& dom, domain& d) {
  for (std::string_view s : singletons)
    if (dom.count(std::string(s)) > 1)  // a count that does not mark: the readers below do
      return make_error(errc::duplicate_element,
                        "<" + std::string(s) + "> appears more than once in <domain> (at most one is allowed)");

  // Notes for people and programs, kept in the file and echoed by expand:
  // libvirt does nothing with them either, so they are not "ignored".
  for (const char* note : {"title", "description", "metadata"})
    for (auto [it, end] = dom.equal_range(note); it != end; ++it) xml::mark_tree(it->second);

  auto type = xml::attr(dom, "type");
  if (!type) return make_error(errc::missing_element, "<domain> has no type attribute (valid: kvm, qemu)");
  if (*type != "kvm" && *type != "qemu")
    return make_error(errc::unsupported, xml::show_attr("domain", "type", *type) +
                                             ": vnumad runs QEMU guests only (valid: kvm, qemu)");
  d.type = *type;

  VNUMAD_TRY(name, xml::single_child(dom, "name", "<domain>"));
  if (!name) return make_error(errc::missing_element, "<domain> has no <name> (every guest needs a name)");
  d.name = xml::text(*name);
  VNUMAD_CHECK(validate_guest_name(d.name));

  VNUMAD_TRY(uuid, xml::single_child(dom, "uuid", "<domain>"));
  if (uuid) {
    std::string u = xml::text(*uuid);
    if (!is_uuid(u))
      return make_error(errc::invalid_value, "<uuid>" + u + "</uuid>: not a UUID (expected 8-4-4-4-12 hex digits)");
    d.uuid = u;
  }

  VNUMAD_CHECK(read_os(dom, d));

  VNUMAD_TRY(features, xml::single_child(dom, "features", "<domain>"));
  if (features)
    for (const auto& [key, node] : *features) {
      if (xml::is_meta(key)) continue;
      d.features.push_back(key);
      // acpi and tcg change the command line; apic and pae are what
      // qemu-system-x86_64 always gives (libvirt passes nothing for them).
      // Every other feature (hyperv, kvm, smm, vmport, ...) is not acted on
      // and stays unread, so it is reported.
      if (key == "acpi" || key == "apic" || key == "pae") xml::mark(node);
      if (key == "tcg") {
        xml::mark(node);
        VNUMAD_TRY(tb, xml::single_child(node, "tb-cache", "<features><tcg>"));
        if (tb) {
          VNUMAD_TRY(bytes, detail::read_scaled(*tb, "<features><tcg><tb-cache>"));
          if (bytes == 0 || bytes % (1024 * 1024) != 0)
            return make_error(errc::invalid_value, "<features><tcg><tb-cache>: " + std::to_string(bytes) +
                                                       " bytes is not a positive whole number of MiB");
          d.tcg_tb_cache_bytes = bytes;
        }
      }
    }

  VNUMAD_TRY(clock, xml::single_child(dom, "clock", "<domain>"));
  if (clock) d.clock_offset = xml::attr(*clock, "offset");

  struct lifecycle {
    const char* element;
    lifecycle_action* target;
  };
  for (auto [element, target] : {lifecycle{"on_poweroff", &d.on_poweroff}, lifecycle{"on_reboot", &d.on_reboot},
                                 lifecycle{"on_crash", &d.on_crash}}) {
    VNUMAD_TRY(node, xml::single_child(dom, element, "<domain>"));
    if (!node) continue;
    std::string what = "<" + std::string(element) + ">";
    VNUMAD_TRY(action, parse_lifecycle_action(xml::text(*node), what));
    *target = action;
  }

  VNUMAD_TRY(devices, xml::single_child(dom, "devices", "<domain>"));
  if (devices) VNUMAD_CHECK(detail::read_devices(*devices, d.devices));
  return {};
}

error with_source(const error& e, std::string_view source) {
  return make_error(e.code, std::string(source) + ": " + e.message);
}

result<domain> parse_tree(const ptree& doc, std::string_view source, const parse_options& options) {
  const ptree* dom = nullptr;
  for (const auto& [key, node] : doc) {
    if (xml::is_meta(key)) continue;
    if (key != "domain")
      return with_source(make_error(errc::missing_element, "root element is <" + key + ">, expected <domain>"), source);
    dom = &node;
  }
  if (!dom) return with_source(make_error(errc::missing_element, "no <domain> element (the file is empty)"), source);

  domain d;
  d.source_file = std::string(source);
  d.xml = *dom;
  xml::usage_scope usage;
  auto parsed = [&]() -> result<void> {
    VNUMAD_CHECK(read_general(*dom, d));
    VNUMAD_CHECK(detail::read_memory(*dom, d));
    VNUMAD_CHECK(detail::read_cpus(*dom, d));
    VNUMAD_CHECK(detail::read_vnuma(*dom, d));
    VNUMAD_CHECK(detail::read_qemu_commandline(*dom, d));
    return {};
  }();
  if (!parsed) return with_source(parsed.error(), source);
  d.warnings = usage.unused(*dom, "domain");
  if (options.validate) {
    // validate_domain prefixes source_file itself.
    auto valid = validate_domain(d);
    if (!valid) return valid.error();
  }
  return d;
}

error malformed(std::string_view source, std::size_t line, const std::string& why) {
  std::string where(source);
  if (line > 0) where += ":" + std::to_string(line);
  return make_error(errc::xml_malformed,
                    where + ": malformed XML: " + why + " (expected a well-formed libvirt <domain> document)");
}

// property_tree's reader runs rapidxml without closing-tag validation, so
// "<os>...</oss>" would pass. Check well-formedness first with the same
// parser and that flag.
result<void> check_well_formed(const std::string& text, std::string_view source) {
  namespace rx = boost::property_tree::detail::rapidxml;
  if (text.find('\0') != std::string::npos) {
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(text.find('\0')), '\n');
    return malformed(source, static_cast<std::size_t>(line), "the file contains a NUL byte (not a text file?)");
  }
  // rapidxml recurses per level: the depth is known before it runs.
  VNUMAD_CHECK(check_domain_depth(text, source));
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  rx::xml_document<char> doc;
  try {
    doc.parse<rx::parse_validate_closing_tags | rx::parse_non_destructive>(buf.data());
  } catch (const rx::parse_error& e) {
    const char* at = e.where<char>();
    std::size_t line = 0;
    if (at >= buf.data() && at < buf.data() + buf.size()) line = 1 + std::count(static_cast<const char*>(buf.data()), at, '\n');
    return malformed(source, line, e.what());
  }
  std::size_t roots = 0;
  for (auto* n = doc.first_node(); n; n = n->next_sibling())
    if (n->type() == rx::node_element) ++roots;
  if (roots == 0) return malformed(source, 0, "no root element (the file is empty or has no markup)");
  if (roots > 1) return malformed(source, 0, "more than one root element (one <domain> per file)");
  return {};
}

result<domain> parse_text(const std::string& text, std::string_view source, const parse_options& options) {
  VNUMAD_CHECK(check_domain_size(text.size(), source));
  VNUMAD_CHECK(check_well_formed(text, source));
  ptree doc;
  std::istringstream in(text);
  try {
    // trim_whitespace drops indentation-only text so that writing can re-indent.
    px::read_xml(in, doc, px::trim_whitespace);
  } catch (const px::xml_parser_error& e) {
    return malformed(source, e.line(), e.message());
  }
  return parse_tree(doc, source, options);
}

}  // namespace

result<void> validate_guest_name(std::string_view name) {
  auto bad = [&](std::string why) {
    return make_error(errc::invalid_name, "<name>" + std::string(name) + "</name>: " + why +
                                              " (a guest name names files, sockets and cgroups: use 1-" +
                                              std::to_string(max_guest_name_length) +
                                              " letters, digits, '.', '_' or '-', not starting with '.')");
  };
  if (name.empty()) return bad("the name is empty");
  if (name.size() > max_guest_name_length) return bad("the name has " + std::to_string(name.size()) + " characters");
  if (name.front() == '.') return bad("the name starts with '.'");
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' || c == '_' ||
              c == '-';
    if (!ok) {
      std::string shown = (c >= 0x21 && c < 0x7f) ? std::string("'") + c + "'" : "byte " + std::to_string(
                                                                                          static_cast<unsigned char>(c));
      if (c == ' ') shown = "a space";
      return bad("the name contains " + shown);
    }
  }
  return {};
}

namespace {

// At most one buffer over the limit is read: a huge file, or a FIFO or device
// someone linked in, costs no more than a small one.
result<std::string> read_bounded(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0) return make_error(errc::io_error, path.string() + ": cannot open for reading: " + std::strerror(errno));
  struct closer {
    int fd;
    ~closer() { ::close(fd); }
  } guard{fd};
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
    VNUMAD_CHECK(check_domain_size(static_cast<std::size_t>(st.st_size), path.string()));
  std::string text;
  char buf[64 * 1024];
  while (text.size() <= max_domain_file_bytes) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return make_error(errc::io_error, path.string() + ": read failed: " + std::strerror(errno));
    }
    text.append(buf, static_cast<std::size_t>(n));
  }
  VNUMAD_CHECK(check_domain_size(text.size(), path.string()));
  return text;
}

}  // namespace

result<domain> parse_domain_file(const std::filesystem::path& path, parse_options options) {
  VNUMAD_TRY(text, read_bounded(path));
  return parse_text(text, path.string(), options);
}

result<domain> parse_domain_string(std::string_view text, std::string_view source_name, parse_options options) {
  return parse_text(std::string(text), source_name, options);
}

result<void> check_strict(const domain& d, bool strict) {
  if (!strict || d.warnings.empty()) return {};
  std::string list;
  for (const std::string& w : d.warnings) list += (list.empty() ? "" : "; ") + w;
  return make_error(errc::unsupported, (d.source_file.empty() ? "<domain " + d.name + ">" : d.source_file) +
                                           ": vnumad.conf has strict = true, and vnumad does not act on: " + list);
}

std::vector<std::string> load_notes(const domain& d) {
  const std::string source = d.source_file.empty() ? "<domain " + d.name + ">" : d.source_file;
  std::vector<std::string> out;
  for (const std::string& w : d.warnings) out.push_back(source + ": " + w);
  if (d.qemu_commandline)
    out.push_back(source + ": <qemu:commandline> passes " + std::to_string(d.qemu_commandline->args.size()) +
                  " argument(s) and " + std::to_string(d.qemu_commandline->env.size()) +
                  " environment variable(s) to QEMU unchecked (unsupported configuration: vnumad cannot vouch "
                  "for what they do)");
  return out;
}

std::string write_domain_xml(const domain& d) {
  ptree dom = d.xml;
  bool from_scratch = dom.empty() && dom.data().empty();
  dom.data().clear();

  xml::set_attr(dom, "type", d.type);
  detail::domain_child(dom, "name").data() = d.name;
  if (d.uuid)
    detail::domain_child(dom, "uuid").data() = *d.uuid;
  else
    xml::erase_children(dom, "uuid");

  detail::write_memory(dom, d);
  detail::write_cpus(dom, d);
  detail::write_vnuma(dom, d);

  if (from_scratch) {
    ptree& os = detail::domain_child(dom, "os");
    ptree& type = xml::child(os, "type");
    type.data() = d.os.type;
    if (d.os.arch) xml::set_attr(type, "arch", *d.os.arch);
    if (d.os.machine) xml::set_attr(type, "machine", *d.os.machine);
    if (d.os.kernel) xml::child(os, "kernel").data() = *d.os.kernel;
    if (d.os.initrd) xml::child(os, "initrd").data() = *d.os.initrd;
    if (d.os.cmdline) xml::child(os, "cmdline").data() = *d.os.cmdline;
    for (const std::string& dev : d.os.boot_devs) {
      ptree boot;
      xml::set_attr(boot, "dev", dev);
      os.push_back({"boot", boot});
    }
    if (!d.features.empty()) {
      ptree& features = detail::domain_child(dom, "features");
      for (const std::string& f : d.features) {
        ptree feature;
        if (f == "tcg" && d.tcg_tb_cache_bytes) xml::set_scaled_child(feature, "tb-cache", *d.tcg_tb_cache_bytes);
        features.push_back({f, feature});
      }
    }
    if (d.clock_offset) xml::set_attr(detail::domain_child(dom, "clock"), "offset", *d.clock_offset);
    detail::domain_child(dom, "on_poweroff").data() = std::string(to_string(d.on_poweroff));
    detail::domain_child(dom, "on_reboot").data() = std::string(to_string(d.on_reboot));
    detail::domain_child(dom, "on_crash").data() = std::string(to_string(d.on_crash));
    detail::write_all_devices(detail::domain_child(dom, "devices"), d.devices);
    detail::write_qemu_commandline(dom, d);
  } else {
    bool has_devices = dom.find("devices") != dom.not_found();
    if (has_devices || d.devices.memballoon_model || !d.devices.memory_devices.empty())
      detail::write_owned_devices(detail::domain_child(dom, "devices"), d.devices);
  }

  ptree doc;
  doc.push_back({"domain", std::move(dom)});
  std::ostringstream out;
  px::write_xml(out, doc, px::xml_writer_make_settings<std::string>(' ', 2));
  return out.str();
}

}  // namespace vnumad::config
