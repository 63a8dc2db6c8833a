#define BOOST_TEST_MODULE config_xml_limits
#include <boost/test/unit_test.hpp>

#include "config/domain_xml.hpp"
#include "config/xml_limits.hpp"

#include <boost/property_tree/detail/rapidxml.hpp>

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

// The size and depth limits of domain files (config/xml_limits.hpp): checked
// before rapidxml, whose recursion a deep file overflows, and the depth scan
// agrees with rapidxml's own reading of every file it accepts.

namespace fs = std::filesystem;
namespace rx = boost::property_tree::detail::rapidxml;
using namespace vnumad::config;
using vnumad::errc;

namespace {

std::string nested(std::size_t levels) {
  std::string s = "<domain type='qemu'>";
  for (std::size_t i = 1; i < levels; ++i) s += "<a>";
  for (std::size_t i = 1; i < levels; ++i) s += "</a>";
  return s + "</domain>";
}

// rapidxml's depth, walked without recursion (the inputs here are shallow).
std::size_t rapidxml_depth(const std::string& text) {
  std::vector<char> buf(text.begin(), text.end());
  buf.push_back('\0');
  rx::xml_document<char> doc;
  doc.parse<rx::parse_validate_closing_tags | rx::parse_non_destructive>(buf.data());
  std::size_t deepest = 0;
  std::vector<std::pair<rx::xml_node<char>*, std::size_t>> todo;
  for (auto* n = doc.first_node(); n; n = n->next_sibling()) todo.emplace_back(n, 1);
  while (!todo.empty()) {
    auto [n, d] = todo.back();
    todo.pop_back();
    if (n->type() != rx::node_element) continue;
    deepest = std::max(deepest, d);
    for (auto* c = n->first_node(); c; c = c->next_sibling()) todo.emplace_back(c, d + 1);
  }
  return deepest;
}

struct temp_dir {
  fs::path path;
  temp_dir() {
    std::string tmpl = (fs::temp_directory_path() / "vnumad-limits-XXXXXX").string();
    path = ::mkdtemp(tmpl.data());
  }
  ~temp_dir() { fs::remove_all(path); }
};

long max_rss_kib() {
  rusage u{};
  ::getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss;
}

}  // namespace

BOOST_AUTO_TEST_CASE(depth_at_the_limit_parses_one_more_is_refused) {
  auto at = parse_domain_string(nested(max_domain_depth), "at.xml", parse_options{.validate = false});
  // Far from a valid guest, but past the depth check: the error is another one.
  if (!at) BOOST_TEST(at.error().message.find("levels") == std::string::npos, at.error().message);
  auto over = parse_domain_string(nested(max_domain_depth + 1), "over.xml");
  BOOST_TEST_REQUIRE(!over.has_value());
  BOOST_TEST(over.error().code == errc::xml_malformed);
  BOOST_TEST(over.error().message.find("over.xml") != std::string::npos, over.error().message);
  BOOST_TEST(over.error().message.find("limit of " + std::to_string(max_domain_depth) + " levels") != std::string::npos,
             over.error().message);
}

BOOST_AUTO_TEST_CASE(a_200000_deep_file_is_refused_without_recursion) {
  // 200,000 levels overflowed the stack of vnumad and vnumactl before.
  temp_dir t;
  const fs::path file = t.path / "deep.xml";
  {
    std::ofstream out(file);
    out << "<domain type='qemu'>";
    for (int i = 0; i < 200000; ++i) out << "<a>";
  }
  auto d = parse_domain_file(file);
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().message.find(file.string()) != std::string::npos, d.error().message);
  BOOST_TEST(d.error().message.find("levels") != std::string::npos, d.error().message);
}

