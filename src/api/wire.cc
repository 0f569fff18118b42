#include "api/wire.h"

#include <charconv>
#include <limits>

#include "common/json.h"

namespace cairn::api {
namespace {

// ---- encode helpers ----

void member_name(std::string& out, bool& first, std::string_view name) {
  out += first ? '{' : ',';
  first = false;
  out += '"';
  out += name;  // member names are plain ASCII: no escaping needed
  out += "\":";
}

/// Writes an object member by member: `{"a":1,"b":"x"}`.
class ObjectWriter {
 public:
  explicit ObjectWriter(std::string& out) : out_(out) {}
  ~ObjectWriter() { out_ += first_ ? "{}" : "}"; }
  ObjectWriter(const ObjectWriter&) = delete;
  ObjectWriter& operator=(const ObjectWriter&) = delete;

  ObjectWriter& str(std::string_view name, std::string_view v) {
    member_name(out_, first_, name);
    append_json_string(out_, v);
    return *this;
  }
  ObjectWriter& num(std::string_view name, int64_t v) {
    member_name(out_, first_, name);
    out_ += std::to_string(v);
    return *this;
  }
  ObjectWriter& unum(std::string_view name, uint64_t v) {
    member_name(out_, first_, name);
    out_ += std::to_string(v);
    return *this;
  }
  ObjectWriter& boolean(std::string_view name, bool v) {
    member_name(out_, first_, name);
    out_ += v ? "true" : "false";
    return *this;
  }
  /// A JSON text spliced in verbatim (a value, or a nested object or array).
  ObjectWriter& raw(std::string_view name, std::string_view json) {
    member_name(out_, first_, name);
    out_ += json;
    return *this;
  }
  ObjectWriter& strings(std::string_view name, const std::vector<std::string>& v) {
    member_name(out_, first_, name);
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ',';
      append_json_string(out_, v[i]);
    }
    out_ += ']';
    return *this;
  }
  /// Writes the name of a member whose value the caller appends to the returned string.
  std::string& member(std::string_view name) {
    member_name(out_, first_, name);
    return out_;
  }
  template <class T>
  ObjectWriter& object(std::string_view name, const T& v) {
    member_name(out_, first_, name);
    append_json(out_, v);
    return *this;
  }
  template <class T>
  ObjectWriter& array(std::string_view name, const std::vector<T>& v) {
    member_name(out_, first_, name);
    out_ += '[';
    for (size_t i = 0; i < v.size(); ++i) {
      if (i) out_ += ',';
      append_json(out_, v[i]);
    }
    out_ += ']';
    return *this;
  }

 private:
  std::string& out_;
  bool first_ = true;
};

template <class Row>
void append_paged(std::string& out, const std::vector<Row>& list, const Pagination& pagination) {
  ObjectWriter(out).array("list", list).object("pagination", pagination);
}

// ---- decode helpers ----

Error malformed(std::string_view what, std::string_view field) {
  return make_error(Errc::kBadRequest, std::string(what) + ": " +
                                           (field.empty() ? "not a JSON object"
                                                          : std::string(field) + " has the wrong type"),
                    std::string(field));
}

/// Reads the members of one object. The first problem is kept in `error` and every later read
/// is skipped, so that a decoder reads straight through and checks once at the end.
class ObjectReader {
 public:
  ObjectReader(std::string_view text, std::string_view what) : what_(what) {
    auto members = json_member_texts(text);
    if (!members) {
      error = malformed(what, "");
    } else {
      members_ = std::move(*members);
    }
  }

  std::optional<Error> error;

  /// The raw text of `name` (the last one, as the parser keeps), nullopt when absent.
  std::optional<std::string_view> find(std::string_view name) const {
    for (auto it = members_.rbegin(); it != members_.rend(); ++it) {
      if (it->first == name) return it->second;
    }
    return std::nullopt;
  }

