#define BOOST_TEST_MODULE cli_plan
#include <boost/test/unit_test.hpp>

#include "cli_support.hpp"
#include "config/cpuset.hpp"
#include "vnuma/topology_loader.hpp"

#include <boost/json.hpp>

#include <map>

// `vnumactl plan`: guests placed in order into one ledger. The checks follow
// the ledger through the output: what each guest holds, and what is left
// free, computed here from the host fixture and the guests' own reports.

namespace json = boost::json;
using namespace vnumad;
using namespace vnumad::cli::testing;

namespace {

constexpr std::uint64_t GiB = std::uint64_t{1} << 30;

std::vector<std::string> seed_guests() {
  return {domain_file("seed-vnuma-host.xml").string(), domain_file("seed-vnuma-siblings.xml").string(),
          domain_file("seed-vnuma-node1.xml").string()};
}

json::object plan_json(const std::string& host, const std::vector<std::string>& files, int expected_code = 0,
                       const std::vector<std::string>& extra = {}) {
  std::vector<std::string> args{"plan", "--json", "--topology", host};
  args.insert(args.end(), extra.begin(), extra.end());
  args.insert(args.end(), files.begin(), files.end());
  auto r = run(args);
  BOOST_TEST_REQUIRE(r.code == expected_code, "exit " << r.code << "\n" << r.err << r.out);
  json::value v = json::parse(r.out);
  BOOST_TEST_REQUIRE(v.is_object());
  BOOST_TEST_REQUIRE(v.as_object().at("guests").as_array().size() == files.size());
  return v.as_object();
}

// A guest written from parts, into `dir`.
fs::path guest(const temp_dir& dir, const std::string& name, unsigned gib, unsigned vcpus, const std::string& vnuma) {
  return dir.write(name + ".xml", "<domain type='kvm'>\n  <name>" + name + "</name>\n  <memory unit='GiB'>" +
                                      std::to_string(gib) + "</memory>\n  <vcpu placement='static'>" +
                                      std::to_string(vcpus) + "</vcpu>\n  " + vnuma +
                                      "\n  <os>\n    <type arch='x86_64' machine='q35'>hvm</type>\n  </os>\n"
                                      "  <devices>\n    <emulator>/usr/bin/qemu-system-x86_64</emulator>\n"
                                      "  </devices>\n</domain>\n");
}

// Copies of seed-vnuma-node1.xml under other names (one name = one guest).
std::vector<std::string> node1_copies(const temp_dir& dir, unsigned count) {
  const std::string text = read_file(domain_file("seed-vnuma-node1.xml"));
  const std::string original = "<name>OL8-vnuma-node1</name>";
  BOOST_TEST_REQUIRE(contains(text, original));
  std::vector<std::string> files;
  for (unsigned i = 0; i < count; ++i) {
    std::string copy = text;
    const std::string name = "node1-" + std::to_string(i);
    copy.replace(copy.find(original), original.size(), "<name>" + name + "</name>");
    files.push_back(dir.write(name + ".xml", copy).string());
  }
  return files;
}

std::vector<unsigned> host_nodes_of(const json::object& g) {
  std::vector<unsigned> nodes;
  for (const auto& c : g.at("cells").as_array()) nodes.push_back(static_cast<unsigned>(c.at("host_node").to_number<std::int64_t>()));
  return nodes;
}

// The "free" array checked against the host fixture minus the reserve minus
// what the guests report holding: memory per node and dedicated threads per node.
void check_free_matches_guests(const json::object& plan, const vnuma::host_topology& host,
                               std::uint64_t reserved = GiB) {
  std::map<unsigned, std::uint64_t> held;
  std::map<unsigned, std::size_t> dedicated;
  for (const auto& gv : plan.at("guests").as_array()) {
    const auto& g = gv.as_object();
    if (!g.at("fits").as_bool()) continue;
    for (const auto& m : g.at("memory_per_node").as_array())
      held[static_cast<unsigned>(m.at("node").to_number<std::int64_t>())] += m.at("bytes").to_number<std::uint64_t>();
    const std::string text(g.at("dedicated_cpus").as_string());
    if (text.empty()) continue;
    auto cpus = config::parse_id_set(text);
    BOOST_TEST_REQUIRE(cpus.has_value());
    for (unsigned cpu : *cpus) dedicated[host.node_of_cpu(cpu).value()] += 1;
  }
  const auto& free = plan.at("free").as_array();
  BOOST_TEST_REQUIRE(free.size() == host.nodes.size());
  for (const auto& fv : free) {
    const auto& f = fv.as_object();
    const unsigned id = static_cast<unsigned>(f.at("node").to_number<std::int64_t>());
    const vnuma::host_node* node = host.find_node(id);
    BOOST_TEST_REQUIRE(node != nullptr);
    BOOST_TEST(f.at("memory_free_bytes").to_number<std::uint64_t>() == node->memory_bytes - reserved - held[id],
               "node " << id);
    BOOST_TEST(f.at("memory_reserved_bytes").to_number<std::uint64_t>() == reserved, "node " << id);
    BOOST_TEST(f.at("dedicated_held").to_number<std::size_t>() == dedicated[id], "node " << id);
    BOOST_TEST(f.at("cpus").to_number<std::size_t>() == node->cpus.size(), "node " << id);
  }
}

vnuma::host_topology load(const std::string& name) {
  auto host = vnuma::load_topology_xml(host_file(name));
  BOOST_TEST_REQUIRE(host.has_value(), (host ? "" : host.error().message));
  return std::move(*host);
}

}  // namespace

