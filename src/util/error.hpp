// Expected failures are values: result<T> carries either T or an error whose
// message names the file, element or attribute, the bad value and what would
// be valid. Exceptions are reserved for the top of a coroutine and start-up.
#pragma once

#include <boost/system/result.hpp>

#include <iosfwd>
#include <stdexcept>
#include <string>
#include <string_view>

namespace vnumad {

// Precise kinds, so callers and tests can tell failures apart without parsing
// messages. Add a kind rather than reusing a vague one.
enum class errc {
  io_error,                      // reading or writing a file, socket or cgroup failed
  xml_malformed,                 // the XML parser refused the text
  invalid_name,                  // guest name not usable as a file/cgroup name
  invalid_value,                 // an attribute or element value is not valid
  invalid_unit,                  // a memory unit that libvirt does not know
  invalid_cpuset,                // cpuset/nodeset syntax
  missing_element,               // a required element or attribute is absent
  duplicate_element,             // e.g. two <vnuma>, two cells with one id
  conflicting_element,           // <vnuma> plus a hand-written derived element
  unsupported,                   // valid libvirt, but not something vnumad does
  node_unavailable,              // a host NUMA node that does not exist or has no CPUs
  vcpus_not_divisible_by_cells,  // N % C != 0
  insufficient_cpus,             // a node lacks free CPUs / dedicated threads
  insufficient_memory,           // a node lacks free memory
  insufficient_hugepages,        // a node lacks free huge pages of a size
  not_found,                     // a guest, device or vCPU that does not exist
  not_running,                   // the guest exists but is not running (defined, shut off)
  already_exists,                // a guest with that name is already defined
  busy,                          // an operation is already in progress
  qmp_error,                     // QEMU answered a command with an error
  no_free_slot,                  // no free hotplug slot: QEMU's for a vCPU, <maxMemory slots> for a dimm
  protocol_error,                // a peer (QEMU, client) broke the protocol
  timeout,                       // a deadline passed
  unplug_refused,                // the guest did not release a device within the removal timeout
  process_failed,                // a child process failed to start or died
  permission_denied,             // peer credentials or file modes refused
  cancelled,                     // the operation was abandoned (guest died, shutdown)
  not_responding,                // QEMU does not answer (stopped by a signal, hung): not a refusal
};

std::string_view to_string(errc code);
// For test frameworks and log lines.
std::ostream& operator<<(std::ostream& os, errc code);

struct error {
  errc code;
  std::string message;
};

inline error make_error(errc code, std::string message) { return error{code, std::move(message)}; }

// Thrown by result<T>::value() when it holds an error, and at the top level.
class error_exception : public std::runtime_error {
 public:
  explicit error_exception(error e) : std::runtime_error(e.message), error_(std::move(e)) {}
  const vnumad::error& get() const noexcept { return error_; }

 private:
  vnumad::error error_;
};

// Found by argument-dependent lookup from boost::system::result<T, error>::value().
[[noreturn]] void throw_exception_from_error(const error& e, const boost::source_location& loc);

template <class T>
using result = boost::system::result<T, error>;

}  // namespace vnumad
