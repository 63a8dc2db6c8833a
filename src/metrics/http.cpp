#include "metrics/http.hpp"

namespace vnumad::metrics {

namespace {

struct request_line {
  std::string_view method, target, version;
  bool ok = false;
};

// METHOD SP TARGET SP HTTP/x.y CRLF, nothing else on the line.
request_line parse_request_line(std::string_view head) {
  request_line r;
  const auto end = head.find("\r\n");
  if (end == std::string_view::npos) return r;
  const std::string_view line = head.substr(0, end);
  const auto sp1 = line.find(' ');
  const auto sp2 = sp1 == std::string_view::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string_view::npos || line.find(' ', sp2 + 1) != std::string_view::npos) return r;
  r.method = line.substr(0, sp1);
  r.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  r.version = line.substr(sp2 + 1);
  r.ok = !r.method.empty() && !r.target.empty() && r.version.substr(0, 5) == "HTTP/";
  return r;
}

std::string_view path_of(std::string_view target) { return target.substr(0, target.find('?')); }

}  // namespace

std::string_view reason_phrase(int status) {
  switch (status) {
    case 200: return "OK";
    case 400: return "Bad Request";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
  }
  return "Unknown";
}

http_answer error_answer(int status, std::string_view message) {
  return http_answer{status, "text/plain; charset=utf-8", std::string(message) + "\n", false};
}

http_answer answer_request(std::string_view head, const std::string& metrics_body, std::string_view metrics_type) {
  const request_line r = parse_request_line(head);
  if (!r.ok) return error_answer(400, "not an HTTP request line");
  if (r.version != "HTTP/1.1" && r.version != "HTTP/1.0")
    return error_answer(505, "only HTTP/1.0 and HTTP/1.1, not " + std::string(r.version));
  if (r.method != "GET" && r.method != "HEAD")
    return error_answer(405, std::string(r.method) + " is not served here: only GET and HEAD of /metrics");
  if (path_of(r.target) != "/metrics") return error_answer(404, "only /metrics is served here");
  return http_answer{200, std::string(metrics_type), metrics_body, r.method == "HEAD"};
}

bool wants_metrics(std::string_view head) { return answer_request(head, {}, {}).status == 200; }

std::string serialize(const http_answer& a) {
  std::string out = "HTTP/1.1 " + std::to_string(a.status) + " " + std::string(reason_phrase(a.status)) + "\r\n";
  if (a.status == 405) out += "Allow: GET, HEAD\r\n";
  out += "Content-Type: " + a.content_type + "\r\n";
  out += "Content-Length: " + std::to_string(a.body.size()) + "\r\n";
  out += "Connection: close\r\n\r\n";
  if (!a.head_only) out += a.body;
  return out;
}

}  // namespace vnumad::metrics