  void str(std::string_view name, std::string& out) {
    auto t = scalar(name);
    if (!t) return;
    if (t->size() >= 2 && t->front() == '"' && t->back() == '"' &&
        t->find('\\') == std::string_view::npos) {
      out.assign(t->substr(1, t->size() - 2));
      return;
    }
    Json decoded = Json::parse(t->begin(), t->end(), nullptr, /*allow_exceptions=*/false);
    if (!decoded.is_string()) return fail(name);
    out = decoded.get<std::string>();
  }
  void num(std::string_view name, int64_t& out) { integer(name, out); }
  void num(std::string_view name, uint64_t& out) { integer(name, out); }
  void num(std::string_view name, int& out) { integer(name, out); }
  void num(std::string_view name, std::optional<int64_t>& out) {
    int64_t v = 0;
    if (!scalar(name)) return;
    integer(name, v);
    if (!error) out = v;
  }
  void boolean(std::string_view name, bool& out) {
    auto t = scalar(name);
    if (!t) return;
    if (*t == "true") {
      out = true;
    } else if (*t == "false") {
      out = false;
    } else {
      fail(name);
    }
  }
  /// A JSON value member: its compact text, "null" included.
  void value(std::string_view name, std::string& out) {
    if (error) return;
    if (auto t = find(name)) out = compact_json_text(*t);
  }
  void value(std::string_view name, std::optional<std::string>& out) {
    if (error) return;
    if (auto t = find(name)) out = compact_json_text(*t);
  }
  void strings(std::string_view name, std::vector<std::string>& out) {
    auto t = scalar(name);
    if (!t) return;
    auto items = json_element_texts(*t);
    if (!items) return fail(name);
    out.clear();
    for (std::string_view item : *items) {
      Json decoded = Json::parse(item.begin(), item.end(), nullptr, /*allow_exceptions=*/false);
      if (!decoded.is_string()) return fail(name);
      out.push_back(decoded.get<std::string>());
    }
  }
  void strings(std::string_view name, std::optional<std::vector<std::string>>& out) {
    if (error || !scalar(name)) return;
    std::vector<std::string> v;
    strings(name, v);
    if (!error) out = std::move(v);
  }
  /// A nested object or array, decoded by `decode(text)` (a Result).
  template <class T, class Decode>
  void nested(std::string_view name, T& out, Decode decode) {
    auto t = scalar(name);
    if (!t) return;
    auto r = decode(*t);
    if (!r.ok()) {
      error = r.error();
      return;
    }
    out = std::move(*r);
  }

 private:
  /// The member's text when present and not null (and nothing failed yet).
  std::optional<std::string_view> scalar(std::string_view name) const {
    if (error) return std::nullopt;
    auto t = find(name);
    if (!t || *t == "null") return std::nullopt;
    return t;
  }
  template <class N>
  void integer(std::string_view name, N& out) {
    auto t = scalar(name);
    if (!t) return;
    N v{};
    auto [end, ec] = std::from_chars(t->data(), t->data() + t->size(), v);
    if (ec != std::errc() || end != t->data() + t->size()) return fail(name);
    out = v;
  }
  void fail(std::string_view name) {
    if (!error) error = malformed(what_, name);
  }