BOOST_AUTO_TEST_CASE(seed_guests_fit_text) {
  std::vector<std::string> args{"plan", "--topology", seed_host()};
  for (const auto& f : seed_guests()) args.push_back(f);
  auto r = run(args);
  BOOST_TEST_REQUIRE(r.code == 0, r.err);
  BOOST_TEST(r.err.empty(), r.err);
  BOOST_TEST(contains(r.out, "guest 'OL8-vnuma' (" + seed_guests()[0] + "): fits\n"), r.out);
  BOOST_TEST(contains(r.out, "  cell 3 -> host node 3: vCPUs 12-15, 8 GiB\n"), r.out);
  BOOST_TEST(contains(r.out, "  dedicated threads: none (shared pinning)\n"), r.out);
  // Spec section 3's siblings list, as held threads.
  BOOST_TEST(contains(r.out, "  dedicated threads: 1-2,16-17,31-32,46-47,61-62,76-77,91-92,106-107\n"), r.out);
  BOOST_TEST(contains(r.out, "guest 'OL8-vnuma-node1' (" + seed_guests()[2] + "): fits\n  cell 0 -> host node 1: vCPUs 0-15, 32 GiB\n"),
             r.out);
  // 128 GiB per node, 1 GiB of it reserved; 8 + 8 GiB everywhere, plus 32 GiB on node 1.
  BOOST_TEST(contains(r.out, "left free:\n  node 0: 111 GiB memory, 26 of 30 CPUs not held dedicated"), r.out);
  BOOST_TEST(contains(r.out, "\n  node 1: 79 GiB memory, 26 of 30 CPUs not held dedicated"), r.out);
}

