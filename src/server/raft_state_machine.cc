#include "server/raft_state_machine.h"

#include <fcntl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/endian.h"
#include "common/json.h"
#include "common/time.h"
#include "wal/crc32c.h"

namespace cairn::server {

namespace fs = std::filesystem;

std::string stamp_command(const api::Command& command, int64_t timestamp_ms) {
  std::string out;
  endian::append_le<uint64_t>(out, static_cast<uint64_t>(timestamp_ms));
  out += api::encode_command(command);
  return out;
}

namespace {

std::string snapshot_name(const raft::SnapshotMeta& meta) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "snap-%020llu-%llu", static_cast<unsigned long long>(meta.index),
                static_cast<unsigned long long>(meta.term));
  return buf;
}

/// The CRC-32C of a whole file, or nullopt if it cannot be read.
std::optional<uint32_t> file_crc32c(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  uint32_t crc = 0;
  char buf[1 << 16];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) crc = wal::crc32c_extend(crc, buf, static_cast<size_t>(n));
  ::close(fd);
  if (n < 0) return std::nullopt;
  return crc;
}

// The .meta next to each snapshot image: where it stands in the log and the CRC-32C of the
// image, checked before the image is ever sent (a .meta written before the CRC existed has none).
std::string encode_meta(const raft::SnapshotMeta& meta, std::optional<uint32_t> crc) {
  Json j = {{"index", meta.index}, {"term", meta.term},
            {"voters", meta.conf.voters}, {"learners", meta.conf.learners}};
  if (crc) j["crc32c"] = *crc;
  return j.dump();
}

std::optional<uint32_t> decode_meta_crc(const std::string& text) {
  try {
    Json j = Json::parse(text);
    if (j.contains("crc32c")) return j.at("crc32c").get<uint32_t>();
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::optional<raft::SnapshotMeta> decode_meta(const std::string& text) {
  try {
    Json j = Json::parse(text);
    raft::SnapshotMeta m;
    m.index = j.at("index").get<uint64_t>();
    m.term = j.at("term").get<uint64_t>();
    m.conf.voters = j.at("voters").get<std::vector<raft::NodeId>>();
    m.conf.learners = j.at("learners").get<std::vector<raft::NodeId>>();
    return m;
  } catch (const std::exception&) {
    return std::nullopt;
  }
}

bool fsync_path(const std::string& path, bool directory) {
  int fd = ::open(path.c_str(), (directory ? O_RDONLY | O_DIRECTORY : O_RDONLY) | O_CLOEXEC);
  if (fd < 0) return false;
  bool ok = ::fsync(fd) == 0;
  ::close(fd);
  return ok;
}

/// Writes `text` to `path` atomically and durably (temp file, fsync, rename, fsync dir).
bool write_file_atomic(const std::string& path, const std::string& text) {
  std::string tmp = path + ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
            ::fsync(fd) == 0;
  ::close(fd);
  if (!ok) return false;
  std::error_code ec;
  fs::rename(tmp, path, ec);
  return !ec && fsync_path(fs::path(path).parent_path().string(), true);
}

std::string read_file(const std::string& path) {
  std::string out;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return out;
  char buf[4096];
  ssize_t n;
  while ((n = ::read(fd, buf, sizeof buf)) > 0) out.append(buf, static_cast<size_t>(n));
  ::close(fd);
  return out;
}

/// Checks every snapshot image in `dir` against the CRC-32C its .meta records. A damaged one
/// is never sent to a peer: its two files are renamed to `<name>.damaged` (kept for a post
/// mortem, never deleted) and an error is logged. Returns how many were set aside.
int set_aside_damaged_snapshots(const std::string& dir) {
  int damaged = 0;
  std::error_code ec;
  std::vector<fs::path> metas;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("snap-", 0) == 0 && e.path().extension() == ".meta") metas.push_back(e.path());
  }
  for (const fs::path& m : metas) {
    const std::string text = read_file(m.string());
    const std::string db = (m.parent_path() / m.stem()).string() + ".db";
    auto want = decode_meta_crc(text);
    if (!want || !fs::exists(db)) continue;
    auto got = file_crc32c(db);
    if (got && *got == *want) continue;
    ++damaged;
    spdlog::error(
        "snapshot {} is damaged (CRC-32C {} expected, {} found): set aside as {}.damaged and "
        "never sent; a new snapshot is taken from the database",
        db, *want, got ? std::to_string(*got) : std::string("unreadable"), db);
    fs::rename(db, db + ".damaged", ec);
    fs::rename(m, m.string() + ".damaged", ec);
  }
  return damaged;
}

