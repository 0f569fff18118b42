#pragma once

// Thin wrappers over the POSIX calls the log needs, turning errno into a message that names the
// file. Used on the store's thread only.

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <string>

#include "common/result.h"

namespace cairn::wal {

std::string path_join(const std::string& dir, const std::string& name);
/// "<what> <path>: <strerror(errno)>"
std::string errno_message(const char* what, const std::string& path);

/// What a fault injected into a segment file interrupts.
enum class IoOp { write, sync };

/// Fault injection for tests (WalOptions::io_fault): called with the operation and the file's
/// path before each write and each fdatasync of a segment; a non-zero return is an errno that
/// the call then "returns" instead of writing or syncing. Empty in production.
using IoFault = std::function<int(IoOp op, const std::string& path)>;

/// fdatasync(fd), or the error `fault` (may be null) injects. Never retried: after a failed
/// fdatasync the kernel may have dropped the dirty pages and marked them clean, so a second call
/// that succeeds proves nothing (PostgreSQL's "fsyncgate"); the caller must treat the file as
/// lost.
Result<Ok, std::string> fdatasync_file(int fd, const std::string& path, const IoFault* fault);

/// Makes the directory's entries (created, renamed, removed files) durable.
Result<Ok, std::string> fsync_dir(const std::string& dir);
/// pwrite() of all n bytes at `offset`, retrying short writes and EINTR, or the error `fault`
/// (may be null) injects before the first byte is written.
Result<Ok, std::string> pwrite_all(int fd, const char* data, size_t n, off_t offset,
                                   const std::string& path, const IoFault* fault = nullptr);
/// pread() of exactly n bytes at `offset`; fewer bytes (end of file) is an error.
Result<Ok, std::string> pread_exact(int fd, char* data, size_t n, off_t offset,
                                    const std::string& path);
/// The whole file.
Result<std::string, std::string> read_file(const std::string& path);

}  // namespace cairn::wal
