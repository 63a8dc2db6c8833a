// vnumactl expand, argv and plan name what vnumad does not act on (stderr),
// and fail with a --config that sets strict = true, as the daemon refuses
// such a domain.
#define BOOST_TEST_MODULE cli_unsupported_warnings
#include "cli_support.hpp"

using namespace vnumad::cli::testing;

namespace {

const std::string guest =
    "<domain type='qemu'><name>w</name><memory unit='MiB'>128</memory><vcpu>2</vcpu>"
    "<os><type arch='x86_64' machine='q35'>hvm</type></os><pm><suspend-to-mem enabled='no'/></pm>"
    "<devices><sound model='ich9'/><memballoon model='none'/></devices></domain>";

const std::string sound = "w.xml: <devices><sound model='ich9'>: not supported, ignored";
const std::string pm = "w.xml: <pm>: not supported, ignored";

}  // namespace

BOOST_AUTO_TEST_CASE(expand_argv_and_plan_print_one_warning_per_item_on_stderr) {
  temp_dir tmp;
  const fs::path file = tmp.write("w.xml", guest);
  const fs::path conf = tmp.write("vnumad.conf", "reserved_cpus = none\n");
  for (const std::string verb : {"expand", "argv", "plan"}) {
    auto r = run({verb, "--config", conf.string(), "--topology", seed_host(), file.string()});
    BOOST_TEST_CONTEXT(verb) {
      BOOST_TEST(r.code == 0, r.err);
      BOOST_TEST(contains(r.err, "vnumactl: warning: " + file.parent_path().string() + "/" + pm), r.err);
      BOOST_TEST(contains(r.err, "vnumactl: warning: " + file.parent_path().string() + "/" + sound), r.err);
      BOOST_TEST(!contains(r.out, "not supported"), r.out);  // stdout stays the result
    }
  }
  // expand still writes the ignored elements back: what you see is the file.
  auto expanded = run({"expand", "--config", conf.string(), "--topology", seed_host(), file.string()});
  BOOST_TEST(contains(expanded.out, "<sound model=\"ich9\"/>"), expanded.out);
}

BOOST_AUTO_TEST_CASE(strict_in_the_config_makes_them_errors) {
  temp_dir tmp;
  const fs::path file = tmp.write("w.xml", guest);
  const fs::path conf = tmp.write("vnumad.conf", "reserved_cpus = none\nstrict = true\n");
  for (const std::string verb : {"expand", "argv", "plan"}) {
    auto r = run({verb, "--config", conf.string(), "--topology", seed_host(), file.string()});
    BOOST_TEST_CONTEXT(verb) {
      BOOST_TEST(r.code == 2, r.err);
      BOOST_TEST(contains(r.err + r.out, "vnumad.conf has strict = true, and vnumad does not act on: <pm>: not "
                                         "supported, ignored; <devices><sound model='ich9'>: not supported, ignored"),
                 r.err << r.out);
    }
  }
  // A domain with nothing unsupported passes strict.
  const fs::path clean = tmp.write("c.xml", "<domain type='qemu'><name>c</name><memory unit='MiB'>128</memory>"
                                            "<os><type arch='x86_64' machine='q35'>hvm</type></os>"
                                            "<devices><memballoon model='none'/></devices></domain>");
  auto ok = run({"expand", "--config", conf.string(), "--topology", seed_host(), clean.string()});
  BOOST_TEST(ok.code == 0, ok.err);
  BOOST_TEST(!contains(ok.err, "warning: " + clean.string()), ok.err);
}
