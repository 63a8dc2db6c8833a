#include "qemu/qemu_option.hpp"

#include <boost/json/serialize.hpp>

#include <cstdio>

namespace vnumad::qemu {

std::string escape_option_value(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 4);
  for (char c : value) {
    out += c;
    if (c == ',') out += ',';
  }
  return out;
}

result<void> check_representable(std::string_view value, std::string_view what, bool allow_empty) {
  if (value.empty() && !allow_empty)
    return make_error(errc::invalid_value, std::string(what) + ": empty value; a non-empty string is required");
  for (std::size_t i = 0; i < value.size(); ++i) {
    auto c = static_cast<unsigned char>(value[i]);
    if (c < 0x20 || c == 0x7f) {
      const char* name = c == 0 ? "NUL" : c == '\n' ? "newline" : c == '\r' ? "carriage return" : "control character";
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02x", c);
      return make_error(errc::invalid_value, std::string(what) + ": value '" + std::string(value.substr(0, i)) +
                                                 "...' contains a " + name + " (" + hex + ") at offset " +
                                                 std::to_string(i) +
                                                 ", which cannot be passed to QEMU; use printable characters only");
    }
  }
  return {};
}

result<std::string> option_value(std::string_view value, std::string_view what) {
  if (auto ok = check_representable(value, what); !ok) return ok.error();
  return escape_option_value(value);
}

std::vector<std::pair<std::string, std::string>> split_option(std::string_view text) {
  std::vector<std::pair<std::string, std::string>> out;
  std::string item;
  auto flush = [&] {
    // Only the first '=' separates key and value; values may contain '='.
    auto eq = item.find('=');
    if (eq == std::string::npos)
      out.emplace_back("", item);
    else
      out.emplace_back(item.substr(0, eq), item.substr(eq + 1));
    item.clear();
  };
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == ',') {
      if (i + 1 < text.size() && text[i + 1] == ',') {
        item += ',';
        ++i;
        continue;
      }
      flush();
      continue;
    }
    item += text[i];
  }
  if (!item.empty() || !text.empty()) flush();
  return out;
}

std::string to_json_arg(const boost::json::object& o) { return boost::json::serialize(o); }

std::string format_pci_addr(unsigned slot, unsigned function) {
  char buf[32];
  if (function == 0)
    std::snprintf(buf, sizeof buf, "0x%x", slot);
  else
    std::snprintf(buf, sizeof buf, "0x%x.0x%x", slot, function);
  return buf;
}

}  // namespace vnumad::qemu
