#define BOOST_TEST_MODULE fuzz_corpus_replay
#include <boost/test/unit_test.hpp>

// Every fuzz harness (fuzz/harnesses.hpp) over every file of its seed corpus
// (fuzz/corpus/<harness>) and of its regressions (fuzz/regressions/<harness>,
// inputs that once crashed). A harness aborts on a broken invariant and lets
// unexpected exceptions escape, so "returns 0" here means the input is handled
// as documented. The clang build (scripts/fuzz.sh) runs the same functions
// under ASan+UBSan.
#include "harnesses.hpp"

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace fs = std::filesystem;

namespace {

using harness_fn = int (*)(const std::uint8_t*, std::size_t);

struct harness {
  const char* name;
  harness_fn run;
  std::size_t min_seeds;  // a corpus that shrank by accident must not pass silently
};

const harness harnesses[] = {
    {"domain_xml", vnumad::fuzz::fuzz_domain_xml, 20},
    {"sets", vnumad::fuzz::fuzz_sets, 20},
    {"qmp", vnumad::fuzz::fuzz_qmp, 20},
    {"control", vnumad::fuzz::fuzz_control, 10},
};

const fs::path fuzz_dir = fs::path(VNUMAD_SOURCE_DIR) / "fuzz";

std::vector<fs::path> files_in(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.is_regular_file() && entry.path().filename().string().front() != '.') out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string read_bytes(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  BOOST_TEST_REQUIRE(in.good(), "cannot open " << file);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::size_t replay(const harness& h, const fs::path& dir) {
  std::size_t count = 0;
  for (const auto& file : files_in(dir)) {
    const std::string bytes = read_bytes(file);
    BOOST_TEST_CONTEXT(file.string()) {
      int rc = -1;
      BOOST_CHECK_NO_THROW(rc = h.run(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()));
      BOOST_TEST(rc == 0);
    }
    ++count;
  }
  return count;
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_corpora_replay_cleanly) {
  for (const auto& h : harnesses) {
    BOOST_TEST_CONTEXT("harness " << h.name) {
      const std::size_t seeds = replay(h, fuzz_dir / "corpus" / h.name);
      BOOST_TEST(seeds >= h.min_seeds, "fuzz/corpus/" << h.name << " has " << seeds << " files");
      BOOST_TEST_MESSAGE(h.name << ": " << seeds << " seed inputs replayed");
    }
  }
}

BOOST_AUTO_TEST_CASE(regression_inputs_replay_cleanly) {
  BOOST_TEST_REQUIRE(fs::is_directory(fuzz_dir / "regressions"));
  for (const auto& h : harnesses) {
    BOOST_TEST_CONTEXT("harness " << h.name) {
      const std::size_t n = replay(h, fuzz_dir / "regressions" / h.name);
      BOOST_TEST_MESSAGE(h.name << ": " << n << " regression inputs replayed");
    }
  }
  // Every folder under fuzz/regressions must be a harness's, or its inputs
  // would never be replayed.
  for (const auto& entry : fs::directory_iterator(fuzz_dir / "regressions")) {
    if (!entry.is_directory()) continue;
    const std::string name = entry.path().filename().string();
    BOOST_TEST(std::any_of(std::begin(harnesses), std::end(harnesses), [&](const harness& h) { return name == h.name; }),
               "fuzz/regressions/" << name << " names no harness");
  }
}
