#include "config/xml_limits.hpp"

#include <boost/property_tree/detail/rapidxml.hpp>

#include <cstring>
#include <string>

namespace vnumad::config {
namespace {

// rapidxml's own character classes, so that names and attributes end where
// the real parser ends them.
using tables = boost::property_tree::detail::rapidxml::internal::lookup_tables<0>;

bool is_space(char c) { return tables::lookup_whitespace[static_cast<unsigned char>(c)] != 0; }
bool is_name(char c) { return tables::lookup_node_name[static_cast<unsigned char>(c)] != 0; }
bool is_attr_name(char c) { return tables::lookup_attribute_name[static_cast<unsigned char>(c)] != 0; }

const char* skip_spaces(const char* p) {
  while (is_space(*p)) ++p;
  return p;
}
const char* skip_name(const char* p) {
  while (is_name(*p)) ++p;
  return p;
}
// Past the first `end` at or after p, or nullptr (rapidxml: "unexpected end of data").
const char* past(const char* p, const char* end) {
  const char* hit = std::strstr(p, end);
  return hit ? hit + std::strlen(end) : nullptr;
}

// "<!DOCTYPE " already consumed: rapidxml skips to '>', jumping over
// [...] blocks by bracket count alone.
const char* past_doctype(const char* p) {
  while (*p != '>') {
    if (*p == '\0') return nullptr;
    if (*p++ != '[') continue;
    for (int depth = 1; depth > 0; ++p) {
      if (*p == '\0') return nullptr;
      if (*p == '[') ++depth;
      if (*p == ']') --depth;
    }
  }
  return p + 1;
}

// After "<!": a comment, CDATA, DOCTYPE, or anything else up to '>'.
const char* past_bang(const char* p) {
  if (p[1] == '-' && p[2] == '-') return past(p + 3, "-->");
  if (std::strncmp(p + 1, "[CDATA[", 7) == 0) return past(p + 8, "]]>");
  if (std::strncmp(p + 1, "DOCTYPE", 7) == 0 && is_space(p[8])) return past_doctype(p + 9);
  const char* close = std::strchr(p + 1, '>');
  return close ? close + 1 : nullptr;
}

// An element's name and attributes; returns the '>' or '/' after them, or
// nullptr where rapidxml would fail.
const char* past_start_tag(const char* p) {
  const char* name_end = skip_name(p);
  if (name_end == p) return nullptr;
  p = skip_spaces(name_end);
  while (is_attr_name(*p)) {
    while (is_attr_name(*p)) ++p;
    p = skip_spaces(p);
    if (*p != '=') return nullptr;
    p = skip_spaces(p + 1);
    const char quote = *p;
    if (quote != '\'' && quote != '"') return nullptr;
    p = std::strchr(p + 1, quote);
    if (!p) return nullptr;
    p = skip_spaces(p + 1);
  }
  return p;
}

}  // namespace

std::size_t xml_nesting_depth(std::string_view view, std::size_t stop_above) {
  const std::string text(view);  // NUL-terminated, as rapidxml reads it
  const char* p = text.c_str();
  std::size_t depth = 0;
  std::size_t deepest = 0;
  // Text between markup never holds a '<' (rapidxml's data ends at one).
  while ((p = std::strchr(p, '<')) != nullptr) {
    ++p;
    if (*p == '/') {
      if (depth == 0) break;  // rapidxml: expected element name
      p = skip_spaces(skip_name(p + 1));
      if (*p != '>') break;
      ++p;
      --depth;
    } else if (*p == '?') {
      p = past(p + 1, "?>");  // declaration or processing instruction
    } else if (*p == '!') {
      p = past_bang(p);
    } else {
      p = past_start_tag(p);
      if (!p) break;
      // An empty element <x/> is as deep as one with content.
      deepest = std::max(deepest, depth + 1);
      if (deepest > stop_above) break;
      if (p[0] == '/' && p[1] == '>') {
        p += 2;
      } else if (p[0] == '>') {
        ++p;
        ++depth;
      } else {
        break;
      }
    }
    if (!p) break;
  }
  return deepest;
}

result<void> check_domain_size(std::size_t size, std::string_view source) {
  if (size <= max_domain_file_bytes) return {};
  return make_error(errc::xml_malformed, std::string(source) + ": " + std::to_string(size) +
                                             " bytes is over the domain file size limit of " +
                                             std::to_string(max_domain_file_bytes) +
                                             " bytes (a libvirt domain is a few KiB)");
}

result<void> check_domain_depth(std::string_view text, std::string_view source) {
  if (xml_nesting_depth(text, max_domain_depth) <= max_domain_depth) return {};
  return make_error(errc::xml_malformed, std::string(source) + ": elements nest deeper than the limit of " +
                                             std::to_string(max_domain_depth) +
                                             " levels (a libvirt domain is under 10 deep)");
}

}  // namespace vnumad::config