BOOST_AUTO_TEST_CASE(seed_guests_json_free_memory_decreases_guest_by_guest) {
  const auto host = load("seed-e7-8895v2-4s.xml");
  const auto files = seed_guests();
  std::uint64_t previous_total = 0;
  for (const auto& n : host.nodes) previous_total += n.memory_bytes - GiB;
  for (std::size_t count = 1; count <= files.size(); ++count) {
    auto plan = plan_json(seed_host(), std::vector<std::string>(files.begin(), files.begin() + count));
    for (const auto& gv : plan.at("guests").as_array()) {
      const auto& g = gv.as_object();
      BOOST_TEST(g.at("fits").as_bool(), g.at("name"));
      BOOST_TEST(g.at("decision_us").to_number<double>() > 0.0, g.at("name"));
      BOOST_TEST(g.at("warnings").as_array().empty(), g.at("name"));
    }
    check_free_matches_guests(plan, host);
    // Each added guest takes exactly its 32 GiB out of the total.
    std::uint64_t total = 0;
    for (const auto& f : plan.at("free").as_array()) total += f.at("memory_free_bytes").to_number<std::uint64_t>();
    BOOST_TEST(total == previous_total - 32 * GiB, "after " << count << " guests");
    previous_total = total;
  }
  auto plan = plan_json(seed_host(), files);
  const auto& guests = plan.at("guests").as_array();
  BOOST_TEST(host_nodes_of(guests[0].as_object()) == (std::vector<unsigned>{0, 1, 2, 3}), boost::test_tools::per_element());
  BOOST_TEST(host_nodes_of(guests[2].as_object()) == (std::vector<unsigned>{1}), boost::test_tools::per_element());
  BOOST_TEST(std::string(guests[1].at("dedicated_cpus").as_string()) == "1-2,16-17,31-32,46-47,61-62,76-77,91-92,106-107");
  BOOST_TEST(std::string(guests[0].at("dedicated_cpus").as_string()).empty());
}

BOOST_AUTO_TEST_CASE(fifth_guest_on_node_1_does_not_fit_without_a_reserve) {
  // Node 1 has 128 GiB: with --reserved-memory 0, four 32 GiB guests fill it,
  // the fifth is refused naming node 1; the four before it stay placed.
  temp_dir tmp;
  auto files = node1_copies(tmp, 5);
  std::vector<std::string> args{"plan", "--topology", seed_host(), "--reserved-memory", "0"};
  args.insert(args.end(), files.begin(), files.end());
  auto r = run(args);
  BOOST_TEST(r.code == 2);
  for (unsigned i = 0; i < 4; ++i) BOOST_TEST(contains(r.out, "guest 'node1-" + std::to_string(i) + "' (" + files[i] + "): fits\n"), r.out);
  const std::string refusal = "guest 'node1-4' (" + files[4] +
                              "): does not fit: node 1 has 0 B free, guest 'node1-4' needs 32 GiB for cell 0";
  BOOST_TEST(contains(r.out, refusal), r.out);
  // Explained once: the report has the reason, stderr only names the guest.
  BOOST_TEST(!contains(r.err, "0 B free"), r.err);
  BOOST_TEST(contains(r.err, "vnumactl: not placed: node1-4 (1 of 5 guests; the report says why)"), r.err);
  BOOST_TEST(contains(r.out, "\n  node 1: 0 B memory"), r.out);
  BOOST_TEST(contains(r.out, "\n  node 0: 128 GiB memory"), r.out);

  auto plan = plan_json(seed_host(), files, 2, {"--reserved-memory", "0"});
  const auto& guests = plan.at("guests").as_array();
  for (unsigned i = 0; i < 4; ++i) BOOST_TEST(guests[i].at("fits").as_bool(), i);
  BOOST_TEST(!guests[4].at("fits").as_bool());
  BOOST_TEST(!guests[4].at("invalid").as_bool());
  BOOST_TEST(contains(std::string(guests[4].at("error").as_string()), "node 1 has 0 B free"));
  check_free_matches_guests(plan, load("seed-e7-8895v2-4s.xml"), 0);
}

