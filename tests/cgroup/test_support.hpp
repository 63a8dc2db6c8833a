// Real processes, threads and cgroup roots for the cgroup tests. Everything
// created here is torn down by destructors, so a failing test leaves no
// groups behind in the host's cgroupfs.
#pragma once

#include "cgroup/cgroup_fs.hpp"
#include "cgroup/proc.hpp"

#include <signal.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace vnumad::cgroup::test {

inline const std::filesystem::path v1_mount = "/sys/fs/cgroup/cpuset";
inline const std::filesystem::path v2_mount = "/sys/fs/cgroup/unified";

// A child process with `extra_threads` threads besides its main thread, all
// sleeping until killed; stands in for QEMU's emulator and vCPU threads.
class child_process {
 public:
  explicit child_process(int extra_threads) {
    pid_ = ::fork();
    if (pid_ < 0) throw std::runtime_error("fork failed");
    if (pid_ == 0) {
      // The parent is single-threaded when it forks, so creating threads here is safe.
      std::vector<std::thread> threads;
      for (int i = 0; i < extra_threads; ++i) threads.emplace_back([] { for (;;) ::pause(); });
      for (;;) ::pause();
    }
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    while (std::chrono::steady_clock::now() < deadline) {
      auto tids = list_threads(pid_);
      if (tids && static_cast<int>(tids->size()) == extra_threads + 1) return;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    throw std::runtime_error("child threads did not start");
  }
  ~child_process() {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, nullptr, 0);
  }
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;
  pid_t pid() const { return pid_; }
  std::vector<pid_t> threads() const { return list_threads(pid_).value(); }

 private:
  pid_t pid_ = -1;
};

// A thread of the test process itself, parked until destruction.
class parked_thread {
 public:
  parked_thread() : thread_([this] {
      std::unique_lock lock(mutex_);
      tid_ = ::gettid();
      cv_.notify_all();
      cv_.wait(lock, [this] { return done_; });
    }) {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [this] { return tid_ != 0; });
  }
  ~parked_thread() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }
  pid_t tid() const { return tid_; }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  pid_t tid_ = 0;
  bool done_ = false;
  std::thread thread_;
};

// A unique group directly under a real hierarchy, removed (tasks moved back
// to the hierarchy's root) at destruction.
class scoped_root {
 public:
  scoped_root(backend kind, const std::filesystem::path& mount)
      : parent_(kind, mount), name_("vnumad-test-" + std::to_string(::getpid())) {
    parent_.remove(name_).value();  // a leftover from a crashed run
    parent_.create(name_).value();
  }
  ~scoped_root() { (void)parent_.remove(name_); }
  cgroup_fs fs() const { return cgroup_fs(parent_.kind(), parent_.path_of(name_)); }
  std::filesystem::path path() const { return parent_.path_of(name_); }

 private:
  cgroup_fs parent_;
  std::string name_;
};

inline bool usable_v1() {
  return ::geteuid() == 0 && std::filesystem::exists(v1_mount / "cpuset.cpus") &&
         ::access(v1_mount.c_str(), W_OK) == 0;
}
inline bool usable_v2() { return ::geteuid() == 0 && std::filesystem::exists(v2_mount / "cgroup.threads"); }

inline std::string slurp(const std::filesystem::path& p) {
  std::ifstream in(p);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

inline void put(const std::filesystem::path& p, const std::string& text) {
  std::filesystem::create_directories(p.parent_path());
  std::ofstream(p) << text;
}

inline bool contains(const std::vector<pid_t>& ids, pid_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

}  // namespace vnumad::cgroup::test
