#define BOOST_TEST_MODULE metrics_live
// Prometheus metrics of a real vnumad with a booted TCG guest, scraped over
// its unix socket and its TCP port and read with the strict reader of the
// format (tests/support/prometheus_text.hpp); the figures are checked
// against what /proc and sysfs say, read here apart from vnumad. Also: off
// by default (no socket, no port), and the port's bounds (bad requests,
// a request too large, idle clients closed, the connection cap) while the
// control socket keeps answering.
//
// The guest locks its memory (<memoryBacking><locked/>), so QEMU faults all
// of it in at start and numa_maps' figures are exact, not what the guest
// touched so far. This machine has one node: both cells are bound to node 0,
// the same size, so numastat reports them as one row, cells "0-1".
#include "daemon_support.hpp"
#include "proc_mappings.hpp"
#include "support/prometheus_text.hpp"
#include "unix_stream.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>

using namespace vnumad;
using namespace vnumad::testing;

namespace {

constexpr std::uint64_t MiB = 1024 * 1024;

int connect_tcp(unsigned port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<std::uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    ::close(fd);
    return -1;
  }
  return fd;
}

// A port nobody listens on now (the kernel's pick, given back at once).
unsigned free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
  socklen_t len = sizeof addr;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Sends `request`, reads until the server closes (or `timeout`).
std::string exchange(int fd, const std::string& request, std::chrono::milliseconds timeout = 30s) {
  std::string out;
  if (fd < 0) return out;
  (void)!::send(fd, request.data(), request.size(), MSG_NOSIGNAL);
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  char buf[65536];
  while (std::chrono::steady_clock::now() < deadline) {
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, 200) <= 0) continue;
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0) break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  ::close(fd);
  return out;
}

struct http_reply {
  int status = 0;
  std::string head;
  std::string body;
};

http_reply parse_reply(const std::string& raw) {
  http_reply r;
  auto end = raw.find("\r\n\r\n");
  if (raw.rfind("HTTP/1.1 ", 0) != 0 || end == std::string::npos) return r;
  r.status = std::stoi(raw.substr(9, 3));
  r.head = raw.substr(0, end + 2);
  r.body = raw.substr(end + 4);
  return r;
}

const std::string get_metrics = "GET /metrics HTTP/1.1\r\nHost: localhost\r\nAccept: text/plain\r\n\r\n";

prom_parse scrape(int fd) {
  http_reply r = parse_reply(exchange(fd, get_metrics));
  BOOST_TEST_REQUIRE(r.status == 200, r.head << r.body);
  BOOST_TEST(r.head.find("Content-Type: text/plain; version=0.0.4; charset=utf-8\r\n") != std::string::npos, r.head);
  BOOST_TEST(r.head.find("Content-Length: " + std::to_string(r.body.size()) + "\r\n") != std::string::npos, r.head);
  prom_parse p = parse_prometheus_text(r.body);
  BOOST_TEST_REQUIRE(p.ok(), p.error << "\n" << r.body);
  return p;
}

// Inodes of the sockets a process has open (/proc/PID/fd -> socket:[N]).
std::set<std::string> socket_inodes(pid_t pid) {
  std::set<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator("/proc/" + std::to_string(pid) + "/fd", ec)) {
    std::string target = fs::read_symlink(e.path(), ec).string();
    if (target.rfind("socket:[", 0) == 0) out.insert(target.substr(8, target.size() - 9));
  }
  return out;
}

// TCP sockets in LISTEN (state 0A) among `inodes`, from /proc/net/tcp{,6}.
std::vector<std::string> tcp_listeners(const std::set<std::string>& inodes) {
  std::vector<std::string> out;
  for (const char* table : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::istringstream in(read_text(table));
    std::string line;
    std::getline(in, line);  // header
    while (std::getline(in, line)) {
      std::istringstream f(line);
      std::string sl, local, remote, st, queues, timer, retr, uid, timeout, inode;
      f >> sl >> local >> remote >> st >> queues >> timer >> retr >> uid >> timeout >> inode;
      if (st == "0A" && inodes.count(inode)) out.push_back(local);
    }
  }
  return out;
}

// Paths of the unix sockets in LISTEN (flags 00010000) among `inodes`.
std::vector<std::string> unix_listeners(const std::set<std::string>& inodes) {
  std::vector<std::string> out;
  std::istringstream in(read_text("/proc/net/unix"));
  std::string line;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string num, refs, proto, flags, type, st, inode, path;
    f >> num >> refs >> proto >> flags >> type >> st >> inode >> path;
    if (flags == "00010000" && inodes.count(inode)) out.push_back(path);
  }
  return out;
}

