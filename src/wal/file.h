#pragma once

// Thin wrappers over the POSIX calls the log needs, turning errno into a message that names the
// file. Used on the store's thread only.

#include <sys/types.h>

#include <cstddef>
#include <string>

#include "common/result.h"

namespace cairn::wal {

std::string path_join(const std::string& dir, const std::string& name);
/// "<what> <path>: <strerror(errno)>"
std::string errno_message(const char* what, const std::string& path);

/// Makes the directory's entries (created, renamed, removed files) durable.
Result<Ok, std::string> fsync_dir(const std::string& dir);
/// pwrite() of all n bytes at `offset`, retrying short writes and EINTR.
Result<Ok, std::string> pwrite_all(int fd, const char* data, size_t n, off_t offset,
                                   const std::string& path);
/// pread() of exactly n bytes at `offset`; fewer bytes (end of file) is an error.
Result<Ok, std::string> pread_exact(int fd, char* data, size_t n, off_t offset,
                                    const std::string& path);
/// The whole file.
Result<std::string, std::string> read_file(const std::string& path);

}  // namespace cairn::wal
