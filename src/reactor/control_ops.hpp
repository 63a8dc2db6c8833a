// The daemon's handlers of the control verbs (the table is verbs.cpp). A
// friend of the daemon, made per request by daemon::handle (daemon::open_stream
// for a stream verb).
#pragma once

#include "reactor/daemon.hpp"
#include "reactor/verbs.hpp"

#include <memory>

namespace vnumad::reactor {

class control_ops final : public verb_handlers {
 public:
  explicit control_ops(daemon& d) : d_(d) {}

  reply list(const verb_call& call) override;
  reply dominfo(const verb_call& call) override;
  reply domxml(const verb_call& call) override;
  reply vcpuinfo(const verb_call& call) override;
  reply numastat(const verb_call& call) override;
  reply capabilities(const verb_call& call) override;
  reply events(const verb_call& call) override;
  reply vcpupin(const verb_call& call) override;
  reply setvcpus(const verb_call& call) override;
  reply attach_memory(const verb_call& call) override;
  reply detach_memory(const verb_call& call) override;
  reply start(const verb_call& call) override;
  reply shutdown(const verb_call& call) override;
  reply destroy(const verb_call& call) override;
  reply suspend(const verb_call& call) override;
  reply resume(const verb_call& call) override;
  reply reboot(const verb_call& call) override;
  reply restart(const verb_call& call) override;
  reply reload(const verb_call& call) override;
  reply host_shutdown(const verb_call& call) override;
  stream console(const verb_call& call) override;  // console.cpp

 private:
  // The guest the call names (kept alive across the handler's co_awaits),
  // or not_found.
  result<std::shared_ptr<guest>> named(const verb_call& call) const;
  // The guest's dominfo once `done` (an operation on it) has succeeded.
  static result<boost::json::value> info_after(const guest& g, const result<void>& done);
  std::chrono::seconds shutdown_timeout(const verb_call& call) const;

  daemon& d_;
};

}  // namespace vnumad::reactor