std::uint64_t node_meminfo_kb(unsigned node, const std::string& key) {
  std::istringstream in(read_text("/sys/devices/system/node/node" + std::to_string(node) + "/meminfo"));
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string n, id, k;
    std::uint64_t kb = 0;
    f >> n >> id >> k >> kb;
    if (k == key + ":") return kb;
  }
  return 0;
}

std::string locked_guest_xml(daemon_fixture& d, const guest_spec& g) {
  std::string xml = domain_xml(g, d.serial(g.name));
  const std::string memory_end = "</memory>\n";
  xml.insert(xml.find(memory_end) + memory_end.size(), "  <memoryBacking><locked/></memoryBacking>\n");
  return xml;
}

}  // namespace

BOOST_AUTO_TEST_CASE(metrics_are_off_by_default_no_socket_and_no_port) {
  daemon_fixture d;
  BOOST_TEST_REQUIRE(d.call("list").has_value());
  const auto inodes = socket_inodes(d.pid);
  BOOST_TEST(tcp_listeners(inodes).empty(), "vnumad listens on TCP without metrics_listen");
  // Its only listening unix socket is the control socket.
  BOOST_TEST((unix_listeners(inodes) == std::vector<std::string>{d.socket().string()}));
  BOOST_TEST(d.daemon_log().find("metrics:") == std::string::npos, d.daemon_log());
}

