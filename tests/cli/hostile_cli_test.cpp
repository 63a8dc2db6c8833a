#define BOOST_TEST_MODULE cli_hostile
#include <boost/test/unit_test.hpp>
#include <boost/test/data/test_case.hpp>

#include "cli_support.hpp"

// The hostile corpus (tests/data/hostile, one row of EXPECTED.tsv per file)
// through the three offline verbs that read a domain, on the seed host: each
// is refused with exit 2 (invalid input), nothing on stdout for expand and
// argv, the row's message fragment on stderr, and for 'parse' rows the file
// named. 'host' rows parse and validate (tests/config/hostile_corpus_test)
// and fail only when placed, with a message naming the node or the counts.

namespace bdata = boost::unit_test::data;
using namespace vnumad::cli::testing;

namespace {

struct row {
  std::string file, stage, errc, fragment;
};
std::ostream& operator<<(std::ostream& os, const row& r) { return os << r.file; }

std::vector<row> rows() {
  std::vector<row> out;
  std::istringstream in(read_file(hostile_dir() / "EXPECTED.tsv"));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    std::istringstream fields(line);
    row r;
    std::getline(fields, r.file, '\t');
    std::getline(fields, r.stage, '\t');
    std::getline(fields, r.errc, '\t');
    std::getline(fields, r.fragment);
    out.push_back(r);
  }
  return out;
}

std::string path_of(const row& r) { return (hostile_dir() / r.file).string(); }

}  // namespace

BOOST_AUTO_TEST_CASE(corpus_has_both_stages) {
  std::size_t parse = 0, host = 0;
  for (const auto& r : rows()) (r.stage == "host" ? host : parse) += 1;
  BOOST_TEST(parse >= 50u);
  BOOST_TEST(host == 7u);
}

BOOST_DATA_TEST_CASE(expand_refuses_with_the_message, bdata::make(rows()), r) {
  auto result = run({"expand", "--topology", seed_host(), path_of(r)});
  BOOST_TEST(result.code == 2, r.file << ": " << result.err);
  BOOST_TEST(result.out.empty(), r.file << " printed: " << result.out.substr(0, 200));
  BOOST_TEST(contains(result.err, r.fragment), result.err << "  lacks: " << r.fragment);
  BOOST_TEST(result.err.rfind("vnumactl: ", 0) == 0u, result.err);
  if (r.stage == "parse") BOOST_TEST(contains(result.err, r.file), result.err << "  does not name the file");
}

BOOST_DATA_TEST_CASE(argv_refuses_with_the_message, bdata::make(rows()), r) {
  auto result = run({"argv", "--topology", seed_host(), path_of(r)});
  BOOST_TEST(result.code == 2, r.file << ": " << result.err);
  BOOST_TEST(result.out.empty(), r.file << " printed: " << result.out.substr(0, 200));
  BOOST_TEST(contains(result.err, r.fragment), result.err << "  lacks: " << r.fragment);
  if (r.stage == "parse") BOOST_TEST(contains(result.err, r.file), result.err << "  does not name the file");
}

BOOST_DATA_TEST_CASE(plan_refuses_with_the_message, bdata::make(rows()), r) {
  auto result = run({"plan", "--topology", seed_host(), path_of(r)});
  BOOST_TEST(result.code == 2, r.file << ": " << result.err);
  // The report (stdout) says why, once; stderr names the file not placed.
  BOOST_TEST(contains(result.out, r.fragment), result.out << "  lacks: " << r.fragment);
  BOOST_TEST(contains(result.err, "vnumactl: not placed: "), result.err);
  BOOST_TEST(contains(result.out, r.stage == "parse" ? "invalid domain: " : ": does not fit: "), result.out);
  if (r.stage == "parse") BOOST_TEST(contains(result.err, r.file), result.err << "  does not name the file");
  // Nothing was placed: every node is left entirely free (128 GiB, 1 GiB reserved).
  BOOST_TEST(contains(result.out, "node 0: 127 GiB memory, 30 of 30 CPUs not held dedicated"), result.out);
}

BOOST_DATA_TEST_CASE(plan_json_marks_the_guest_unplaced, bdata::make(rows()), r) {
  auto result = run({"plan", "--json", "--topology", seed_host(), path_of(r)});
  BOOST_TEST(result.code == 2);
  BOOST_TEST(contains(result.out, "\"fits\":false"), result.out);
  BOOST_TEST(contains(result.out, std::string("\"invalid\":") + (r.stage == "parse" ? "true" : "false")), result.out);
}

// Domain files over the limits (config/xml_limits.hpp): a 200,000-deep file
// crashed `vnumactl expand` (stack overflow) before; a 2 MiB one was parsed in
// full. Every offline verb that reads a domain gives the parser's error.
BOOST_AUTO_TEST_CASE(deep_and_huge_files_fail_cleanly_in_every_offline_verb) {
  char tmpl[] = "/tmp/vnumactl-limits-XXXXXX";
  BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
  const fs::path dir = tmpl;
  const fs::path deep = dir / "deep.xml", huge = dir / "huge.xml";
  {
    std::ofstream out(deep);
    out << "<domain type='qemu'>";
    for (int i = 0; i < 200000; ++i) out << "<a>";
  }
  {
    std::ofstream out(huge);
    out << "<domain type='qemu'><description>" << std::string(2 * 1024 * 1024, 'x') << "</description></domain>";
  }
  for (const char* verb : {"expand", "plan", "argv"}) {
    // plan explains each failure once, in its report on stdout.
    const bool report = std::string(verb) == "plan";
    auto d = run({verb, "--topology", seed_host(), deep.string()});
    BOOST_TEST(d.code == 2, verb << ": " << d.err);
    BOOST_TEST(contains(report ? d.out : d.err, deep.string() + ": elements nest deeper than the limit of 64 levels"),
               verb << ": " << d.err << d.out);
    auto h = run({verb, "--topology", seed_host(), huge.string()});
    BOOST_TEST(h.code == 2, verb << ": " << h.err);
    BOOST_TEST(contains(report ? h.out : h.err, huge.string() + ": " + std::to_string(fs::file_size(huge)) +
                                                    " bytes is over the domain file size limit of 1048576 bytes"),
               verb << ": " << h.err << h.out.substr(0, 300));
  }
  fs::remove_all(dir);
}
