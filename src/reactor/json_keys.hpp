// Duplicate keys in a JSON text. Boost.JSON keeps the last of two equal keys,
// so {"op":"list","op":"destroy"} would run destroy while a log or a proxy that
// reads the first one sees list: a request with a repeated key is refused.
#pragma once

#include "util/error.hpp"

#include <string_view>

namespace vnumad::reactor {

// An error naming the first repeated key by its path ("args.vcpu"); success
// for a text without repeats, and for text that is not valid JSON (the real
// parser reports that).
result<void> check_unique_keys(std::string_view json_text);

}  // namespace vnumad::reactor
