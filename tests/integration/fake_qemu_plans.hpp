// The stand-in for QEMU of the fault and start-up tests (fake_qemu.cpp: it
// relays QMP to the real QEMU and fires one planned fault) and its plans: a
// root-only temp dir named by VNUMAD_FAKE_QEMU_PLAN_DIR, which a vnumad
// started afterwards, and so each relay it spawns, inherits.
#pragma once

#include "support/files_and_processes.hpp"

#include <boost/test/unit_test.hpp>

#include <stdlib.h>

#include <filesystem>
#include <string>
#include <system_error>

namespace vnumad::testing {

inline const std::filesystem::path fake_qemu_binary =
    std::filesystem::path(VNUMAD_BINARY_DIR) / "fake-qemu" / "qemu-system-x86_64";

class fake_qemu_plans {
 public:
  fake_qemu_plans() {
    char tmpl[] = "/tmp/vnumad-plans-XXXXXX";
    BOOST_TEST_REQUIRE(::mkdtemp(tmpl) != nullptr);
    plan_dir = tmpl;
    ::setenv("VNUMAD_FAKE_QEMU_PLAN_DIR", plan_dir.c_str(), 1);
  }
  ~fake_qemu_plans() {
    ::unsetenv("VNUMAD_FAKE_QEMU_PLAN_DIR");
    std::error_code ec;
    std::filesystem::remove_all(plan_dir, ec);
  }
  fake_qemu_plans(const fake_qemu_plans&) = delete;
  fake_qemu_plans& operator=(const fake_qemu_plans&) = delete;

  // The guest's relay fires `fault` ("kill-at device_add", "delay-greeting 4").
  void plan(const std::string& guest, const std::string& fault) { write_text(plan_dir / guest, fault + "\n"); }
  void clear_plan(const std::string& guest) { std::filesystem::remove(plan_dir / guest); }
  // The relay wrote "<guest>.reached": the fault hit the step it names.
  bool reached(const std::string& guest) const { return std::filesystem::exists(plan_dir / (guest + ".reached")); }

  std::filesystem::path plan_dir;
};

}  // namespace vnumad::testing
