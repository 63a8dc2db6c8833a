#include "reactor/json_keys.hpp"

#include <boost/json/basic_parser_impl.hpp>

#include <optional>
#include <set>
#include <string>
#include <vector>

namespace vnumad::reactor {

namespace json = boost::json;
using boost::system::error_code;

namespace {

// A basic_parser handler that builds nothing: it only remembers, per open
// object, the keys seen so far and where it is (for the message).
struct key_checker {
  static constexpr std::size_t max_object_size = std::size_t(-1);
  static constexpr std::size_t max_array_size = std::size_t(-1);
  static constexpr std::size_t max_key_size = std::size_t(-1);
  static constexpr std::size_t max_string_size = std::size_t(-1);

  struct level {
    bool object = false;
    std::set<std::string, std::less<>> keys;
    std::string key;  // the key whose value is being read (objects only)
  };
  std::vector<level> stack;
  std::string partial_key;
  std::optional<std::string> duplicate;  // the path of the first repeat

  std::string path(std::string_view last) const {
    std::string out;
    for (const auto& l : stack)
      if (l.object && &l != &stack.back()) out += l.key + ".";
    return out + std::string(last);
  }

  bool on_document_begin(error_code&) { return true; }
  bool on_document_end(error_code&) { return true; }
  bool on_object_begin(error_code&) {
    stack.push_back({true, {}, {}});
    return true;
  }
  bool on_object_end(std::size_t, error_code&) {
    stack.pop_back();
    return true;
  }
  bool on_array_begin(error_code&) {
    stack.push_back({false, {}, {}});
    return true;
  }
  bool on_array_end(std::size_t, error_code&) {
    stack.pop_back();
    return true;
  }
  bool on_key_part(json::string_view s, std::size_t, error_code&) {
    partial_key.append(s.data(), s.size());
    return true;
  }
  bool on_key(json::string_view s, std::size_t, error_code& ec) {
    partial_key.append(s.data(), s.size());
    level& l = stack.back();
    if (!l.keys.insert(partial_key).second) {
      duplicate = path(partial_key);
      ec = make_error_code(json::error::syntax);  // stop parsing: the answer is known
      return false;
    }
    l.key = std::move(partial_key);
    partial_key.clear();
    return true;
  }
  bool on_string_part(json::string_view, std::size_t, error_code&) { return true; }
  bool on_string(json::string_view, std::size_t, error_code&) { return true; }
  bool on_number_part(json::string_view, error_code&) { return true; }
  bool on_int64(std::int64_t, json::string_view, error_code&) { return true; }
  bool on_uint64(std::uint64_t, json::string_view, error_code&) { return true; }
  bool on_double(double, json::string_view, error_code&) { return true; }
  bool on_bool(bool, error_code&) { return true; }
  bool on_null(error_code&) { return true; }
  bool on_comment_part(json::string_view, error_code&) { return true; }
  bool on_comment(json::string_view, error_code&) { return true; }
};

}  // namespace

result<void> check_unique_keys(std::string_view json_text) {
  json::basic_parser<key_checker> parser(json::parse_options{});
  error_code ec;
  parser.write_some(false, json_text.data(), json_text.size(), ec);
  if (const auto& dup = parser.handler().duplicate)
    return make_error(errc::protocol_error, "duplicate key \"" + *dup + "\" in the request (each key may appear once)");
  return {};
}

}  // namespace vnumad::reactor