BOOST_AUTO_TEST_CASE(the_reserve_is_kept_from_guests) {
  // The default reserved_memory (1 GiB) leaves 127 GiB on node 1: the fourth
  // 32 GiB guest no longer fits there.
  temp_dir tmp;
  auto files = node1_copies(tmp, 4);
  std::vector<std::string> args{"plan", "--topology", seed_host()};
  args.insert(args.end(), files.begin(), files.end());
  auto r = run(args);
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.out, "guest 'node1-3' (" + files[3] +
                                 "): does not fit: node 1 has 31 GiB free, guest 'node1-3' needs 32 GiB for cell 0"),
             r.out);
  BOOST_TEST(contains(r.out, "\n  node 0: 127 GiB memory"), r.out);
  check_free_matches_guests(plan_json(seed_host(), files, 2), load("seed-e7-8895v2-4s.xml"));

  // Per node, from the command line or from a vnumad.conf.
  auto per_node = plan_json(seed_host(), {files[0]}, 0, {"--reserved-memory", "2GiB 1=4GiB"});
  for (const auto& fv : per_node.at("free").as_array()) {
    const auto node = fv.at("node").to_number<std::int64_t>();
    BOOST_TEST(fv.at("memory_reserved_bytes").to_number<std::uint64_t>() == (node == 1 ? 4 : 2) * GiB, node);
  }
  const auto conf = tmp.write("vnumad.conf", "reserved_memory = 16GiB\n");
  auto from_conf = plan_json(seed_host(), {files[0]}, 0, {"--config", conf.string()});
  BOOST_TEST(from_conf.at("free").as_array()[1].at("memory_free_bytes").to_number<std::uint64_t>() == 80 * GiB);
  // The command line wins over the file, as it does for reserved_cpus.
  auto both = plan_json(seed_host(), {files[0]}, 0, {"--config", conf.string(), "--reserved-memory", "0"});
  BOOST_TEST(both.at("free").as_array()[1].at("memory_free_bytes").to_number<std::uint64_t>() == 96 * GiB);

  auto bad = run({"plan", "--topology", seed_host(), "--reserved-memory", "9=1GiB", files[0]});
  BOOST_TEST(bad.code == 2);
  BOOST_TEST(contains(bad.err, "reserved_memory names nodes 9 that this host does not have"), bad.err);
}

BOOST_AUTO_TEST_CASE(one_name_twice_is_invalid_input) {
  const std::string file = domain_file("seed-vnuma-node1.xml").string();
  auto r = run({"plan", "--topology", seed_host(), file, file});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.out, "invalid domain: the ledger already holds guest 'OL8-vnuma-node1'"), r.out);
  BOOST_TEST(contains(r.out, "\n  node 1: 95 GiB memory"), r.out);  // counted once (128 - 1 reserved - 32)
}

BOOST_AUTO_TEST_CASE(several_guests_on_big_16n) {
  // 16 nodes x 8 cores x 2 threads, 64 GiB each, reserved = first core of each
  // node: 14 threads per node for dedicated pinning.
  temp_dir tmp;
  std::vector<std::string> files = {
      guest(tmp, "web", 64, 32, "<vnuma mode='host'/>").string(),
      guest(tmp, "db1", 32, 28, "<vnuma mode='node' distribution='siblings'><partition cells='2'/></vnuma>").string(),
      guest(tmp, "db2", 32, 28, "<vnuma mode='node' distribution='siblings'><partition cells='2'/></vnuma>").string(),
      guest(tmp, "small", 2, 2, "<vnuma mode='node'><partition nodeset='0'/></vnuma>").string(),
  };
  const std::string big = host_file("big-16n.xml").string();
  const auto host = load("big-16n.xml");
  auto plan = plan_json(big, files);
  const auto& guests = plan.at("guests").as_array();
  for (const auto& g : guests) {
    BOOST_TEST(g.at("fits").as_bool(), g.at("name"));
    BOOST_TEST(g.at("decision_us").to_number<double>() > 0.0, g.at("name"));
  }
  BOOST_TEST(guests[0].at("cells").as_array().size() == 16u);
  // db1 takes the block rule's nodes 0 and 1 (all 14 free threads of each);
  // db2 no longer fits there, so node choice takes the next pair with room
  // and the smallest distance: 2 and 3 (one socket, distance 16).
  BOOST_TEST(host_nodes_of(guests[1].as_object()) == (std::vector<unsigned>{0, 1}), boost::test_tools::per_element());
  BOOST_TEST(host_nodes_of(guests[2].as_object()) == (std::vector<unsigned>{2, 3}), boost::test_tools::per_element());
  // small shares node 0 on the two CPUs nobody holds dedicated (reserved 0,128).
  BOOST_TEST(host_nodes_of(guests[3].as_object()) == (std::vector<unsigned>{0}), boost::test_tools::per_element());
  check_free_matches_guests(plan, host);
  for (const auto& f : plan.at("free").as_array()) {
    const auto node = f.at("node").to_number<std::int64_t>();
    BOOST_TEST(f.at("dedicated_held").to_number<std::int64_t>() == (node < 4 ? 14 : 0), "node " << node);
  }

  // A fifth guest wanting dedicated threads on every node no longer fits,
  // and the refusal names the first node without any.
  files.push_back(guest(tmp, "wide", 16, 32, "<vnuma mode='host' distribution='siblings'/>").string());
  auto r = run({"plan", "--topology", big, files[0], files[1], files[2], files[3], files[4]});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.out, "guest 'wide' (" + files[4] + "): does not fit: node 0 has 0 free threads for dedicated pinning"),
             r.out);
}