BOOST_AUTO_TEST_CASE(a_100_mb_file_is_refused_fast_and_small) {
  temp_dir t;
  const fs::path file = t.path / "huge.xml";
  {
    std::ofstream out(file);
    out << "<domain type='qemu'><name>huge</name><description>";
    std::string line(1023, 'x');
    for (int i = 0; i < 100 * 1024; ++i) out << line << '\n';
    out << "</description></domain>\n";
  }
  const long rss_before = max_rss_kib();
  auto start = std::chrono::steady_clock::now();
  auto d = parse_domain_file(file);
  auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().code == errc::xml_malformed);
  BOOST_TEST(d.error().message.find(file.string()) != std::string::npos, d.error().message);
  BOOST_TEST(d.error().message.find("size limit of " + std::to_string(max_domain_file_bytes) + " bytes") !=
                 std::string::npos,
             d.error().message);
  // Refused from fstat: no read of 100 MB (it took 11.6 s and 991 MB before).
  BOOST_TEST(std::chrono::duration_cast<std::chrono::milliseconds>(took).count() < 200);
  BOOST_TEST(max_rss_kib() - rss_before < 16 * 1024);
}

BOOST_AUTO_TEST_CASE(an_endless_device_is_read_only_to_the_limit) {
  // Not a regular file, so no size up front: the bounded read stops it.
  auto d = parse_domain_file("/dev/zero");
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().message.find("size limit") != std::string::npos, d.error().message);
}

BOOST_AUTO_TEST_CASE(the_size_limit_applies_to_strings_too) {
  std::string big = "<domain type='qemu'><description>" + std::string(max_domain_file_bytes, 'x') +
                    "</description></domain>";
  auto d = parse_domain_string(big, "big.xml");
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().message.find("big.xml: ") == 0u, d.error().message);
  BOOST_TEST(d.error().message.find("size limit") != std::string::npos, d.error().message);
}

// Markup that hides '<' and '</' from a naive count: comments, CDATA, PIs,
// attribute values, a DOCTYPE's internal subset. The scan must see what
// rapidxml sees.
BOOST_AUTO_TEST_CASE(depth_scan_matches_rapidxml_on_tricky_markup) {
  const std::vector<std::string> cases = {
      "<a><b><c/></b></a>",
      "<a><!-- </a></a> --><b><c></c></b></a>",
      "<a><![CDATA[</a></a>]]><b><c/></b></a>",
      "<?xml version='1.0'?><?pi </a></a> ?><a><b/></a>",
      "<!DOCTYPE a [<!ENTITY x '</a></a>'> <!ELEMENT a ANY>]><a><b><c/></b></a>",
      "<a x='</a></a>' y=\"></b>\"><b  ><c/></b ></a>",
      "<a><!x </a> ><b><c/></b></a>",
      "<a>text &lt;/a&gt; more<b>x<c>y</c></b></a>",
      "<a><b><c><d><e/></d></c></b></a>",
  };
  for (const auto& text : cases) {
    std::size_t real = rapidxml_depth(text);
    BOOST_TEST(xml_nesting_depth(text, 1000) == real, text);
  }
}

BOOST_AUTO_TEST_CASE(depth_scan_matches_rapidxml_on_every_test_file) {
  std::size_t files = 0;
  for (const char* sub : {"fixtures", "conformance", "hostile"}) {
    for (const auto& entry : fs::recursive_directory_iterator(fs::path(VNUMAD_TEST_DATA_DIR) / sub)) {
      if (entry.path().extension() != ".xml") continue;
      std::ifstream in(entry.path(), std::ios::binary);
      std::stringstream text;
      text << in.rdbuf();
      const std::string s = text.str();
      if (s.find('\0') != std::string::npos) continue;
      std::size_t real = 0;
      try {
        real = rapidxml_depth(s);
      } catch (const rx::parse_error&) {
        continue;  // malformed: rapidxml stops early, the scan may go on
      }
      ++files;
      BOOST_TEST(xml_nesting_depth(s, 1000) == real, entry.path());
    }
  }
  BOOST_TEST(files > 100u);
}

BOOST_AUTO_TEST_CASE(entity_expansion_stays_refused) {
  auto d = parse_domain_file(fs::path(VNUMAD_TEST_DATA_DIR) / "hostile" / "entity-expansion.xml");
  BOOST_TEST_REQUIRE(!d.has_value());
  BOOST_TEST(d.error().message.find("contains '&'") != std::string::npos, d.error().message);
}
