// Reads a whole file with read(2), never throwing. For /proc files of other
// processes above all: such a process may exit between open and read, and
// libstdc++'s filebuf then throws from underflow() ("basic_filebuf::underflow
// error reading the file: No such process") through istreambuf_iterator, out
// of whatever scan was reading it.
#pragma once

#include <filesystem>
#include <optional>
#include <string>

namespace vnumad {

// The file's bytes; nullopt if it cannot be opened or a read fails (errno
// tells why).
std::optional<std::string> read_whole_file(const std::filesystem::path& path);

// What is left to read of an open fd, up to its end; nullopt if a read
// fails (ESRCH: the /proc file's process is gone). The fd stays open.
std::optional<std::string> read_to_end(int fd);

}  // namespace vnumad
