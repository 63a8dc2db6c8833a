// The bodies of the libFuzzer harnesses (docs/reliability.md, "Fuzzing"), as
// plain functions: the fuzz_* executables call them from
// LLVMFuzzerTestOneInput (entry.cpp, clang only), and the gcc test suite
// replays the checked-in corpora through them (tests/fuzz/corpus_replay_test),
// so every crash found stays a regression test and this code builds in CI.
//
// Each returns 0 after handling any input. A documented failure (an error
// result) is a normal outcome; anything else is a finding: an exception that
// escapes, a crash, a sanitizer report, or a broken invariant, which the
// harness turns into std::abort() through fuzz_check().
#pragma once

#include <cstddef>
#include <cstdint>

namespace vnumad::fuzz {

// Domain XML: parse (without and with validation), write back, validate, and
// place/expand on two fixed hosts (fuzz/hosts, loaded once).
int fuzz_domain_xml(const std::uint8_t* data, std::size_t size);

// cpuset/nodeset syntax, memory sizes and units, reserved_cpus settings and
// guest names, with round trips through the formatters.
int fuzz_sets(const std::uint8_t* data, std::size_t size);

// QMP: line framing of a byte stream (in pieces and whole must agree), message
// decoding, and every reply decoder on every "return" value.
int fuzz_qmp(const std::uint8_t* data, std::size_t size);

// Control protocol: request parsing of each line and of the whole input,
// argument accessors, and encode -> parse round trips.
int fuzz_control(const std::uint8_t* data, std::size_t size);

}  // namespace vnumad::fuzz
