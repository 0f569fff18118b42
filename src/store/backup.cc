// Backup files: a snapshot (snapshot.cc) wrapped with a header that says what it holds and how
// to check it (api/backup.h).

#include "store/backup.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <memory>

#include "store/impl.h"
#include "store/schema.h"
#include "store/sha256.h"

namespace cairn::store {
namespace {

using api::Errc;
using api::make_error;

Unexpected<api::Error> io_fail(std::string details) {
  return Unexpected{make_error(Errc::kDatabase, std::move(details))};
}
Unexpected<api::Error> bad_file(std::string details) {
  return Unexpected{make_error(Errc::kBadRequest, std::move(details))};
}


/// A file descriptor closed on scope exit.
struct Fd {
  int fd = -1;
  explicit Fd(int f) : fd(f) {}
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
};

bool write_all(int fd, const char* data, size_t n) {
  while (n > 0) {
    ssize_t w = ::write(fd, data, n);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<size_t>(w);
  }
  return true;
}

bool fsync_dir_of(const std::string& path) {
  auto parent = std::filesystem::path(path).parent_path();
  std::string dir = parent.empty() ? std::string(".") : parent.string();
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

/// Measures the database at `db_path` into `h`: applied index, revision, schema version,
/// content checksum, secret key ids.
Result<Ok, api::Error> measure(const std::string& db_path, api::BackupHeader& h) {
  auto opened = Conn::open(db_path, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX);
  if (!opened.ok()) return Unexpected{opened.error()};
  Conn& db = **opened;
  auto valid = validate_database(db);
  if (!valid.ok()) return valid;
  h.applied_index = static_cast<uint64_t>(read_meta(db, "applied_index"));
  h.revision = static_cast<uint64_t>(read_meta(db, "revision"));
  h.schema_version = read_meta(db, "schema_version");
  h.checksum = canonical_checksum(db, true);
  // Tombstones (schema 4) are part of the query; older layouts had no secrets.
  if (h.schema_version >= 4) h.secret_key_ids = sealed_key_ids_in(db);
  if (auto e = db.take_error()) return io_fail("measuring " + db_path + ": " + *e);
  if (h.checksum.empty()) return io_fail("cannot compute the checksum of " + db_path);
  return Ok{};
}

}  // namespace

Result<api::BackupHeader, api::Error> write_backup(const Store& store, api::BackupHeader identity,
                                                  const std::string& path) {
  const std::string image = path + ".db.tmp";
  const std::string tmp = path + ".tmp";
  struct Cleanup {
    std::string a, b;
    ~Cleanup() {
      std::remove(a.c_str());
      std::remove(b.c_str());
    }
  } cleanup{image, tmp};
  auto snap = store.write_snapshot(image);
  if (!snap.ok()) return Unexpected{snap.error()};
  api::BackupHeader h = std::move(identity);
  h.format_version = api::kBackupFormatVersion;
  if (auto m = measure(image, h); !m.ok()) return Unexpected{m.error()};

  Fd in(::open(image.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return io_fail("cannot read " + image + ": " + std::strerror(errno));
  Sha256 sha;
  std::string buf(1 << 16, '\0');
  uint64_t size = 0;
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_fail("cannot read " + image + ": " + std::strerror(errno));
    if (n == 0) break;
    sha.add(buf.data(), static_cast<size_t>(n));
    size += static_cast<uint64_t>(n);
  }
  h.payload_bytes = size;
  h.payload_sha256 = sha.hex();

  Fd out(::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.fd < 0) return io_fail("cannot create " + tmp + ": " + std::strerror(errno));
  const std::string head = api::encode_backup_header(h);
  if (!write_all(out.fd, head.data(), head.size())) return io_fail("cannot write " + tmp);
  if (::lseek(in.fd, 0, SEEK_SET) != 0) return io_fail("cannot rewind " + image);
  uint64_t copied = 0;
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return io_fail("cannot read " + image);
    if (n == 0) break;
    if (!write_all(out.fd, buf.data(), static_cast<size_t>(n))) {
      return io_fail("cannot write " + tmp + ": " + std::strerror(errno));
    }
    copied += static_cast<uint64_t>(n);
  }
  if (copied != size) return io_fail(image + " changed while it was copied");
  if (::fsync(out.fd) != 0) return io_fail("cannot fsync " + tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    return io_fail("cannot rename " + tmp + " to " + path + ": " + std::strerror(errno));
  }
  if (!fsync_dir_of(path)) return io_fail("cannot fsync the folder of " + path);
  return h;
}

Result<api::BackupHeader, api::Error> verify_backup(
    const std::string& path, const std::string& payload_out,
    const std::function<void(uint64_t, uint64_t)>& progress) {
  Fd in(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (in.fd < 0) return bad_file("cannot open " + path + ": " + std::strerror(errno));
  // The header: at most the magic line and 64 KiB of JSON.
  std::string head;
  std::string buf(1 << 16, '\0');
  api::DecodedBackupHeader decoded;
  for (;;) {
    auto d = api::decode_backup_header(head);
    if (d.ok()) {
      decoded = std::move(*d);
      break;
    }
    if (d.error() != "incomplete backup header") return bad_file(path + ": " + d.error());
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bad_file("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) return bad_file(path + ": the file ends inside the header");
    head.append(buf.data(), static_cast<size_t>(n));
  }
  api::BackupHeader h = decoded.header;
  std::string out_path = payload_out;
  bool temporary = out_path.empty();
  if (temporary) out_path = path + ".verify.db";
  struct Cleanup {
    std::string p;
    bool on;
    ~Cleanup() {
      if (on) std::remove(p.c_str());
    }
  } cleanup{out_path, true};
  Fd out(::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600));
  if (out.fd < 0) return io_fail("cannot create " + out_path + ": " + std::strerror(errno));
  Sha256 sha;
  uint64_t done = 0;
  auto take = [&](const char* data, size_t n) -> bool {
    size_t use = static_cast<size_t>(std::min<uint64_t>(n, h.payload_bytes - done));
    if (use != n) return false;  // bytes after the payload
    sha.add(data, use);
    if (!write_all(out.fd, data, use)) return false;
    done += use;
    if (progress) progress(done, h.payload_bytes);
    return true;
  };
  if (head.size() > decoded.payload_offset &&
      !take(head.data() + decoded.payload_offset, head.size() - decoded.payload_offset)) {
    return bad_file(path + ": longer than its header says (" +
                    std::to_string(h.payload_bytes) + " payload bytes)");
  }
  for (;;) {
    ssize_t n = ::read(in.fd, buf.data(), buf.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return bad_file("cannot read " + path + ": " + std::strerror(errno));
    if (n == 0) break;
    if (!take(buf.data(), static_cast<size_t>(n))) {
      return bad_file(path + ": longer than its header says (" +
                      std::to_string(h.payload_bytes) + " payload bytes)");
    }
  }
  if (done != h.payload_bytes) {
    return bad_file(path + ": truncated: " + std::to_string(done) + " of " +
                    std::to_string(h.payload_bytes) + " payload bytes");
  }
  if (sha.hex() != h.payload_sha256) return bad_file(path + ": payload SHA-256 mismatch");
  if (::fsync(out.fd) != 0) return io_fail("cannot fsync " + out_path);
  ::close(out.fd);
  out.fd = -1;
  api::BackupHeader measured;
  if (auto m = measure(out_path, measured); !m.ok()) {
    return bad_file(path + ": the database in it is unusable: " + m.error().details);
  }
  if (measured.checksum != h.checksum) {
    return bad_file(path + ": contents checksum " + measured.checksum +
                    " differs from the header's " + h.checksum);
  }
  if (measured.applied_index != h.applied_index || measured.revision != h.revision ||
      measured.schema_version != h.schema_version) {
    return bad_file(path + ": applied index, revision or schema version differ from the header");
  }
  cleanup.on = temporary;
  return h;
}

Result<uint64_t, api::Error> prepare_restored_database(const std::string& db_path,
                                                 const std::string& raft_conf) {
  auto opened = Conn::open(db_path, SQLITE_OPEN_READWRITE);
  if (!opened.ok()) return Unexpected{opened.error()};
  Conn& db = **opened;
  // An older release's layout is brought to this one's first (its own transaction).
  if (auto schema = ensure_schema(db); !schema.ok()) return Unexpected{schema.error()};
  db.clear_error();
  if (!db.exec("BEGIN IMMEDIATE")) return Unexpected{*db.db_error()};
  db.exec("DELETE FROM meta WHERE name = 'cluster_members'");
  int64_t term = 0;
  if (raft_conf.empty()) {
    db.exec("DELETE FROM meta WHERE name IN ('raft_term', 'raft_conf')");
  } else {
    term = std::max<int64_t>(1, read_meta(db, "raft_term"));
    write_meta(db, "raft_term", term);
    write_meta_text(db, "raft_conf", raft_conf);
  }
  if (auto e = db.db_error()) {
    db.clear_error();
    db.exec("ROLLBACK");
    return Unexpected{*e};
  }
  if (!db.exec("COMMIT")) return Unexpected{*db.db_error()};
  return static_cast<uint64_t>(term);
}

}  // namespace cairn::store