  std::string_view what_;
  std::vector<std::pair<std::string, std::string_view>> members_;
};

/// Decoders of the structs from already validated text (from_json validates once, up front).
Result<Pagination, Error> decode_pagination(std::string_view text);
Result<NamespaceRetention, Error> decode_retention(std::string_view text);
Result<ConfigValue, Error> decode_config_value(std::string_view text);
Result<BatchGetItem, Error> decode_batch_item(std::string_view text);
Result<ConfigRow, Error> decode_config_row(std::string_view text);
Result<VersionRow, Error> decode_version_row(std::string_view text);
Result<HistoryRow, Error> decode_history_row(std::string_view text);
Result<NamespaceRow, Error> decode_namespace_row(std::string_view text);
Result<WatchChange, Error> decode_watch_change(std::string_view text);

/// Each element of an array member decoded by `decode`.
template <class T, class Decode>
auto array_of(Decode decode) {
  return [decode](std::string_view text) -> Result<std::vector<T>, Error> {
    auto items = json_element_texts(text);
    if (!items) return Unexpected{make_error(Errc::kBadRequest, "not a JSON array")};
    std::vector<T> out;
    out.reserve(items->size());
    for (std::string_view item : *items) {
      auto r = decode(item);
      if (!r.ok()) return Unexpected{r.error()};
      out.push_back(std::move(*r));
    }
    return out;
  };
}

template <class T>
Result<T, Error> finish(ObjectReader& r, T v) {
  if (r.error) return Unexpected{std::move(*r.error)};
  return v;
}

Result<Pagination, Error> decode_pagination(std::string_view text) {
  ObjectReader r(text, "pagination");
  Pagination v;
  r.num("page", v.page);
  r.num("page_size", v.page_size);
  r.num("total", v.total);
  r.num("total_pages", v.total_pages);
  return finish(r, v);
}

Result<NamespaceRetention, Error> decode_retention(std::string_view text) {
  ObjectReader r(text, "retention");
  NamespaceRetention v;
  r.num("keep_latest", v.keep_latest);
  r.num("keep_days", v.keep_days);
  return finish(r, v);
}

Result<ConfigValue, Error> decode_config_value(std::string_view text) {
  ObjectReader r(text, "config");
  ConfigValue v;
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.value("value", v.value);
  r.num("version", v.version);
  r.str("updated_at", v.updated_at);
  r.str("warning", v.warning);
  r.boolean("secret", v.secret);
  return finish(r, std::move(v));
}

Result<BatchGetItem, Error> decode_batch_item(std::string_view text) {
  ObjectReader r(text, "configs[]");
  BatchGetItem v;
  r.str("key", v.key);
  r.value("value", v.value);
  r.num("version", v.version);
  r.boolean("secret", v.secret);
  return finish(r, std::move(v));
}

Result<ConfigRow, Error> decode_config_row(std::string_view text) {
  ObjectReader r(text, "config row");
  ConfigRow v;
  r.num("id", v.id);
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.value("value", v.value);
  r.num("version", v.version);
  r.str("description", v.description);
  r.num("status", v.status);
  r.str("created_by", v.created_by);
  r.str("updated_by", v.updated_by);
  r.str("created_at", v.created_at);
  r.str("updated_at", v.updated_at);
  r.boolean("secret", v.secret);
  return finish(r, std::move(v));
}

Result<VersionRow, Error> decode_version_row(std::string_view text) {
  ObjectReader r(text, "version row");
  VersionRow v;
  r.num("version", v.version);
  r.value("value", v.value);
  r.str("created_by", v.created_by);
  r.str("created_at", v.created_at);
  r.boolean("is_current", v.is_current);
  r.strings("tags", v.tags);
  r.boolean("secret", v.secret);
  return finish(r, std::move(v));
}

Result<HistoryRow, Error> decode_history_row(std::string_view text) {
  ObjectReader r(text, "history row");
  HistoryRow v;
  r.num("id", v.id);
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.value("old_value", v.old_value);
  r.value("new_value", v.new_value);
  r.num("version", v.version);
  r.str("operation", v.operation);
  r.str("operator", v.operator_name);
  r.num("revision", v.revision);
  r.str("created_at", v.created_at);
  r.boolean("secret", v.secret);
  if (r.find("release_id")) r.str("release_id", v.release_id);
  return finish(r, std::move(v));
}

Result<NamespaceRow, Error> decode_namespace_row(std::string_view text) {
  ObjectReader r(text, "namespace row");
  NamespaceRow v;
  r.num("id", v.id);
  r.str("name", v.name);
  r.str("description", v.description);
  r.num("status", v.status);
  r.num("config_count", v.config_count);
  r.num("revision", v.revision);
  r.str("created_at", v.created_at);
  r.str("updated_at", v.updated_at);
  r.nested("retention", v.retention, decode_retention);
  r.strings("secret_keys", v.secret_keys);
  return finish(r, std::move(v));
}

Result<WatchChange, Error> decode_watch_change(std::string_view text) {
  ObjectReader r(text, "change");
  WatchChange v;
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.str("operation", v.operation);
  r.num("version", v.version);
  r.num("revision", v.revision);
  r.value("value", v.value);
  r.boolean("secret", v.secret);
  return finish(r, std::move(v));
}

/// The decoder of each row type, for decode_paged.
Result<ConfigRow, Error> decode_row(std::string_view t, const ConfigRow*) {
  return decode_config_row(t);
}
Result<VersionRow, Error> decode_row(std::string_view t, const VersionRow*) {
  return decode_version_row(t);
}
Result<HistoryRow, Error> decode_row(std::string_view t, const HistoryRow*) {
  return decode_history_row(t);
}
Result<NamespaceRow, Error> decode_row(std::string_view t, const NamespaceRow*) {
  return decode_namespace_row(t);
}

template <class Row>
Result<Paged<Row>, Error> decode_paged(std::string_view text) {
  ObjectReader r(text, "list");
  Paged<Row> v;
  auto decode = [](std::string_view t) { return decode_row(t, static_cast<const Row*>(nullptr)); };
  r.nested("list", v.list, array_of<Row>(decode));
  r.nested("pagination", v.pagination, decode_pagination);
  return finish(r, std::move(v));
}

Result<BatchGet, Error> decode_batch_get(std::string_view text) {
  ObjectReader r(text, "batch-get");
  BatchGet v;
  r.str("namespace", v.ns);
  r.nested("configs", v.configs, array_of<BatchGetItem>(decode_batch_item));
  r.strings("missing", v.missing);
  return finish(r, std::move(v));
}

Result<NamespaceConfigs, Error> decode_namespace_configs(std::string_view text) {
  ObjectReader r(text, "namespace");
  NamespaceConfigs v;
  r.str("namespace", v.ns);
  auto pairs = [](std::string_view t) -> Result<std::vector<std::pair<std::string, std::string>>,
                                                Error> {
    auto members = json_member_texts(t);
    if (!members) return Unexpected{malformed("namespace", "configs")};
    std::vector<std::pair<std::string, std::string>> out;
    out.reserve(members->size());
    for (auto& [key, value] : *members) out.emplace_back(std::move(key), compact_json_text(value));
    return out;
  };
  r.nested("configs", v.configs, pairs);
  r.num("version", v.revision);
  r.str("updated_at", v.updated_at);
  if (r.find("at")) {
    std::string at;
    r.str("at", at);
    v.at = std::move(at);
  }
  r.strings("unavailable", v.unavailable);
  r.strings("secret_keys", v.secret_keys);
  return finish(r, std::move(v));
}

Result<VersionList, Error> decode_version_list(std::string_view text) {
  ObjectReader r(text, "versions");
  VersionList v;
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.nested("list", v.list, array_of<VersionRow>(decode_version_row));
  r.nested("pagination", v.pagination, decode_pagination);
  return finish(r, std::move(v));
}

Result<DiffChange, Error> decode_diff_change(std::string_view text) {
  ObjectReader r(text, "changes[]");
  DiffChange v;
  r.str("path", v.path);
  r.value("from", v.from);
  r.value("to", v.to);
  r.str("type", v.type);
  return finish(r, std::move(v));
}

Result<Diff, Error> decode_diff(std::string_view text) {
  ObjectReader r(text, "diff");
  Diff v;
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.num("from_version", v.from_version);
  r.num("to_version", v.to_version);
  r.nested("changes", v.changes, array_of<DiffChange>(decode_diff_change));
  return finish(r, std::move(v));
}

Result<Rollback, Error> decode_rollback(std::string_view text) {
  ObjectReader r(text, "rollback");
  Rollback v;
  r.str("namespace", v.ns);
  r.str("key", v.key);
  r.num("current_version", v.current_version);
  r.num("previous_version", v.previous_version);
  return finish(r, std::move(v));
}

Result<WatchPoll, Error> decode_watch_poll(std::string_view text) {
  ObjectReader r(text, "watch");
  WatchPoll v;
  r.str("namespace", v.ns);
  r.boolean("changed", v.changed);
  r.boolean("reset", v.reset);
  r.num("revision", v.revision);
  r.nested("changes", v.changes, array_of<WatchChange>(decode_watch_change));
  return finish(r, std::move(v));
}

Result<WatchReset, Error> decode_watch_reset(std::string_view text) {
  ObjectReader r(text, "reset");
  WatchReset v;
  r.str("namespace", v.ns);
  r.num("revision", v.revision);
  return finish(r, std::move(v));
}

/// The text must be JSON before the member scanner may read it (its contract).
std::optional<Error> not_json(std::string_view text) {
  if (Json::accept(text.begin(), text.end())) return std::nullopt;
  return make_error(Errc::kBadRequest, "not JSON");
}

}  // namespace

