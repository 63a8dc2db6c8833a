#define BOOST_TEST_MODULE metrics_exposition
// The text format writer, read back with the strict reader of the format
// (tests/support/prometheus_text.hpp): escaping, one HELP and TYPE per
// family, series order, and the invariants it refuses to break.
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "metrics/exposition.hpp"
#include "support/prometheus_text.hpp"

#include <cmath>

namespace bdata = boost::unit_test::data;
using namespace vnumad::metrics;
using vnumad::errc;
using vnumad::testing::parse_prometheus_text;

BOOST_AUTO_TEST_CASE(families_are_written_in_order_each_with_one_help_and_type) {
  std::vector<family> fams = {
      {"b_bytes", "Second in the input.", metric_type::gauge, {{{{"node", "0"}}, 5}}},
      {"a_requests_total", "A counter.", metric_type::counter, {{{{"verb", "list"}, {"code", "ok"}}, 3}}},
      {"c_empty", "No samples yet.", metric_type::gauge, {}},
  };
  auto text = format_exposition(fams);
  BOOST_TEST_REQUIRE(text.has_value(), text.error().message);
  BOOST_TEST(*text ==
             "# HELP b_bytes Second in the input.\n# TYPE b_bytes gauge\nb_bytes{node=\"0\"} 5\n"
             "# HELP a_requests_total A counter.\n# TYPE a_requests_total counter\n"
             "a_requests_total{verb=\"list\",code=\"ok\"} 3\n"
             "# HELP c_empty No samples yet.\n# TYPE c_empty gauge\n");
  auto parsed = parse_prometheus_text(*text);
  BOOST_TEST_REQUIRE(parsed.ok(), parsed.error);
  BOOST_TEST((parsed.order == std::vector<std::string>{"b_bytes", "a_requests_total", "c_empty"}));
  BOOST_TEST(parsed.families.at("a_requests_total").type == "counter");
  BOOST_TEST(*parsed.value("a_requests_total", {{"verb", "list"}, {"code", "ok"}}) == 3);
}

BOOST_AUTO_TEST_CASE(label_values_and_help_are_escaped_and_read_back_unchanged) {
  const std::string nasty = "we\"b\\1\nx} y=\"z\",";
  std::vector<family> fams = {{"g", "Help with a \\ backslash\nand a newline; \"quotes\" stay.", metric_type::gauge,
                               {{{{"guest", nasty}}, 1}}}};
  auto text = format_exposition(fams);
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(text->find("g{guest=\"we\\\"b\\\\1\\nx} y=\\\"z\\\",\"} 1\n") != std::string::npos, *text);
  BOOST_TEST(text->find("# HELP g Help with a \\\\ backslash\\nand a newline; \"quotes\" stay.\n") != std::string::npos);
  auto parsed = parse_prometheus_text(*text);
  BOOST_TEST_REQUIRE(parsed.ok(), parsed.error);
  BOOST_TEST(parsed.families.at("g").help == "Help with a \\ backslash\nand a newline; \"quotes\" stay.");
  BOOST_TEST(parsed.families.at("g").samples.at(0).labels.at("guest") == nasty);
}

BOOST_AUTO_TEST_CASE(series_are_sorted_by_their_labels_numbers_as_numbers) {
  family f{"n", "h", metric_type::gauge, {}};
  for (const char* node : {"10", "2", "1"})
    for (const char* guest : {"web", "db"}) f.samples.push_back({{{"guest", guest}, {"node", node}}, 1});
  auto text = format_exposition({f});
  BOOST_TEST_REQUIRE(text.has_value());
  BOOST_TEST(*text == "# HELP n h\n# TYPE n gauge\n"
                      "n{guest=\"db\",node=\"1\"} 1\nn{guest=\"db\",node=\"2\"} 1\nn{guest=\"db\",node=\"10\"} 1\n"
                      "n{guest=\"web\",node=\"1\"} 1\nn{guest=\"web\",node=\"2\"} 1\nn{guest=\"web\",node=\"10\"} 1\n");
}

struct value_case {
  double value;
  const char* text;
};
std::ostream& operator<<(std::ostream& os, const value_case& c) { return os << c.text; }

