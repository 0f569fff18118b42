#include "api/backup.h"

#include "common/json.h"

namespace cairn::api {

Json backup_header_json(const BackupHeader& h) {
  return {{"format_version", h.format_version},
          {"cluster_id", h.cluster_id},
          {"node_id", h.node_id},
          {"cairn_version", h.cairn_version},
          {"created_at_ms", h.created_at_ms},
          {"applied_index", h.applied_index},
          {"revision", h.revision},
          {"schema_version", h.schema_version},
          {"checksum", h.checksum},
          {"payload_bytes", h.payload_bytes},
          {"payload_sha256", h.payload_sha256},
          {"secret_key_ids", h.secret_key_ids}};
}

std::string encode_backup_header(const BackupHeader& h) {
  return std::string(kBackupMagic) + dump_compact(backup_header_json(h)) + "\n";
}

Result<DecodedBackupHeader, std::string> decode_backup_header(std::string_view prefix) {
  using U = Unexpected<std::string>;
  if (prefix.size() < kBackupMagic.size()) {
    if (kBackupMagic.substr(0, prefix.size()) == prefix) return U{"incomplete backup header"};
    return U{"not a Cairn backup (no CAIRN-BACKUP line)"};
  }
  if (prefix.substr(0, kBackupMagic.size()) != kBackupMagic) {
    return U{"not a Cairn backup (no CAIRN-BACKUP line)"};
  }
  std::string_view rest = prefix.substr(kBackupMagic.size());
  size_t end = rest.find('\n');
  if (end == std::string_view::npos) {
    if (rest.size() > kMaxBackupHeaderBytes) return U{"backup header longer than 64 KiB"};
    return U{"incomplete backup header"};
  }
  if (end > kMaxBackupHeaderBytes) return U{"backup header longer than 64 KiB"};
  auto parsed = parse_json(rest.substr(0, end), 8);
  if (!parsed || !parsed->is_object()) return U{"backup header is not a JSON object"};
  const Json& j = *parsed;
  DecodedBackupHeader out;
  BackupHeader& h = out.header;
  auto int_field = [&](const char* name, auto& into) -> bool {
    auto it = j.find(name);
    if (it == j.end() || !it->is_number_integer()) return false;
    using T = std::remove_reference_t<decltype(into)>;
    if constexpr (std::is_unsigned_v<T>) {
      if (it->is_number_unsigned()) {
        into = it->template get<T>();
        return true;
      }
      int64_t v = it->template get<int64_t>();
      if (v < 0) return false;
      into = static_cast<T>(v);
    } else {
      if (it->is_number_unsigned() && it->template get<uint64_t>() > INT64_MAX) return false;
      into = it->template get<int64_t>();
    }
    return true;
  };
  auto text_field = [&](const char* name, std::string& into) -> bool {
    auto it = j.find(name);
    if (it == j.end() || !it->is_string()) return false;
    into = it->get<std::string>();
    return true;
  };
  if (!int_field("format_version", h.format_version) || h.format_version < 1) {
    return U{"backup header lacks a valid format_version"};
  }
  if (h.format_version > kBackupFormatVersion) {
    return U{"backup format version " + std::to_string(h.format_version) +
             " is newer than this release's " + std::to_string(kBackupFormatVersion) +
             "; restore it with a newer cairn"};
  }
  if (!text_field("cluster_id", h.cluster_id) || !text_field("node_id", h.node_id) ||
      !text_field("cairn_version", h.cairn_version) || !text_field("checksum", h.checksum) ||
      !text_field("payload_sha256", h.payload_sha256) ||
      !int_field("created_at_ms", h.created_at_ms) ||
      !int_field("applied_index", h.applied_index) || !int_field("revision", h.revision) ||
      !int_field("schema_version", h.schema_version) ||
      !int_field("payload_bytes", h.payload_bytes)) {
    return U{"backup header lacks a field or has one of the wrong type"};
  }
  if (h.checksum.size() != 64 || h.payload_sha256.size() != 64) {
    return U{"backup header: checksum and payload_sha256 must be 64 hex digits"};
  }
  if (auto it = j.find("secret_key_ids"); it != j.end()) {
    if (!it->is_array()) return U{"backup header: secret_key_ids must be an array"};
    for (const auto& id : *it) {
      if (!id.is_string()) return U{"backup header: secret_key_ids must hold strings"};
      h.secret_key_ids.push_back(id.get<std::string>());
    }
  }
  out.payload_offset = kBackupMagic.size() + end + 1;
  return out;
}

}  // namespace cairn::api
