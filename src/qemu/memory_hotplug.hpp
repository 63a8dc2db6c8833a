// A dimm hot-added to a running guest, built by the same code as the
// <memory model='dimm'> devices of its XML at boot (libvirt's
// qemuBuildMemoryBackendProps, used at boot and by qemuDomainAttachMemory):
// a huge-page guest's dimm is backed by hugetlbfs on its cell's node, a memfd
// or shared guest's dimm by memfd or a shared file, with the same prealloc
// and host-nodes binding and the same alignment.
#pragma once

#include "config/domain.hpp"
#include "qemu/argv.hpp"
#include "util/error.hpp"

#include <boost/json/object.hpp>

#include <cstdint>
#include <string>
#include <string_view>

namespace vnumad::qemu {

// The memory backend of dimm `dimm_id` ("memdimm0"), at boot and hot-added.
inline std::string dimm_backend_id(std::string_view dimm_id) { return "mem" + std::string(dimm_id); }

struct dimm_hotplug {
  boost::json::object object_add;   // arguments of QMP object-add (the backend)
  boost::json::object device_add;   // arguments of QMP device_add (the pc-dimm)
  std::uint64_t hugepage_bytes = 0; // 0: normal pages (what the ledger holds)
};

// `dimm`: model 'dimm', target size and node (the guest cell), the host node
// as <source><nodemask>, and its alias (the device id; the backend is
// "mem" + alias, as at boot). QEMU picks the free slot. `running`: the
// running domain, whose memory backing and cells decide the backend. A size
// that is not a multiple of the alignment (2 MiB, or the cell's huge page
// size) is refused, naming both: a hot-added dimm is never silently larger
// than asked.
result<dimm_hotplug> build_dimm_hotplug(const config::domain& running, const host_facts& host,
                                        const config::memory_device_def& dimm);

}  // namespace vnumad::qemu