BOOST_DATA_TEST_CASE(values_are_written_as_the_format_reads_them,
                     bdata::make(std::vector<value_case>{{0, "0"},
                                                         {1073741824, "1073741824"},
                                                         {1000000, "1000000"},
                                                         {-3, "-3"},
                                                         {0.5, "0.5"},
                                                         {0.1, "0.1"},
                                                         {1e300, "1e+300"},
                                                         {NAN, "NaN"},
                                                         {INFINITY, "+Inf"},
                                                         {-INFINITY, "-Inf"}}),
                     c) {
  BOOST_TEST(format_value(c.value) == c.text);
}

struct refusal {
  const char* what;
  std::vector<family> families;
  errc code;
  const char* says;
};
std::ostream& operator<<(std::ostream& os, const refusal& r) { return os << r.what; }

BOOST_DATA_TEST_CASE(
    broken_invariants_are_refused_naming_the_family_and_series,
    bdata::make(std::vector<refusal>{
        {"metric name with a dash", {{"vnumad-node", "h", metric_type::gauge, {}}}, errc::invalid_value, "vnumad-node"},
        {"metric name starting with a digit", {{"1abc", "h", metric_type::gauge, {}}}, errc::invalid_value, "1abc"},
        {"two families of one name",
         {{"x", "h", metric_type::gauge, {}}, {"x", "h", metric_type::counter, {}}},
         errc::already_exists,
         "two families"},
        {"a series twice",
         {{"x", "h", metric_type::gauge, {{{{"a", "1"}, {"b", "2"}}, 1}, {{{"b", "2"}, {"a", "1"}}, 2}}}},
         errc::already_exists,
         "x{b=\"2\",a=\"1\"} given twice"},
        {"a label name with a dot", {{"x", "h", metric_type::gauge, {{{{"a.b", "1"}}, 1}}}}, errc::invalid_value, "a.b"},
        {"a reserved label name", {{"x", "h", metric_type::gauge, {{{{"__name__", "1"}}, 1}}}}, errc::invalid_value,
         "__name__"},
        {"a label twice", {{"x", "h", metric_type::gauge, {{{{"a", "1"}, {"a", "2"}}, 1}}}}, errc::invalid_value,
         "given twice"}}),
    r) {
  auto text = format_exposition(r.families);
  BOOST_TEST_REQUIRE(!text.has_value());
  BOOST_TEST(text.error().code == r.code);
  BOOST_TEST(text.error().message.find(r.says) != std::string::npos, text.error().message);
}

// The reader is strict: what it must refuse, it refuses (else the tests
// that lean on it would pass on a broken writer).
BOOST_DATA_TEST_CASE(the_strict_reader_refuses_what_the_format_forbids,
                     bdata::make(std::vector<std::string>{
                         "# HELP a h\n# TYPE a gauge\na 1",                              // no final newline
                         "# HELP a h\n# TYPE a gauge\na{x=\"1} 1\n",                     // unterminated value
                         "# HELP a h\n# TYPE a gauge\na{x=\"\\t\"} 1\n",                 // bad escape
                         "# HELP a h\n# TYPE a gauge\na 1\na 2\n",                       // series twice
                         "# HELP a h\na 1\n# TYPE a gauge\n",                            // TYPE after samples
                         "# HELP a h\n# TYPE a gauge\n# TYPE a gauge\na 1\n",            // two TYPEs
                         "# HELP a h\n# HELP a h\n# TYPE a gauge\n",                     // two HELPs
                         "# HELP a h\n# TYPE a gauge\na 1\n# HELP b h\n# TYPE b gauge\nb 1\na{x=\"2\"} 1\n",  // two groups
                         "# HELP a h\n# TYPE a gauge\na one\n",                          // not a float
                         "# HELP a h\n# TYPE a gauge\na{1x=\"1\"} 1\n",                  // bad label name
                         "# HELP a h\n# TYPE a gauge\na{__x=\"1\"} 1\n",                 // reserved label
                         "# HELP a h\n# TYPE a counter\na 1\n",                          // counter without _total
                         "# HELP a_total h\n# TYPE a_total counter\na_total -1\n",       // negative counter
                         "# HELP a_total h\n# TYPE a_total gauge\na_total 1\n",         // gauge named *_total
                         "# TYPE a gauge\na 1\n",                                        // no HELP
                         "# HELP a h\n# TYPE a info\na 1\n",                             // unknown type
                         "# HELP a h\n# TYPE a gauge\na{x=\"1\"}1\n"}),                   // no space
                     text) {
  auto parsed = parse_prometheus_text(text);
  BOOST_TEST(!parsed.ok(), text);
}