// ---- encode ----

void append_json(std::string& out, const Pagination& v) {
  ObjectWriter(out)
      .num("page", v.page)
      .num("page_size", v.page_size)
      .num("total", v.total)
      .num("total_pages", v.total_pages);
}

void append_json(std::string& out, const ConfigValue& v) {
  out.reserve(out.size() + v.ns.size() + v.key.size() + v.value.size() + 96);
  ObjectWriter w(out);
  w.str("namespace", v.ns)
      .str("key", v.key)
      .raw("value", v.value)
      .num("version", v.version)
      .str("updated_at", v.updated_at);
  if (!v.warning.empty()) w.str("warning", v.warning);
  if (v.secret) w.boolean("secret", true);
}

void append_json(std::string& out, const BatchGetItem& v) {
  ObjectWriter w(out);
  w.str("key", v.key).raw("value", v.value).num("version", v.version);
  if (v.secret) w.boolean("secret", true);
}

void append_json(std::string& out, const BatchGet& v) {
  ObjectWriter(out).str("namespace", v.ns).array("configs", v.configs).strings("missing", v.missing);
}

void append_json(std::string& out, const NamespaceConfigs& v) {
  ObjectWriter w(out);
  w.str("namespace", v.ns);
  w.member("configs") += '{';
  for (size_t i = 0; i < v.configs.size(); ++i) {
    if (i) out += ',';
    append_json_string(out, v.configs[i].first);
    out += ':';
    out += v.configs[i].second;
  }
  out += '}';
  w.num("version", v.revision).str("updated_at", v.updated_at);
  if (v.at) w.str("at", *v.at).strings("unavailable", v.unavailable);
  if (!v.secret_keys.empty()) w.strings("secret_keys", v.secret_keys);
}