/// The newest complete snapshot in `dir` (its .meta exists and parses).
std::optional<std::pair<raft::SnapshotMeta, std::string>> latest_snapshot(const std::string& dir) {
  std::optional<std::pair<raft::SnapshotMeta, std::string>> best;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("snap-", 0) != 0 || e.path().extension() != ".meta") continue;
    auto meta = decode_meta(read_file(e.path().string()));
    std::string db = (e.path().parent_path() / e.path().stem()).string() + ".db";
    if (!meta || !fs::exists(db)) continue;
    if (!best || meta->index > best->first.index) best = std::make_pair(*meta, db);
  }
  return best;
}

class FileReader final : public raft::SnapshotReader {
 public:
  /// `on_close` runs when the reader is destroyed (unpins the image, see prune_snapshots()).
  FileReader(raft::SnapshotMeta meta, int fd, uint64_t size, std::function<void()> on_close)
      : meta_(meta), fd_(fd), size_(size), on_close_(std::move(on_close)) {}
  ~FileReader() override {
    ::close(fd_);
    if (on_close_) on_close_();
  }
  const raft::SnapshotMeta& meta() const override { return meta_; }
  uint64_t size() const override { return size_; }
  Result<std::string, raft::SnapshotError> read(uint64_t offset, uint64_t max_bytes) override {
    if (offset > size_) return Unexpected{raft::SnapshotError::bad_offset};
    std::string out(static_cast<size_t>(std::min(max_bytes, size_ - offset)), '\0');
    size_t done = 0;
    while (done < out.size()) {
      ssize_t n = ::pread(fd_, out.data() + done, out.size() - done,
                          static_cast<off_t>(offset + done));
      if (n <= 0) return Unexpected{raft::SnapshotError::io};
      done += static_cast<size_t>(n);
    }
    return out;
  }

 private:
  raft::SnapshotMeta meta_;
  int fd_;
  uint64_t size_;
  std::function<void()> on_close_;
};

class FileWriter final : public raft::SnapshotWriter {
 public:
  FileWriter(raft::SnapshotMeta meta, std::string path, int fd,
             std::shared_ptr<GradualDeleter> deleter)
      : meta(meta), path(std::move(path)), fd(fd), deleter_(std::move(deleter)) {}
  ~FileWriter() override {
    if (fd >= 0) ::close(fd);
    if (!kept) (void)deleter_->remove(path);  // a staged image can be hundreds of MB
  }
  Result<Ok, raft::SnapshotError> write(uint64_t offset, const std::string& chunk) override {
    if (offset != written_) return Unexpected{raft::SnapshotError::bad_offset};
    size_t done = 0;
    while (done < chunk.size()) {
      ssize_t n = ::pwrite(fd, chunk.data() + done, chunk.size() - done,
                           static_cast<off_t>(offset + done));
      if (n <= 0) return Unexpected{raft::SnapshotError::io};
      done += static_cast<size_t>(n);
    }
    written_ += chunk.size();
    return Ok{};
  }
  uint64_t written() const override { return written_; }

  raft::SnapshotMeta meta;
  std::string path;
  int fd;
  bool kept = false;

 private:
  std::shared_ptr<GradualDeleter> deleter_;
  uint64_t written_ = 0;
};

}  // namespace

Result<Ok, std::string> seed_snapshot(const std::string& dir, const raft::SnapshotMeta& meta,
                                      const std::string& db_path) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return Unexpected{"cannot create " + dir + ": " + ec.message()};
  const std::string base = dir + "/" + snapshot_name(meta);
  fs::copy_file(db_path, base + ".db.tmp", fs::copy_options::overwrite_existing, ec);
  if (ec) return Unexpected{"cannot copy " + db_path + " into " + dir + ": " + ec.message()};
  if (!fsync_path(base + ".db.tmp", false)) return Unexpected{"cannot fsync " + base + ".db.tmp"};
  fs::rename(base + ".db.tmp", base + ".db", ec);
  if (ec || !write_file_atomic(base + ".meta", encode_meta(meta, file_crc32c(base + ".db")))) {
    return Unexpected{"cannot write the snapshot " + base};
  }
  return Ok{};
}

