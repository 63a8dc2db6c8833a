#include "config/domain_redact.hpp"

#include <algorithm>
#include <cctype>
#include <string>

namespace vnumad::config {

namespace {

using boost::property_tree::ptree;

bool contains_ci(std::string_view text, std::string_view needle) {
  auto it = std::search(text.begin(), text.end(), needle.begin(), needle.end(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) == std::tolower(static_cast<unsigned char>(b));
  });
  return it != text.end();
}

void redact_tree(ptree& node, bool top) {
  for (auto it = node.begin(); it != node.end();) {
    const std::string& key = it->first;
    const bool drop = key == "<xmlcomment>" || (top && (key == "description" || key == "metadata"));
    if (drop) {
      it = node.erase(it);
      continue;
    }
    if (key == "<xmlattr>") {
      ptree& attrs = it->second;
      for (auto a = attrs.begin(); a != attrs.end();)
        a = is_secret_attribute(a->first) ? attrs.erase(a) : std::next(a);
    } else {
      redact_tree(it->second, false);
    }
    ++it;
  }
}

}  // namespace

bool is_secret_attribute(std::string_view name) { return contains_ci(name, "passw") || contains_ci(name, "secret"); }

domain redacted(const domain& d) {
  domain out = d;
  redact_tree(out.xml, true);
  return out;
}

}  // namespace vnumad::config
