// Just enough HTTP/1.x for a scrape (RFC 9112): the request head a
// Prometheus server sends, and one answer, after which the connection is
// closed. Pure: the server (reactor/metrics_server.hpp) does the I/O.
#pragma once

#include <string>
#include <string_view>

namespace vnumad::metrics {

struct http_answer {
  int status = 200;
  std::string content_type;
  std::string body;
  bool head_only = false;  // HEAD: the headers of the GET answer, no body
};

// What to answer to a request head (everything up to and including the
// blank line): GET or HEAD of /metrics (a query string is ignored) gets
// `metrics_body` with `metrics_type`; another path 404, another method 405,
// a head that is not HTTP/1.0 or 1.1, or not a request line, 400 or 505.
http_answer answer_request(std::string_view head, const std::string& metrics_body, std::string_view metrics_type);

// The first line of the head alone: is it GET/HEAD of /metrics? (So that
// the server gathers figures only for a request that will get them.)
bool wants_metrics(std::string_view head);

// An error answer with a one-line plain text body.
http_answer error_answer(int status, std::string_view message);

// Status line, Content-Type, Content-Length, Connection: close, the body.
std::string serialize(const http_answer& a);

std::string_view reason_phrase(int status);

}  // namespace vnumad::metrics