RaftStateMachine::RaftStateMachine(store::Store& store, core::ConfigStateMachine& machine,
                                   cache::Index& index, core::WatchHub* watch,
                                   std::string snapshot_dir,
                                   std::shared_ptr<GradualDeleter> deleter)
    : store_(store), machine_(machine), index_(index), watch_(watch), dir_(std::move(snapshot_dir)),
      deleter_(deleter ? std::move(deleter) : std::make_shared<GradualDeleter>()) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  // What a crash left half-written (a copy, a staged restore: up to an image's size each).
  std::vector<std::string> leftovers;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    if (e.path().extension() == ".tmp" || e.path().filename().string().rfind("incoming-", 0) == 0)
      leftovers.push_back(e.path().string());
  }
  for (const std::string& path : leftovers) (void)deleter_->remove(path);
  set_aside_damaged_snapshots(dir_);
  worker_ = std::thread([this] {
    // Below the Raft and HTTP threads: a snapshot costs seconds of CPU and disk on a large
    // database, which must come out of idle time rather than out of the writes (Linux: a
    // thread's nice value and I/O priority are its own).
    const auto tid = static_cast<id_t>(::syscall(SYS_gettid));
    (void)::setpriority(PRIO_PROCESS, tid, 10);
    constexpr int kIoprioWhoProcess = 1, kIoprioClassBestEffort = 2, kIoprioClassShift = 13;
    (void)::syscall(SYS_ioprio_set, kIoprioWhoProcess, tid,
                    (kIoprioClassBestEffort << kIoprioClassShift) | 7);
    std::unique_lock lock(jobs_mu_);
    for (;;) {
      jobs_cv_.wait(lock, [this] { return jobs_stop_ || !jobs_.empty(); });
      if (jobs_stop_) return;
      std::function<void()> job = std::move(jobs_.front());
      jobs_.pop_front();
      lock.unlock();
      job();
      lock.lock();
    }
  });
}

RaftStateMachine::~RaftStateMachine() { stop(); }

void RaftStateMachine::stop() {
  {
    std::lock_guard lock(jobs_mu_);
    jobs_stop_ = true;
    jobs_.clear();
  }
  jobs_cv_.notify_all();
  if (worker_.joinable() && worker_.get_id() != std::this_thread::get_id()) worker_.join();
  // After the job in progress: what it deletes from here on is unlinked at once. A deletion
  // in progress stops after its step; the kernel frees the rest (GradualDeleter::stop).
  deleter_->stop();
}

void RaftStateMachine::enqueue(std::function<void()> job) {
  std::lock_guard lock(jobs_mu_);
  if (jobs_stop_) return;
  jobs_.push_back(std::move(job));
  jobs_cv_.notify_one();
}

void RaftStateMachine::report(std::function<void(raft::Node&)> fn) {
  if (post_) post_(std::move(fn));
}

std::nullopt_t RaftStateMachine::stalled(uint64_t index, const std::string& why) {
  // The database refused the transaction (disk full, I/O error, fault injection): nothing of
  // the entry took effect. Raft offers it again on its next step; the node keeps serving reads
  // from memory meanwhile (docs/observability.md, degraded mode) and catches up by itself once
  // the database works again.
  const int64_t now = monotonic_ms();
  int64_t expected = 0;
  stalled_since_ms_.compare_exchange_strong(expected, now);
  if (now - last_stall_log_ms_ >= 5'000) {
    last_stall_log_ms_ = now;
    spdlog::error("cannot apply log entry {}: {}; retrying (reads are served from memory)", index,
                  why);
  }
  return std::nullopt;
}

void RaftStateMachine::begin_applies() {
  group_first_ = 0;
  machine_.begin_group();
}

