// Invariant checks shared by the harnesses: a violated one is a finding, so it
// aborts (libFuzzer then saves the input) after saying what broke.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

namespace vnumad::fuzz {

inline void fuzz_check(bool ok, std::string_view what) {
  if (ok) return;
  std::fprintf(stderr, "vnumad fuzz: invariant broken: %.*s\n", static_cast<int>(what.size()), what.data());
  std::abort();
}

inline std::string_view as_text(const unsigned char* data, std::size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

}  // namespace vnumad::fuzz
