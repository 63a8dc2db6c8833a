// The daemon's state dir (default /run/vnumad): one folder per started guest
// holding what a restarted daemon needs to re-attach without restarting the
// guest: QEMU's pid, the QMP socket, the expanded domain and the placement.
//   <root>/<guest>/record.json   written last, atomically (rename)
//   <root>/<guest>/domain.xml    the expanded domain QEMU runs
//   <root>/<guest>/grants.json   host files given to the QEMU user (qemu/file_grants.hpp)
//   <root>/<guest>/qemu/         owned by the QEMU user: QMP socket, memory files
//   <root>/<guest>/qemu/qmp.sock QEMU's QMP socket
// The guest's folder is 0711 (QEMU's user may pass through to qemu/, but
// neither list it nor change the records vnumad trusts) and its files 0600.
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
  // QEMU's own folder, where it creates what it needs as its user.
  std::filesystem::path qemu_dir(std::string_view name) const { return guest_dir(name) / "qemu"; }
  // Serial port 0's socket chardev, which QEMU serves (vnumactl console).
  std::filesystem::path console_socket(std::string_view name) const { return qemu_dir(name) / "console.sock"; }
  // In qemu_dir; a guest started before that folder existed keeps its socket
  // in the guest's folder.
  std::filesystem::path qmp_socket(std::string_view name) const;
  std::filesystem::path grants_file(std::string_view name) const { return guest_dir(name) / "grants.json"; }
  // The grants files of every other guest: a file two guests hold is given
  // back only when the last one stops.
  std::vector<std::filesystem::path> grant_files_except(std::string_view name) const;
  std::filesystem::path qmp_socket_spare(std::string_view name) const;

  // Links qmp.sock to its spare (replacing an older spare). EXDEV when the
  // root is a mount point of its own: the caller logs it; nothing else fails.
  result<void> keep_qmp_socket(std::string_view name) const;
  // Whichever of qmp.sock and its spare is missing is linked again from the
  // other. Returns the path it recreated, or "" when neither was missing.
  result<std::string> restore_qmp_socket(std::string_view name) const;

  // Creates the root (0755) and the guest's folder (0711).
  result<void> prepare(std::string_view name) const;
  // Writes domain.xml and record.json, each via a temp file and rename.
  result<void> save(const guest_record& record) const;
  result<guest_record> load(std::string_view name) const;
  // Folders under the root, whether or not they hold a complete record.
  std::vector<std::string> list() const;
  // Gives back the guest's host files (grants.json), then removes its folder
  // and its spare QMP link.
  result<void> remove(std::string_view name) const;

 private:
  std::filesystem::path root_;
};

}  // namespace vnumad::reactor
