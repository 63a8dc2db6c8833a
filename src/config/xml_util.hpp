// Helpers shared by the domain XML reader and writer: attribute access on a
// Boost.PropertyTree XML tree, strict number parsing, and error propagation.
// Internal to src/config; other modules use domain_xml.hpp.
#pragma once

#include "util/error.hpp"

#include <boost/property_tree/ptree.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

// Unwraps a result<T> into `var` or returns its error from the enclosing function.
#define VNUMAD_TRY(var, expr)                      \
  auto var##_result_ = (expr);                     \
  if (!var##_result_) return var##_result_.error(); \
  auto var = std::move(*var##_result_)

// Same, for result<void> and other results whose value is not needed.
#define VNUMAD_CHECK(expr)                   \
  do {                                       \
    auto check_result_ = (expr);             \
    if (!check_result_) return check_result_.error(); \
  } while (0)

namespace vnumad::config::xml {

using ptree = boost::property_tree::ptree;

inline constexpr const char* attr_key = "<xmlattr>";
inline constexpr const char* comment_key = "<xmlcomment>";

// True for "<xmlattr>", "<xmlcomment>", "<xmltext>": ptree bookkeeping, not elements.
bool is_meta(const std::string& key);

// Reader side. What these return counts as read by the parser (see
// usage_scope): the element, and the attribute asked for.
std::optional<std::string> attr(const ptree& node, std::string_view name);
std::string text(const ptree& node);  // trimmed element text
std::size_t count(const ptree& node, std::string_view child);
// The first child of that name, or nullptr.
const ptree* find(const ptree& node, std::string_view child);
// An attribute looked at to decide whether vnumad acts on the element, not
// counted as read (e.g. <input bus='usb'>, which vnumad does not create).
std::optional<std::string> peek_attr(const ptree& node, std::string_view name);
// Counts an element, or one attribute of it, as read.
void mark(const ptree& node);
void mark_attr(const ptree& node, std::string_view name);
// Counts an element with everything in it as read (<metadata>, kept whole).
void mark_tree(const ptree& node);

// While a usage_scope lives (one parse, on this thread), the reader helpers
// above record what they were asked for. What the parser never asked for is
// what vnumad does not act on: unused() names each such element and
// attribute, so the list of what is supported is the parser itself and
// cannot drift from it. Reads outside a scope (writers, tests) record nothing.
class usage_scope {
 public:
  usage_scope();
  ~usage_scope();
  usage_scope(const usage_scope&) = delete;
  usage_scope& operator=(const usage_scope&) = delete;

  // "<devices><sound model='ich9'>: not supported, ignored" for each element
  // under `root` (named `root_name`) that was not read, and
  // "<devices><disk><driver io='native'>: attribute not supported, ignored"
  // for each attribute of a read element; namespace declarations (xmlns)
  // are not settings and never count.
  std::vector<std::string> unused(const ptree& root, std::string_view root_name) const;

  struct state;

 private:
  state* state_;
  state* outer_;
};

// Returns the only child of that name, nullptr when absent, or duplicate_element
// when it occurs twice (`where` names the parent in the message).
result<const ptree*> single_child(const ptree& node, std::string_view child, std::string_view where);

// Non-negative integer, decimal or 0x-hex (libvirt writes PCI addresses in hex).
// `what` is the element/attribute shown in the message, e.g. "<vcpu current='x'>".
result<std::uint64_t> parse_u64(std::string_view text, std::string_view what);
result<unsigned> parse_uint(std::string_view text, std::string_view what);
result<std::optional<unsigned>> uint_attr(const ptree& node, std::string_view elem, std::string_view name);
// yes/no (libvirt's virYesNo) and on/off.
result<bool> parse_bool(std::string_view text, std::string_view what);

// "<elem name='value'>" for messages.
std::string show_attr(std::string_view elem, std::string_view name, std::string_view value);
// "<elem name>", for parsers that quote the value themselves (cpusets).
std::string attr_name(std::string_view elem, std::string_view name);

// Rejects a value not in `valid` (a '|'-separated list), naming both.
result<std::string> one_of(std::string_view value, std::string_view valid, std::string_view what);

// Writer side ----------------------------------------------------------------

// Sets an attribute, keeping <xmlattr> the first child (cosmetic: some readers
// of the tree expect it there).
void set_attr(ptree& node, std::string_view name, std::string_view value);
void erase_attr(ptree& node, std::string_view name);
// The first child of that name, created at the end when absent.
ptree& child(ptree& node, std::string_view name);
void erase_children(ptree& node, std::string_view name);
// Sets/erases an empty flag element such as <locked/>.
void set_flag(ptree& node, std::string_view name, bool present);

// Memory sizes as libvirt writes them: a number plus unit='KiB' (or 'b' when not
// a whole number of KiB). Sets the attribute `unit` and returns the number text.
std::string scaled_value(std::uint64_t bytes, std::string& unit);
// <name unit='KiB'>N</name> (child created or replaced in place).
void set_scaled_child(ptree& node, std::string_view name, std::uint64_t bytes);

std::string hex(unsigned value, int width);
std::string hex64(std::uint64_t value);  // 0x150000000

}  // namespace vnumad::config::xml
