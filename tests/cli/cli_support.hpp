// Helpers for the vnumactl tests: run the program in-process (the same
// run_vnumactl main() calls) with captured streams, fixture paths, a private
// temporary directory, and libvirt's own schema validator.
#pragma once

#include "cli/commands.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace vnumad::cli::testing {

namespace fs = std::filesystem;

inline fs::path shared_dir() { return VNUMAD_REFERENCE_DIR; }
inline fs::path host_file(const std::string& name) { return shared_dir() / "fixtures/hosts" / name; }
inline fs::path domain_file(const std::string& name) { return shared_dir() / "fixtures/domains" / name; }
inline fs::path hostile_dir() { return fs::path(VNUMAD_TEST_DATA_DIR) / "hostile"; }
inline std::string seed_host() { return host_file("seed-e7-8895v2-4s.xml").string(); }

struct run_result {
  int code = -1;
  std::string out;
  std::string err;
};

// `vnumactl ARGS...`: argv[0] is added here.
inline run_result run(std::vector<std::string> args) {
  args.insert(args.begin(), "vnumactl");
  std::ostringstream out, err;
  run_result r;
  r.code = run_vnumactl(args, cli_io{out, err});
  r.out = out.str();
  r.err = err.str();
  return r;
}

inline bool contains(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

inline std::vector<std::string> lines_of(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  return lines;
}

inline std::string read_file(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// A fresh directory under the system temp dir, removed with its contents.
class temp_dir {
 public:
  temp_dir() {
    std::string pattern = (fs::temp_directory_path() / "vnumad-clitest-XXXXXX").string();
    BOOST_TEST_REQUIRE(::mkdtemp(pattern.data()) != nullptr);
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const fs::path& path() const { return path_; }
  fs::path write(const std::string& name, const std::string& text) const {
    fs::path file = path_ / name;
    std::ofstream(file, std::ios::binary) << text;
    return file;
  }

 private:
  fs::path path_;
};

struct command_result {
  int status = -1;  // exit status, -1 when it did not exit normally
  std::string output;  // stdout and stderr
};

// Runs a shell command line made by the test (paths from temp_dir only).
inline command_result run_command(const std::string& command_line) {
  command_result r;
  FILE* pipe = ::popen((command_line + " 2>&1").c_str(), "r");
  BOOST_TEST_REQUIRE(pipe != nullptr, "cannot run " << command_line);
  std::array<char, 4096> buffer{};
  for (std::size_t n; (n = std::fread(buffer.data(), 1, buffer.size(), pipe)) > 0;) r.output.append(buffer.data(), n);
  int status = ::pclose(pipe);
  r.status = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

// libvirt's schema check (Debian package libvirt-clients), as the spec asks:
// `virt-xml-validate FILE domain`.
inline command_result virt_xml_validate(const fs::path& file) {
  return run_command("virt-xml-validate '" + file.string() + "' domain");
}

}  // namespace vnumad::cli::testing
