#include "client/file_cache.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>

namespace cairn::client_detail {

namespace {

bool make_dirs(const std::string& dir) {
  std::string partial;
  std::stringstream in(dir);
  std::string part;
  if (!dir.empty() && dir.front() == '/') partial = "/";
  while (std::getline(in, part, '/')) {
    if (part.empty()) continue;
    partial += part;
    if (::mkdir(partial.c_str(), 0755) != 0 && errno != EEXIST) return false;
    partial += "/";
  }
  return true;
}

bool write_all(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    off += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

FileCache::FileCache(std::string dir) : dir_(std::move(dir)) {
  while (dir_.size() > 1 && dir_.back() == '/') dir_.pop_back();
}

std::string FileCache::path_of(const std::string& ns) const {
  // Namespace names are [A-Za-z0-9._-]: safe in a file name once prefixed (no "." or "..").
  return dir_ + "/ns-" + ns + ".json";
}

std::optional<CachedNamespace> FileCache::load(const std::string& ns) const {
  std::lock_guard lock(mu_);
  return load_locked(ns);
}

std::optional<CachedNamespace> FileCache::load_locked(const std::string& ns) const {
  if (!enabled()) return std::nullopt;
  if (auto it = memo_.find(ns); it != memo_.end()) return it->second;
  std::ifstream in(path_of(ns), std::ios::binary);
  if (!in) return std::nullopt;
  std::stringstream buf;
  buf << in.rdbuf();
  Json j = Json::parse(buf.str(), nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || j.value("namespace", "") != ns || !j.contains("configs") ||
      !j["configs"].is_object()) {
    return std::nullopt;
  }
  CachedNamespace out;
  out.ns = ns;
  out.revision = j.value("revision", int64_t{0});
  out.updated_at = j.value("updated_at", "");
  out.complete = j.value("complete", false);
  for (auto it = j["configs"].begin(); it != j["configs"].end(); ++it) {
    out.configs[it.key()] = it.value();
  }
  if (j.contains("versions") && j["versions"].is_object()) {
    for (auto it = j["versions"].begin(); it != j["versions"].end(); ++it) {
      if (it.value().is_number_integer()) out.versions[it.key()] = it.value().get<int64_t>();
    }
  }
  memo_[ns] = out;
  return out;
}

bool FileCache::store(const CachedNamespace& content, std::string* error) {
  std::lock_guard lock(mu_);
  return store_locked(content, error);
}

bool FileCache::store_locked(const CachedNamespace& content, std::string* error) {
  if (!enabled()) return true;
  auto fail = [&](const std::string& what) {
    if (error != nullptr) *error = what + ": " + std::strerror(errno);
    return false;
  };
  if (!make_dirs(dir_)) return fail("cannot create " + dir_);
  Json j = Json::object();
  j["namespace"] = content.ns;
  j["revision"] = content.revision;
  j["updated_at"] = content.updated_at;
  j["complete"] = content.complete;
  j["saved_at"] = static_cast<int64_t>(std::time(nullptr));
  j["configs"] = Json::object();
  for (const auto& [k, v] : content.configs) j["configs"][k] = v;
  j["versions"] = Json::object();
  for (const auto& [k, v] : content.versions) j["versions"][k] = v;
  const std::string text = j.dump();

  static std::atomic<uint64_t> counter{0};
  const std::string final_path = path_of(content.ns);
  const std::string tmp = final_path + ".tmp." + std::to_string(::getpid()) + "." +
                          std::to_string(counter.fetch_add(1));
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return fail("cannot create " + tmp);
  if (!write_all(fd, text) || ::fsync(fd) != 0) {
    auto r = fail("cannot write " + tmp);
    ::close(fd);
    ::unlink(tmp.c_str());
    return r;
  }
  ::close(fd);
  if (::rename(tmp.c_str(), final_path.c_str()) != 0) {
    auto r = fail("cannot rename " + tmp);
    ::unlink(tmp.c_str());
    return r;
  }
  int dfd = ::open(dir_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  memo_[content.ns] = content;
  return true;
}

bool FileCache::merge_key(const std::string& ns, const std::string& key, const Json& value,
                          int64_t version, std::string* error) {
  if (!enabled()) return true;
  std::lock_guard lock(mu_);
  auto current = load_locked(ns);
  CachedNamespace content = current ? std::move(*current) : CachedNamespace{};
  content.ns = ns;
  auto it = content.configs.find(key);
  auto vit = content.versions.find(key);
  if (it != content.configs.end() && it->second == value && vit != content.versions.end() &&
      vit->second == version) {
    return true;  // nothing new: spare the fsync
  }
  content.configs[key] = value;
  content.versions[key] = version;
  return store_locked(content, error);
}

}  // namespace cairn::client_detail
