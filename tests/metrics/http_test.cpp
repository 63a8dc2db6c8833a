#define BOOST_TEST_MODULE metrics_http
#include <boost/test/data/test_case.hpp>
#include <boost/test/unit_test.hpp>

#include "metrics/http.hpp"

namespace bdata = boost::unit_test::data;
using namespace vnumad::metrics;

struct request_case {
  const char* head;
  int status;
  bool body;
};
std::ostream& operator<<(std::ostream& os, const request_case& c) { return os << c.head; }

BOOST_DATA_TEST_CASE(requests_get_the_answer_http_wants,
                     bdata::make(std::vector<request_case>{
                         {"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", 200, true},
                         {"GET /metrics HTTP/1.0\r\n\r\n", 200, true},
                         {"GET /metrics?name[]=x HTTP/1.1\r\n\r\n", 200, true},
                         {"HEAD /metrics HTTP/1.1\r\n\r\n", 200, false},
                         {"GET / HTTP/1.1\r\n\r\n", 404, true},
                         {"GET /metricsx HTTP/1.1\r\n\r\n", 404, true},
                         {"POST /metrics HTTP/1.1\r\n\r\n", 405, true},
                         {"DELETE /metrics HTTP/1.1\r\n\r\n", 405, true},
                         {"GET /metrics HTTP/2.0\r\n\r\n", 505, true},
                         {"GET /metrics\r\n\r\n", 400, true},
                         {"GET  /metrics HTTP/1.1\r\n\r\n", 400, true},
                         {"GET /metrics HTTP/1.1 x\r\n\r\n", 400, true},
                         {"\r\n\r\n", 400, true},
                         {"garbage", 400, true}}),
                     c) {
  const http_answer a = answer_request(c.head, "m 1\n", "text/plain; version=0.0.4; charset=utf-8");
  BOOST_TEST(a.status == c.status);
  BOOST_TEST(wants_metrics(c.head) == (c.status == 200));
  const std::string wire = serialize(a);
  BOOST_TEST(wire.rfind("HTTP/1.1 " + std::to_string(c.status) + " " + std::string(reason_phrase(c.status)) + "\r\n", 0) == 0);
  BOOST_TEST(wire.find("\r\nConnection: close\r\n") != std::string::npos);
  const std::string body = wire.substr(wire.find("\r\n\r\n") + 4);
  // HEAD: the GET answer's headers (its length too), no body.
  BOOST_TEST(wire.find("Content-Length: " + std::to_string(a.body.size()) + "\r\n") != std::string::npos);
  BOOST_TEST(body.empty() == !c.body);
  if (c.status == 200) {
    BOOST_TEST(wire.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos);
    if (c.body) BOOST_TEST(body == "m 1\n");
  }
  if (c.status == 405) BOOST_TEST(wire.find("\r\nAllow: GET, HEAD\r\n") != std::string::npos);
}
