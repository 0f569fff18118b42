// Secret commands (docs/secrets.md): re-wrapping stored data keys under another KEK.

#include "secrets/sealed.h"
#include "store/apply_internal.h"

namespace cairn::store::apply_detail {

R<Outcome> rewrap_secrets(Ctx& ctx, const api::RewrapSecrets& c) {
  if (c.values.empty() || c.values.size() > kMaxRewrapBatch) {
    return fail(Errc::kValidation,
                "values must hold 1 to " + std::to_string(kMaxRewrapBatch) + " items", "values");
  }
  api::SecretsRewrapped out;
  for (const auto& v : c.values) {
    // Only the wrapping may change: same version, nonce and ciphertext, so that a rewrap can
    // never put another value in place of a stored one.
    auto from = secrets::decode_sealed(v.from);
    auto to = secrets::decode_sealed(v.to);
    if (!from || !to || from->version != to->version || from->nonce != to->nonce ||
        from->ciphertext != to->ciphertext) {
      return fail(Errc::kValidation, "item for " + squote(v.ns) + "/" + squote(v.key) +
                                         " does not re-wrap one sealed value", "values");
    }
    // The namespace's id, also when it was deleted since (its history stays, by id).
    std::optional<int64_t> id;
    {
      Stmt s = ctx.db.prepare(
          "SELECT id FROM namespace WHERE name = ? UNION ALL "
          "SELECT id FROM namespace_tombstone WHERE name = ?");
      s.bind(v.ns).bind(v.ns);
      if (s.step()) id = s.i64(0);
    }
    int64_t changed = 0;
    if (id) {
      for (const char* sql :
           {"UPDATE config SET value = ? WHERE namespace_id = ? AND \"key\" = ? AND value = ?",
            "UPDATE config_version SET value = ? WHERE namespace_id = ? AND \"key\" = ? AND "
            "value = ?",
            "UPDATE config_history SET old_value = ? WHERE namespace_id = ? AND \"key\" = ? AND "
            "old_value = ?",
            "UPDATE config_history SET new_value = ? WHERE namespace_id = ? AND \"key\" = ? AND "
            "new_value = ?"}) {
        ctx.db.prepare(sql).bind(v.to).bind(*id).bind(v.key).bind(v.from).run();
        changed += ctx.db.changes();
      }
    }
    if (changed > 0) {
      ++out.rewrapped;
    } else {
      ++out.skipped;
    }
  }
  // Bookkeeping: no version, revision or watch event changes (the plaintext is the same).
  return Outcome{out, false};
}

}  // namespace cairn::store::apply_detail
