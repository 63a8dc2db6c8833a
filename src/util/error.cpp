#include "util/error.hpp"

#include <ostream>

namespace vnumad {

std::string_view to_string(errc code) {
  switch (code) {
    case errc::io_error: return "io_error";
    case errc::xml_malformed: return "xml_malformed";
    case errc::invalid_name: return "invalid_name";
    case errc::invalid_value: return "invalid_value";
    case errc::invalid_unit: return "invalid_unit";
    case errc::invalid_cpuset: return "invalid_cpuset";
    case errc::missing_element: return "missing_element";
    case errc::duplicate_element: return "duplicate_element";
    case errc::conflicting_element: return "conflicting_element";
    case errc::unsupported: return "unsupported";
    case errc::node_unavailable: return "node_unavailable";
    case errc::vcpus_not_divisible_by_cells: return "vcpus_not_divisible_by_cells";
    case errc::insufficient_cpus: return "insufficient_cpus";
    case errc::insufficient_memory: return "insufficient_memory";
    case errc::insufficient_hugepages: return "insufficient_hugepages";
    case errc::not_found: return "not_found";
    case errc::not_running: return "not_running";
    case errc::already_exists: return "already_exists";
    case errc::busy: return "busy";
    case errc::qmp_error: return "qmp_error";
    case errc::no_free_slot: return "no_free_slot";
    case errc::protocol_error: return "protocol_error";
    case errc::timeout: return "timeout";
    case errc::unplug_refused: return "unplug_refused";
    case errc::process_failed: return "process_failed";
    case errc::permission_denied: return "permission_denied";
    case errc::cancelled: return "cancelled";
    case errc::not_responding: return "not_responding";
  }
  return "unknown";
}

std::ostream& operator<<(std::ostream& os, errc code) { return os << to_string(code); }

void throw_exception_from_error(const error& e, const boost::source_location&) { throw error_exception(e); }

}  // namespace vnumad
