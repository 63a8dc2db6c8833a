// Which host files a domain makes QEMU open, and what vnumad does about each
// when QEMU runs as an unprivileged user (pure: no I/O here; file_grants.hpp
// does it).
//
// The rule: a domain XML author must not be able to make QEMU read, write or
// truncate a host file the guest was not given. A file is given when
//  - it lies, after symlinks are resolved, under one of vnumad.conf's
//    `image_dirs` (disk, kernel, initrd, nvdimm images): vnumad hands it to
//    the QEMU user for the guest's life (chown, as libvirt's DAC driver
//    does; the original owner and mode are restored at stop);
//  - it is a <serial>/<console type='file'> log under `log_dir` or an image
//    dir: vnumad opens it itself (O_NOFOLLOW) and passes the descriptor
//    (-add-fd, path=/dev/fdset/N), as libvirt does for file chardevs;
//  - otherwise, only when the QEMU user can already open it as needed: the
//    kernel is asked from a child that has become that user, and anything
//    else is refused before QEMU starts, naming the element and the path.
#pragma once

#include "config/domain.hpp"

#include <filesystem>
#include <string>
#include <vector>

namespace vnumad::qemu {

enum class file_role {
  image_read,        // kernel, initrd, read-only disk, cdrom
  image_read_write,  // writable disk, nvdimm backing file
  chardev_log,       // <serial>/<console type='file'>: created or truncated
};

struct host_file_use {
  std::string element;         // "<disk><target dev='vda'><source file='/x'>"
  std::filesystem::path path;  // as written in the domain
  file_role role = file_role::image_read;
  // Index into domain.devices.serials, or .consoles when `console` (chardev_log
  // only), to rewrite the path.
  std::size_t chardev_index = 0;
  bool console = false;
};

// Every host file of the domain, in document order. <serial type='unix'>
// sockets are not listed: QEMU creates or connects to them as its user, and
// the kernel's checks on the socket and its directory apply.
std::vector<host_file_use> host_files(const config::domain& d);

struct access_rules {
  std::vector<std::filesystem::path> image_dirs;  // canonical
  std::filesystem::path log_dir;                  // canonical
};

enum class file_treatment {
  give,            // chown to the QEMU user for the guest's life
  open_and_pass,   // vnumad opens it and passes the fd
  user_must_open,  // QEMU opens it as its user: probed first, refused if denied
};

// `canonical` is use.path with symlinks resolved (for a chardev log that does
// not exist yet: its directory resolved, plus the file name).
file_treatment treatment_for(const host_file_use& use, const std::filesystem::path& canonical,
                             const access_rules& rules);

// Is `path` equal to `dir` or below it (both canonical)?
bool is_within(const std::filesystem::path& path, const std::filesystem::path& dir);

}  // namespace vnumad::qemu
