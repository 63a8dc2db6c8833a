// The libFuzzer entry point of one fuzz_* executable; VNUMAD_FUZZ_ENTRY names
// the harness function (fuzz/CMakeLists.txt compiles this file once per harness).
#include "harnesses.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  return vnumad::fuzz::VNUMAD_FUZZ_ENTRY(data, size);
}