bool RaftStateMachine::finish_applies() {
  if (!machine_.finish_group()) {
    stalled(group_first_, store_.recent_write_failure(60'000).value_or("the transaction failed"));
    return false;
  }
  if (group_first_ != 0 && stalled_since_ms_.exchange(0) != 0) {
    spdlog::info("applying again from log entry {}", group_first_);
  }
  check_members();
  return true;
}

std::optional<std::string> RaftStateMachine::apply(const raft::Entry& entry,
                                                   const raft::ConfState& conf) {
  store_.stage_raft_state(entry.term, raft::encode_conf_state(conf));
  std::string result;
  if (entry.type != raft::EntryType::normal || entry.data.size() < 8) {
    store_.mark_applied(entry.index);
    if (store_.written_index() < entry.index) return stalled(entry.index, "the database is unavailable");
  } else {
    const uint64_t ts = endian::load_le<uint64_t>(entry.data.data());
    api::CommandResult r = machine_.apply_encoded(std::string_view(entry.data).substr(8),
                                                  entry.index, static_cast<int64_t>(ts));
    if (store_.written_index() < entry.index) return stalled(entry.index, r.details);
    if (!result_wanted_) {
      result = api::encode_result(r);
    } else if (result_wanted_(entry.index, entry.term)) {
      kept_results_.insert_or_assign(entry.index, std::move(r));  // an applied-again group's too
      result = kResultKept;
    }
  }
  if (group_first_ == 0) group_first_ = entry.index;
  return result;
}

std::optional<api::CommandResult> RaftStateMachine::take_result(uint64_t index) {
  auto it = kept_results_.find(index);
  std::optional<api::CommandResult> out;
  if (it != kept_results_.end()) out = std::move(it->second);
  kept_results_.erase(kept_results_.begin(), kept_results_.upper_bound(index));
  return out;
}

void RaftStateMachine::check_members() {
  const uint64_t generation = store_.members_generation();
  if (generation == members_generation_) return;
  members_generation_ = generation;
  if (members_changed_) members_changed_();
}

raft::SnapshotMeta RaftStateMachine::applied_state() const {
  raft::SnapshotMeta meta;
  meta.index = store_.applied_index();
  store::RaftState rs = store_.raft_state();
  meta.term = rs.term;
  if (!rs.conf.empty()) {
    if (auto conf = raft::decode_conf_state(rs.conf); conf.ok()) meta.conf = *conf;
  }
  return meta;
}

Result<Ok, raft::SnapshotError> RaftStateMachine::save_snapshot(const raft::SnapshotMeta& meta) {
  if (meta.index != store_.applied_index()) return Unexpected{raft::SnapshotError::unavailable};
  // Pinned here, on the node's thread between two apply groups: the view holds exactly the
  // entries up to meta.index however far the applies have gone when the copy is written.
  auto source = store_.begin_snapshot();
  if (!source.ok()) {
    spdlog::error("snapshot at index {} cannot start: {}", meta.index, source.error().details);
    return Unexpected{raft::SnapshotError::io};
  }
  if ((*source)->applied_index() != meta.index) return Unexpected{raft::SnapshotError::unavailable};
  std::shared_ptr<store::SnapshotSource> pinned = std::move(*source);
  enqueue([this, meta, pinned]() mutable {
    const bool ok = write_image(meta, *pinned);
    report([meta, ok](raft::Node& node) { node.snapshot_saved(meta, ok); });
  });
  return Ok{};
}

bool RaftStateMachine::write_image(const raft::SnapshotMeta& meta, store::SnapshotSource& source) {
  const int64_t started = monotonic_ms();
  const std::string base = dir_ + "/" + snapshot_name(meta);
  // A name of its own: a save of the same index may still be running (open_snapshot's).
  const std::string tmp = base + ".db." + std::to_string(++tmp_seq_) + ".tmp";
  auto written = source.write(tmp);
  if (!written.ok()) {
    spdlog::error("snapshot at index {} failed: {}", meta.index, written.error().details);
    (void)deleter_->remove(tmp);
    return false;
  }
  std::optional<uint32_t> crc = file_crc32c(tmp);
  if (!crc) {
    (void)deleter_->remove(tmp);
    return false;
  }
  std::error_code ec;
  {
    std::lock_guard lock(dir_mu_);
    fs::rename(tmp, base + ".db", ec);
    if (ec || !write_file_atomic(base + ".meta", encode_meta(meta, crc))) {
      (void)deleter_->remove(tmp);
      return false;
    }
    prune_snapshots(2);
  }
  spdlog::info("snapshot at index {} term {} written in {} ms", meta.index, meta.term,
               monotonic_ms() - started);
  return true;
}

/// Keeps the newest `keep` snapshots and deletes the older ones gradually, .db first (a
/// .meta without its .db is not a snapshot). One being sent stays until a later prune.
void RaftStateMachine::prune_snapshots(size_t keep) {
  std::vector<fs::path> metas;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir_, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("snap-", 0) == 0 && e.path().extension() == ".meta") metas.push_back(e.path());
  }
  std::sort(metas.begin(), metas.end());  // names sort by index
  if (metas.size() <= keep) return;
  metas.resize(metas.size() - keep);  // the older ones
  for (const fs::path& m : metas) {
    const std::string db = (m.parent_path() / (m.stem().string() + ".db")).string();
    {
      std::lock_guard pins(readers_->mu);
      if (readers_->open.count(db)) continue;
    }
    (void)deleter_->remove(db);
    fs::remove(m, ec);
  }
}

