#include "store/archive.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "common/time.h"

namespace cairn::store {
namespace {

Unexpected<api::Error> io_fail(const std::string& what, int err) {
  return Unexpected{
      api::make_error(api::Errc::kDatabase, "archive: " + what + ": " + std::strerror(err))};
}

}  // namespace

std::string archive_path(const std::string& database_path, int64_t timestamp_ms) {
  std::filesystem::path dir = std::filesystem::path(database_path).parent_path() / "archive";
  return (dir / (format_utc(timestamp_ms).substr(0, 10) + ".jsonl")).string();
}

Result<Ok, api::Error> append_archive(const std::string& path, const std::string& lines) {
  std::filesystem::path file(path);
  std::filesystem::path dir = file.parent_path();
  std::error_code ec;
  bool dir_existed = dir.empty() || std::filesystem::exists(dir, ec);
  if (!dir.empty()) std::filesystem::create_directories(dir, ec);
  if (ec) return io_fail("create " + dir.string(), ec.value());
  bool file_existed = std::filesystem::exists(file, ec);
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return io_fail("open " + path, errno);
  size_t done = 0;
  while (done < lines.size()) {
    ssize_t n = ::write(fd, lines.data() + done, lines.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      int err = errno;
      ::close(fd);
      return io_fail("write " + path, err);
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int err = errno;
    ::close(fd);
    return io_fail("fsync " + path, err);
  }
  ::close(fd);
  // A new file (or folder) is only durable once its directory entry is.
  auto sync_dir = [](const std::filesystem::path& d) -> Result<Ok, api::Error> {
    int dfd = ::open(d.empty() ? "." : d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0) return io_fail("open " + d.string(), errno);
    int rc = ::fsync(dfd);
    int err = errno;
    ::close(dfd);
    if (rc != 0) return io_fail("fsync " + d.string(), err);
    return Ok{};
  };
  if (!file_existed) {
    if (auto ok = sync_dir(dir); !ok.ok()) return ok;
  }
  if (!dir_existed) {
    if (auto ok = sync_dir(dir.parent_path()); !ok.ok()) return ok;
  }
  return Ok{};
}

}  // namespace cairn::store
