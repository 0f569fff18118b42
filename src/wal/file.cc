#include "wal/file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace cairn::wal {

std::string path_join(const std::string& dir, const std::string& name) {
  if (dir.empty() || dir.back() == '/') return dir + name;
  return dir + "/" + name;
}

std::string errno_message(const char* what, const std::string& path) {
  return std::string(what) + " " + path + ": " + std::strerror(errno);
}

Result<Ok, std::string> fsync_dir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return Unexpected{errno_message("open directory", dir)};
  int rc = ::fsync(fd);
  std::string err = rc != 0 ? errno_message("fsync directory", dir) : std::string();
  ::close(fd);
  if (rc != 0) return Unexpected{err};
  return Ok{};
}

namespace {

// The errno `fault` injects into `op` on `path`, or 0.
int injected_errno(const IoFault* fault, IoOp op, const std::string& path) {
  return fault != nullptr && *fault ? (*fault)(op, path) : 0;
}

}  // namespace

Result<Ok, std::string> fdatasync_file(int fd, const std::string& path, const IoFault* fault) {
  if (int injected = injected_errno(fault, IoOp::sync, path); injected != 0) {
    errno = injected;
    return Unexpected{errno_message("fdatasync", path)};
  }
  if (::fdatasync(fd) != 0) return Unexpected{errno_message("fdatasync", path)};
  return Ok{};
}

Result<Ok, std::string> pwrite_all(int fd, const char* data, size_t n, off_t offset,
                                   const std::string& path, const IoFault* fault) {
  if (int injected = injected_errno(fault, IoOp::write, path); injected != 0) {
    errno = injected;
    return Unexpected{errno_message("write", path)};
  }
  while (n > 0) {
    ssize_t w = ::pwrite(fd, data, n, offset);
    if (w < 0) {
      if (errno == EINTR) continue;
      return Unexpected{errno_message("write", path)};
    }
    data += w;
    n -= static_cast<size_t>(w);
    offset += w;
  }
  return Ok{};
}

Result<Ok, std::string> pread_exact(int fd, char* data, size_t n, off_t offset,
                                    const std::string& path) {
  while (n > 0) {
    ssize_t r = ::pread(fd, data, n, offset);
    if (r < 0) {
      if (errno == EINTR) continue;
      return Unexpected{errno_message("read", path)};
    }
    if (r == 0)
      return Unexpected{"read " + path + ": unexpected end of file at offset " +
                        std::to_string(offset)};
    data += r;
    n -= static_cast<size_t>(r);
    offset += r;
  }
  return Ok{};
}

Result<std::string, std::string> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return Unexpected{errno_message("open", path)};
  struct stat st {};
  if (::fstat(fd, &st) != 0) {
    std::string err = errno_message("stat", path);
    ::close(fd);
    return Unexpected{err};
  }
  std::string out(static_cast<size_t>(st.st_size), '\0');
  auto r = pread_exact(fd, out.data(), out.size(), 0, path);
  ::close(fd);
  if (!r) return Unexpected{r.error()};
  return out;
}

}  // namespace cairn::wal