void append_json(std::string& out, const ConfigRow& v) {
  ObjectWriter w(out);
  w.num("id", v.id)
      .str("namespace", v.ns)
      .str("key", v.key)
      .raw("value", v.value)
      .num("version", v.version)
      .str("description", v.description)
      .num("status", v.status)
      .str("created_by", v.created_by)
      .str("updated_by", v.updated_by)
      .str("created_at", v.created_at)
      .str("updated_at", v.updated_at);
  if (v.secret) w.boolean("secret", true);
  if (v.schema_violation) w.raw("schema_violation", "true");
}

void append_json(std::string& out, const VersionRow& v) {
  ObjectWriter w(out);
  w.num("version", v.version)
      .raw("value", v.value)
      .str("created_by", v.created_by)
      .str("created_at", v.created_at)
      .boolean("is_current", v.is_current);
  if (v.tags) w.strings("tags", *v.tags);
  if (v.secret) w.boolean("secret", true);
}

void append_json(std::string& out, const HistoryRow& v) {
  ObjectWriter w(out);
  w.num("id", v.id)
      .str("namespace", v.ns)
      .str("key", v.key)
      .raw("old_value", v.old_value)
      .raw("new_value", v.new_value)
      .num("version", v.version)
      .str("operation", v.operation)
      .str("operator", v.operator_name);
  if (v.revision) w.num("revision", *v.revision);
  w.str("created_at", v.created_at);
  if (v.secret) w.boolean("secret", true);
  if (!v.release_id.empty()) w.str("release_id", v.release_id);
}

void append_json(std::string& out, const NamespaceRow& v) {
  ObjectWriter w(out);
  w.num("id", v.id)
      .str("name", v.name)
      .str("description", v.description)
      .num("status", v.status)
      .num("config_count", v.config_count)
      .num("revision", v.revision)
      .str("created_at", v.created_at)
      .str("updated_at", v.updated_at);
  if (v.retention) {
    ObjectWriter(w.member("retention"))
        .num("keep_latest", v.retention->keep_latest)
        .num("keep_days", v.retention->keep_days);
  }
  if (!v.secret_keys.empty()) w.strings("secret_keys", v.secret_keys);
}

