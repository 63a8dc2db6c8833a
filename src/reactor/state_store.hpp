// The daemon's state dir (default /run/vnumad): one folder per started guest
// holding what a restarted daemon needs to re-attach without restarting the
// guest: QEMU's pid, the QMP socket, the expanded domain and the placement.
//   <root>/<guest>/record.json   written last, atomically (rename)
//   <root>/<guest>/domain.xml    the expanded domain QEMU runs
//   <root>/<guest>/qmp.sock      QEMU's QMP socket
// and, beside the root, a second hard link to each QMP socket, so that a
// state dir deleted while guests run can be rebuilt with sockets QEMU still
// listens on (QEMU cannot be given a new monitor socket while it runs):
//   <root's parent>/.<root's name>-qmp/<guest>.sock
#pragma once

#include "util/error.hpp"
#include "vnuma/placement.hpp"

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace vnumad::reactor {

// A record is "starting" from spawn until `cont`, then "running". A daemon that
// finds a "starting" record after a crash kills that QEMU and starts the guest
// afresh: a guest is never left half-started.
enum class start_phase { starting, running };

struct guest_record {
  std::string name;
  pid_t pid = 0;
  start_phase phase = start_phase::starting;
  std::filesystem::path config_file;   // the domains.d file it came from
  std::string expanded_xml;            // domain.xml
  vnuma::placement place;
  std::int64_t started_at = 0;         // unix seconds
  std::vector<std::string> hotplugged_dimms;  // ids of pc-dimms added live
};

class state_store {
 public:
  explicit state_store(std::filesystem::path root) : root_(std::move(root)) {}

  const std::filesystem::path& root() const { return root_; }
  std::filesystem::path guest_dir(std::string_view name) const { return root_ / name; }
  std::filesystem::path qmp_socket(std::string_view name) const { return guest_dir(name) / "qmp.sock"; }
  std::filesystem::path qmp_socket_spare(std::string_view name) const;

  // Links qmp.sock to its spare (replacing an older spare). EXDEV when the
  // root is a mount point of its own: the caller logs it; nothing else fails.
  result<void> keep_qmp_socket(std::string_view name) const;
  // Whichever of qmp.sock and its spare is missing is linked again from the
  // other. Returns the path it recreated, or "" when neither was missing.
  result<std::string> restore_qmp_socket(std::string_view name) const;

  // Creates the root (0755) and the guest's folder (0700).
  result<void> prepare(std::string_view name) const;
  // Writes domain.xml and record.json, each via a temp file and rename.
  result<void> save(const guest_record& record) const;
  result<guest_record> load(std::string_view name) const;
  // Folders under the root, whether or not they hold a complete record.
  std::vector<std::string> list() const;
  // The guest's folder and its spare QMP link.
  result<void> remove(std::string_view name) const;

 private:
  std::filesystem::path root_;
};

}  // namespace vnumad::reactor