BOOST_AUTO_TEST_CASE(a_scrape_shows_the_guest_and_the_host_as_proc_and_sysfs_do) {
  const fs::path metrics_socket = "/tmp/vnumad-metrics-" + std::to_string(::getpid()) + ".sock";
  const unsigned port = free_port();
  daemon_fixture d("metrics_socket = " + metrics_socket.string() + "\nmetrics_listen = 127.0.0.1:" +
                   std::to_string(port) + "\n");
  BOOST_TEST_REQUIRE(wait_until([&] { return fs::exists(metrics_socket); }, 10s), d.daemon_log());
  BOOST_TEST(((fs::status(metrics_socket).permissions() & fs::perms::all) == fs::perms(0666)));
  const auto inodes = socket_inodes(d.pid);
  BOOST_TEST((tcp_listeners(inodes) == std::vector<std::string>{"0100007F:" + [&] {
                char hex[8];
                std::snprintf(hex, sizeof hex, "%04X", port);
                return std::string(hex);
              }()}));

  // Before any guest: the host's figures, and no guest series.
  prom_parse empty = scrape(connect_tcp(port));
  BOOST_TEST(*empty.value("vnumad_build_info", {{"version", VNUMAD_VERSION}}) == 1);
  BOOST_TEST(empty.select("vnumad_guest_state").empty());

  guest_spec spec;
  spec.name = "scraped";
  spec.vcpus = 4;
  spec.current = 2;
  spec.cells = 2;
  spec.memory_mib = "512";
  write_text(d.domain_file(spec.name), locked_guest_xml(d, spec));
  const auto view = d.wait_guest_ready(spec.name);
  BOOST_TEST_REQUIRE(d.wait_state(spec.name, "running", 30s));
  const pid_t pid = *d.guest_pid(spec.name);

  // Known requests, and two that fail: a guest that does not exist and an op
  // that no verb has.
  BOOST_TEST(!d.call("dominfo", {{"name", "nobody"}}).has_value());
  BOOST_TEST(!d.call("no-such-verb", {{"name", spec.name}}).has_value());
  std::this_thread::sleep_for(1200ms);  // past the shared figures' max age

  const auto start = std::chrono::steady_clock::now();
  prom_parse p = scrape(connect_unix_stream(metrics_socket));
  const auto took = std::chrono::steady_clock::now() - start;
  BOOST_TEST_MESSAGE("scrape over the unix socket took "
                     << std::chrono::duration_cast<std::chrono::milliseconds>(took).count() << " ms; vnumad says "
                     << *p.value("vnumad_metrics_collection_seconds") * 1000 << " ms to gather");
  const std::map<std::string, std::string> guest{{"guest", spec.name}};

  // The guest: state, vCPUs as the guest itself and QEMU's threads count them.
  BOOST_TEST(*p.value("vnumad_guest_state", {{"guest", spec.name}, {"state", "running"}}) == 1);
  BOOST_TEST(*p.value("vnumad_guest_state", {{"guest", spec.name}, {"state", "shut off"}}) == 0);
  BOOST_TEST(*p.value("vnumad_guests", {{"state", "running"}}) == 1);
  BOOST_TEST(*p.value("vnumad_guest_vcpus", guest) == 4);
  BOOST_TEST(*p.value("vnumad_guest_vcpus_online", guest) == double(view.online.size()));
  BOOST_TEST(*p.value("vnumad_guest_vcpus_online", guest) == double(vcpu_thread_dirs(pid).size()));
  BOOST_TEST(view.online.size() == 2u);

  // Its placement: two cells of 256 MiB on node 0, held in the ledger.
  for (const char* cell : {"0", "1"}) {
    BOOST_TEST(*p.value("vnumad_guest_cell_memory_bytes", {{"guest", spec.name}, {"cell", cell}, {"node", "0"}}) ==
               double(256 * MiB));
    BOOST_TEST(*p.value("vnumad_guest_cell_vcpus", {{"guest", spec.name}, {"cell", cell}, {"node", "0"}}) == 2);
  }
  BOOST_TEST(*p.value("vnumad_guest_memory_held_bytes", {{"guest", spec.name}, {"node", "0"}}) == double(512 * MiB));

  // numastat's check against numa_maps read here: the two 256 MiB RAM
  // mappings, fully resident (locked), on node 0.
  std::uint64_t ram_bytes = 0;
  unsigned ram_mappings = 0;
  for (const auto& [start_address, m] : read_mappings(pid)) {
    if (m.perms != "rw-p" || m.size != 256 * MiB) continue;
    ++ram_mappings;
    ram_bytes += m.bytes.count(0) ? m.bytes.at(0) : 0;
    BOOST_TEST(total_of(m.bytes) == m.bytes.at(0), "a RAM page off node 0");
  }
  BOOST_TEST_REQUIRE(ram_mappings == 2u);
  BOOST_TEST(ram_bytes == 512 * MiB);
  BOOST_TEST(*p.value("vnumad_guest_memory_resident_bytes", {{"guest", spec.name}, {"cell", "0-1"}, {"node", "0"}}) ==
             double(ram_bytes));
  BOOST_TEST(*p.value("vnumad_guest_memory_backend_bytes", {{"guest", spec.name}, {"cell", "0-1"}, {"bound_nodes", "0"}}) ==
             double(512 * MiB));
  BOOST_TEST(*p.value("vnumad_guest_memory_off_node_bytes", {{"guest", spec.name}, {"cell", "0-1"}}) == 0);
  BOOST_TEST(*p.value("vnumad_guest_memory_on_bound_nodes_ratio", guest) == 1);
  BOOST_TEST(*p.value("vnumad_guest_memory_unmatched_backends", guest) == 0);
  BOOST_TEST(*p.value("vnumad_guest_qemu_memory_resident_bytes", {{"guest", spec.name}, {"node", "0"}}) > 0);
  BOOST_TEST(*p.value("vnumad_guest_restarts_total", guest) == 0);

  // The node: MemTotal as sysfs says, the ledger holding the guest's memory
  // out of capacity minus the reserve (1 GiB, the default).
  const double memtotal = double(node_meminfo_kb(0, "MemTotal") * 1024);
  BOOST_TEST(memtotal > 0);
  BOOST_TEST(*p.value("vnumad_node_memory_total_bytes", {{"node", "0"}}) == memtotal);
  BOOST_TEST(*p.value("vnumad_node_memory_reserved_bytes", {{"node", "0"}}) == double(1024 * MiB));
  BOOST_TEST(*p.value("vnumad_node_memory_held_bytes", {{"node", "0"}}) == double(512 * MiB));
  BOOST_TEST(*p.value("vnumad_node_memory_free_bytes", {{"node", "0"}}) ==
             *p.value("vnumad_node_memory_capacity_bytes", {{"node", "0"}}) - double(512 * MiB));
  BOOST_TEST(*p.value("vnumad_node_cpus", {{"node", "0"}}) == double(std::thread::hardware_concurrency()));
  BOOST_TEST(*p.value("vnumad_node_cpus_dedicated", {{"node", "0"}}) == 0);  // contiguous: shared pinning
  // Huge pages, every size sysfs has, as it has them.
  unsigned sizes = 0;
  for (const auto& e : fs::directory_iterator("/sys/devices/system/node/node0/hugepages")) {
    const std::string dir = e.path().filename().string();  // hugepages-2048kB
    const std::string bytes = std::to_string(std::stoull(dir.substr(10)) * 1024);
    const std::map<std::string, std::string> size{{"node", "0"}, {"page_size_bytes", bytes}};
    BOOST_TEST(*p.value("vnumad_node_hugepages_pool", size) == std::stod(read_text(e.path() / "nr_hugepages")));
    BOOST_TEST(*p.value("vnumad_node_hugepages_free", size) == std::stod(read_text(e.path() / "free_hugepages")));
    ++sizes;
  }
  BOOST_TEST(p.select("vnumad_node_hugepages_pool").size() == sizes);

  // The daemon's own counters: the failures exactly once each.
  BOOST_TEST(*p.value("vnumad_control_requests_total", {{"verb", "dominfo"}, {"code", "not_found"}}) == 1);
  double unknown = 0;
  for (const auto& s : p.select("vnumad_control_requests_total", {{"verb", "unknown"}})) unknown += s.value;
  BOOST_TEST(unknown == 1);
  BOOST_TEST(p.select("vnumad_control_requests_total", {{"verb", "no-such-verb"}}).empty());
  BOOST_TEST(*p.value("vnumad_control_requests_total", {{"verb", "dominfo"}, {"code", "ok"}}) >= 1);

  // The TCP port serves the same figures (within max_age, the same scrape).
  prom_parse t = scrape(connect_tcp(port));
  BOOST_TEST(*t.value("vnumad_guest_memory_resident_bytes", {{"guest", spec.name}, {"cell", "0-1"}, {"node", "0"}}) ==
             double(ram_bytes));

  // vCPU hotplug and a restart show on the next scrape.
  BOOST_TEST_REQUIRE(d.call("setvcpus", {{"name", spec.name}, {"count", 4}}, 60s).has_value());
  BOOST_TEST_REQUIRE(d.call("restart", {{"name", spec.name}}, 120s).has_value(), d.daemon_log());
  BOOST_TEST_REQUIRE(d.wait_state(spec.name, "running", 60s));
  std::this_thread::sleep_for(1200ms);
  prom_parse after = scrape(connect_tcp(port));
  BOOST_TEST(*after.value("vnumad_guest_restarts_total", guest) == 1);
  BOOST_TEST(*after.value("vnumad_control_requests_total", {{"verb", "restart"}, {"code", "ok"}}) == 1);
  BOOST_TEST(*after.value("vnumad_control_requests_total", {{"verb", "setvcpus"}, {"code", "ok"}}) == 1);
  const pid_t new_pid = *d.guest_pid(spec.name);
  BOOST_TEST(*after.value("vnumad_guest_vcpus_online", guest) == double(vcpu_thread_dirs(new_pid).size()));
}

