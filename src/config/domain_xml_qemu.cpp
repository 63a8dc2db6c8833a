// <qemu:commandline>: libvirt's QEMU namespace, arguments and environment
// passed to QEMU as written (qemu/argv.hpp says what they may not override).
#include "config/domain_xml_detail.hpp"

namespace vnumad::config::detail {
namespace {

// The prefix the document binds to libvirt's QEMU namespace ("qemu" by
// convention, but any prefix declared with that URI is the same namespace).
std::optional<std::string> qemu_prefix(const ptree& dom) {
  auto attrs = dom.get_child_optional(xml::attr_key);
  if (!attrs) return std::nullopt;
  for (const auto& [name, value] : *attrs)
    if (name.rfind("xmlns:", 0) == 0 && value.data() == qemu_namespace) return name.substr(6);
  return std::nullopt;
}

bool is_env_name(std::string_view s) {
  if (s.empty() || (s[0] >= '0' && s[0] <= '9')) return false;
  for (char c : s)
    if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_')) return false;
  return true;
}

}  // namespace

result<void> read_qemu_commandline(const ptree& dom, domain& d) {
  // Without the namespace declaration the element is not libvirt's: it stays
  // unread and is reported like any unknown element.
  auto prefix = qemu_prefix(dom);
  if (!prefix) return {};
  const std::string element = *prefix + ":commandline";
  const std::string arg = *prefix + ":arg", env = *prefix + ":env";
  std::optional<qemu_commandline_def> out;
  for (auto [it, end] = dom.equal_range(element); it != end; ++it) {
    xml::mark(it->second);
    if (!out) out.emplace();
    for (const auto& [key, node] : it->second) {
      if (key == arg) {
        auto value = xml::attr(node, "value");
        if (!value)
          return make_error(errc::missing_element, "<" + element + "><" + arg + "> has no value attribute, e.g. <" +
                                                       arg + " value='-no-hpet'/>");
        out->args.push_back(*value);
      } else if (key == env) {
        auto name = xml::attr(node, "name");
        if (!name || !is_env_name(*name))
          return make_error(errc::invalid_value, "<" + element + "><" + env + " name='" + name.value_or("") +
                                                     "'>: an environment variable name is letters, digits and '_', "
                                                     "not starting with a digit");
        out->env.push_back({*name, xml::attr(node, "value").value_or("")});
      }
    }
  }
  d.qemu_commandline = out;
  return {};
}

void write_qemu_commandline(ptree& dom, const domain& d) {
  if (!d.qemu_commandline) return;
  xml::set_attr(dom, "xmlns:qemu", qemu_namespace);
  ptree cl;
  for (const std::string& a : d.qemu_commandline->args) {
    ptree n;
    xml::set_attr(n, "value", a);
    cl.push_back({"qemu:arg", n});
  }
  for (const qemu_env& e : d.qemu_commandline->env) {
    ptree n;
    xml::set_attr(n, "name", e.name);
    xml::set_attr(n, "value", e.value);
    cl.push_back({"qemu:env", n});
  }
  dom.push_back({"qemu:commandline", cl});
}

}  // namespace vnumad::config::detail