std::unique_ptr<raft::SnapshotReader> RaftStateMachine::open_snapshot() {
  // Checked each time one is sent: a snapshot damaged on disk must never reach a peer. The
  // image is derived from the database, so replacing it needs nobody's help (written here, on
  // the node's thread: a rare repair, not worth a report of its own).
  int damaged = 0;
  {
    std::lock_guard lock(dir_mu_);
    damaged = set_aside_damaged_snapshots(dir_);
  }
  if (damaged > 0) {
    raft::SnapshotMeta now = applied_state();
    if (now.index > 0) {
      auto source = store_.begin_snapshot();
      if (!source.ok() || (*source)->applied_index() != now.index || !write_image(now, **source))
        return nullptr;
    }
  }
  std::lock_guard lock(dir_mu_);
  auto latest = latest_snapshot(dir_);
  if (!latest) return nullptr;
  int fd = ::open(latest->second.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  off_t size = ::lseek(fd, 0, SEEK_END);
  if (size < 0) {
    ::close(fd);
    return nullptr;
  }
  {
    std::lock_guard pins(readers_->mu);
    ++readers_->open[latest->second];
  }
  return std::make_unique<FileReader>(
      latest->first, fd, static_cast<uint64_t>(size),
      [readers = readers_, path = latest->second] {
        std::lock_guard pins(readers->mu);
        if (--readers->open[path] <= 0) readers->open.erase(path);
      });
}

std::unique_ptr<raft::SnapshotWriter> RaftStateMachine::begin_restore(
    const raft::SnapshotMeta& meta) {
  std::string path = dir_ + "/incoming-" + snapshot_name(meta) + ".db";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    spdlog::error("cannot stage snapshot {}: {}", path, std::strerror(errno));
    return nullptr;
  }
  return std::make_unique<FileWriter>(meta, path, fd, deleter_);
}

Result<Ok, raft::SnapshotError> RaftStateMachine::finish_restore(
    std::unique_ptr<raft::SnapshotWriter> writer) {
  if (!dynamic_cast<FileWriter*>(writer.get())) return Unexpected{raft::SnapshotError::unavailable};
  std::shared_ptr<raft::SnapshotWriter> staged = std::move(writer);
  enqueue([this, staged] {
    const raft::SnapshotMeta meta = static_cast<FileWriter&>(*staged).meta;
    const bool ok = install(*staged);
    report([this, meta, ok](raft::Node& node) {
      if (ok) {
        // The cheap part of an install, on the node's thread as every apply's is.
        if (watch_) watch_->reset_all(store_.revision());
        machine_.reloaded();
        check_members();
      }
      node.snapshot_restored(meta, ok);
    });
  });
  return Ok{};
}

bool RaftStateMachine::install(raft::SnapshotWriter& writer) {
  auto* w = static_cast<FileWriter*>(&writer);
  const int64_t started = monotonic_ms();
  if (::fsync(w->fd) != 0) return false;
  ::close(w->fd);
  w->fd = -1;
  auto restored = store_.restore_snapshot(w->path);
  if (!restored.ok()) {
    spdlog::error("snapshot restore at index {} failed: {}", w->meta.index,
                  restored.error().details);
    return false;
  }
  if (store_.applied_index() != w->meta.index) {
    spdlog::critical("restored snapshot holds applied index {}, expected {}",
                     store_.applied_index(), w->meta.index);
    return false;
  }
  // Keep the image: this node can now send it to others.
  const std::string base = dir_ + "/" + snapshot_name(w->meta);
  {
    std::lock_guard lock(dir_mu_);
    std::error_code ec;
    fs::rename(w->path, base + ".db", ec);
    if (!ec && write_file_atomic(base + ".meta", encode_meta(w->meta, file_crc32c(base + ".db")))) {
      w->kept = true;
      prune_snapshots(2);
    }
  }
  // The index is rebuilt here too (it reads every row): while the node installs, this thread
  // is the store's apply thread (Index::load's contract).
  auto loaded = index_.load(store_);
  if (!loaded.ok()) {
    spdlog::critical("cannot rebuild the index after a restore: {}", loaded.error().details);
    std::abort();
  }
  spdlog::info("installed snapshot at index {} term {} (revision {}) in {} ms", w->meta.index,
               w->meta.term, store_.revision(), monotonic_ms() - started);
  return true;
}

}  // namespace cairn::server