BOOST_AUTO_TEST_CASE(the_port_is_bounded_and_the_control_socket_keeps_answering) {
  const unsigned port = free_port();
  daemon_fixture d("metrics_listen = 127.0.0.1:" + std::to_string(port) + "\n");
  BOOST_TEST_REQUIRE(wait_until(
      [&] {
        int fd = connect_tcp(port);
        if (fd >= 0) ::close(fd);  // at once: a silent client would hold a slot for 10 s
        return fd >= 0;
      },
      10s));

  auto status_of = [&](const std::string& request) { return parse_reply(exchange(connect_tcp(port), request)).status; };
  BOOST_TEST(status_of("POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n") == 405);
  BOOST_TEST(status_of("GET /admin HTTP/1.1\r\n\r\n") == 404);
  BOOST_TEST(status_of("GET /metrics HTTP/2.0\r\n\r\n") == 505);
  BOOST_TEST(status_of("hello\r\n\r\n") == 400);
  BOOST_TEST(status_of("GET /metrics HTTP/1.1\r\nX-Big: " + std::string(9000, 'a') + "\r\n\r\n") == 431);
  http_reply head = parse_reply(exchange(connect_tcp(port), "HEAD /metrics HTTP/1.1\r\n\r\n"));
  BOOST_TEST(head.status == 200);
  BOOST_TEST(head.body.empty());

  // 16 clients that send nothing fill the port; the 17th waits in the
  // backlog, the control socket answers meanwhile, and the silent ones are
  // closed after 10 s, when the waiting scrape is served.
  std::vector<int> silent;
  for (int i = 0; i < 16; ++i) silent.push_back(connect_tcp(port));
  std::this_thread::sleep_for(300ms);
  const auto began = std::chrono::steady_clock::now();
  int waiting = connect_tcp(port);
  BOOST_TEST_REQUIRE(waiting >= 0);
  (void)!::send(waiting, get_metrics.data(), get_metrics.size(), MSG_NOSIGNAL);
  const auto list_began = std::chrono::steady_clock::now();
  BOOST_TEST(d.call("list", {}, 5s).has_value());
  BOOST_TEST((std::chrono::steady_clock::now() - list_began < 2s));
  http_reply served = parse_reply(exchange(waiting, "", 30s));
  const auto waited = std::chrono::steady_clock::now() - began;
  BOOST_TEST(served.status == 200);
  BOOST_TEST(parse_prometheus_text(served.body).ok());
  BOOST_TEST_MESSAGE("the 17th scrape waited " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
                                               << " ms for a slot");
  BOOST_TEST((waited > 8s));
  BOOST_TEST((waited < 20s));
  // The silent ones were closed by the server (EOF, after the timeout).
  for (int fd : silent) {
    char c;
    pollfd pfd{fd, POLLIN, 0};
    BOOST_TEST(::poll(&pfd, 1, 1000) == 1);
    BOOST_TEST(::recv(fd, &c, 1, 0) <= 0);
    ::close(fd);
  }
}