void append_json(std::string& out, const Paged<ConfigRow>& v) {
  append_paged(out, v.list, v.pagination);
}
void append_json(std::string& out, const Paged<VersionRow>& v) {
  append_paged(out, v.list, v.pagination);
}
void append_json(std::string& out, const Paged<HistoryRow>& v) {
  append_paged(out, v.list, v.pagination);
}
void append_json(std::string& out, const Paged<NamespaceRow>& v) {
  append_paged(out, v.list, v.pagination);
}

void append_json(std::string& out, const VersionList& v) {
  ObjectWriter(out)
      .str("namespace", v.ns)
      .str("key", v.key)
      .array("list", v.list)
      .object("pagination", v.pagination);
}

void append_json(std::string& out, const DiffChange& v) {
  ObjectWriter(out).str("path", v.path).raw("from", v.from).raw("to", v.to).str("type", v.type);
}

void append_json(std::string& out, const Diff& v) {
  ObjectWriter(out)
      .str("namespace", v.ns)
      .str("key", v.key)
      .num("from_version", v.from_version)
      .num("to_version", v.to_version)
      .array("changes", v.changes);
}

void append_json(std::string& out, const Rollback& v) {
  ObjectWriter(out)
      .str("namespace", v.ns)
      .str("key", v.key)
      .num("current_version", v.current_version)
      .num("previous_version", v.previous_version);
}

void append_json(std::string& out, const WatchChange& v) {
  ObjectWriter w(out);
  if (!v.ns.empty()) w.str("namespace", v.ns);
  w.str("key", v.key)
      .str("operation", v.operation)
      .num("version", v.version)
      .unum("revision", v.revision);
  if (v.value) w.raw("value", *v.value);
  if (v.secret) w.boolean("secret", true);
}

void append_json(std::string& out, const WatchPoll& v) {
  ObjectWriter(out)
      .str("namespace", v.ns)
      .boolean("changed", v.changed)
      .boolean("reset", v.reset)
      .unum("revision", v.revision)
      .array("changes", v.changes);
}

void append_json(std::string& out, const WatchReset& v) {
  ObjectWriter(out).str("namespace", v.ns).unum("revision", v.revision);
}

// ---- decode ----

/// from_json<T> for a T whose decoder is `decode`: validates the text once, then decodes.
#define CAIRN_API_FROM_JSON(T, decode)                        \
  template <>                                                 \
  Result<T, Error> from_json<T>(std::string_view text) {      \
    if (auto bad = not_json(text)) return Unexpected{*bad};   \
    return decode(text);                                      \
  }

CAIRN_API_FROM_JSON(Pagination, decode_pagination)
CAIRN_API_FROM_JSON(ConfigValue, decode_config_value)
CAIRN_API_FROM_JSON(BatchGetItem, decode_batch_item)
CAIRN_API_FROM_JSON(BatchGet, decode_batch_get)
CAIRN_API_FROM_JSON(NamespaceConfigs, decode_namespace_configs)
CAIRN_API_FROM_JSON(ConfigRow, decode_config_row)
CAIRN_API_FROM_JSON(VersionRow, decode_version_row)
CAIRN_API_FROM_JSON(HistoryRow, decode_history_row)
CAIRN_API_FROM_JSON(NamespaceRow, decode_namespace_row)
CAIRN_API_FROM_JSON(Paged<ConfigRow>, decode_paged<ConfigRow>)
CAIRN_API_FROM_JSON(Paged<VersionRow>, decode_paged<VersionRow>)
CAIRN_API_FROM_JSON(Paged<HistoryRow>, decode_paged<HistoryRow>)
CAIRN_API_FROM_JSON(Paged<NamespaceRow>, decode_paged<NamespaceRow>)
CAIRN_API_FROM_JSON(VersionList, decode_version_list)
CAIRN_API_FROM_JSON(DiffChange, decode_diff_change)
CAIRN_API_FROM_JSON(Diff, decode_diff)
CAIRN_API_FROM_JSON(Rollback, decode_rollback)
CAIRN_API_FROM_JSON(WatchChange, decode_watch_change)
CAIRN_API_FROM_JSON(WatchPoll, decode_watch_poll)
CAIRN_API_FROM_JSON(WatchReset, decode_watch_reset)

#undef CAIRN_API_FROM_JSON

}  // namespace cairn::api