BOOST_AUTO_TEST_CASE(a_no_fit_names_how_many_nodes_qualify_and_what_the_others_lack) {
  // big-16n: 16 nodes of 8 cores x 2 threads, core 0 of each reserved. Eight
  // guests take all 14 free threads of nodes 8-15, one node each. A 12-cell
  // siblings guest over nodeset 0-15 needs 12 nodes with 2 free cores each:
  // only nodes 0-7 have them.
  temp_dir tmp;
  const std::string big = host_file("big-16n.xml").string();
  std::vector<std::string> args{"plan", "--topology", big};
  for (unsigned n = 8; n < 16; ++n)
    args.push_back(guest(tmp, "fill" + std::to_string(n), 8, 14,
                         "<vnuma mode='node' distribution='siblings'><partition nodeset='" + std::to_string(n) +
                             "' cells='1'/></vnuma>")
                       .string());
  args.push_back(
      guest(tmp, "wide", 48, 48, "<vnuma mode='node' distribution='siblings'><partition nodeset='0-15' cells='12'/></vnuma>")
          .string());
  auto r = run(args);
  BOOST_TEST(r.code == 2);
  const std::string why =
      "): does not fit: guest 'wide' needs 12 nodes with room for one cell each (4 dedicated threads, whole free "
      "cores of 2 threads, 4 GiB), but only 8 of its 16 candidate nodes qualify (0-7): too few free dedicated "
      "threads: nodes 8-15 have 0 (4 needed)";
  BOOST_TEST(contains(r.out, "guest 'wide' (" + args.back() + why), r.out);
  BOOST_TEST(!contains(r.err, "candidate nodes"), r.err);
  BOOST_TEST(contains(r.err, "vnumactl: not placed: wide (1 of 9 guests"), r.err);

  // With room on 12 nodes (4 fill guests only) the same guest fits.
  std::vector<std::string> fewer(args.begin(), args.begin() + 3);
  fewer.insert(fewer.end(), args.begin() + 3, args.begin() + 7);
  fewer.push_back(args.back());
  auto ok = run(fewer);
  BOOST_TEST(ok.code == 0, ok.out << ok.err);
}

BOOST_AUTO_TEST_CASE(help_and_usage) {
  auto help = run({"plan", "--help"});
  BOOST_TEST(help.code == 0);
  BOOST_TEST(contains(help.out, "decision_us"), help.out);
  BOOST_TEST(contains(help.out, "\n  vnumactl plan --topology big-16n.xml"), help.out);
  auto none = run({"plan", "--topology", seed_host()});
  BOOST_TEST(none.code == 2);
  BOOST_TEST(contains(none.err, "Usage: vnumactl plan"), none.err);
}

BOOST_AUTO_TEST_CASE(a_missing_file_is_invalid_and_others_still_plan) {
  temp_dir tmp;
  const std::string missing = (tmp.path() / "gone.xml").string();
  auto r = run({"plan", "--topology", seed_host(), missing, domain_file("seed-vnuma-host.xml").string()});
  BOOST_TEST(r.code == 2);
  BOOST_TEST(contains(r.out, "invalid domain: domain file " + missing + ": no such file"), r.out);
  BOOST_TEST(contains(r.out, "guest 'OL8-vnuma' ("), r.out);
  BOOST_TEST(contains(r.out, "\n  node 0: 119 GiB memory"), r.out);  // 128 - 1 reserved - 8
}
