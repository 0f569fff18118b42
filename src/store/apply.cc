// The state machine: Store::apply and one function per command. Every state-dependent check
// runs here, on the write connection inside the command's transaction, and reads only the
// database and the command (never the clock, never randomness), so that equal logs give equal
// tables on every node.
//
// This file: dispatch of each command, its transaction, and its audit entry; the commands
// themselves are in apply_<area>.cc (apply_internal.h).

#include <algorithm>
#include <string>

#include "store/apply_internal.h"
#include "store/schema.h"

namespace cairn::store {
namespace {

using namespace apply_detail;

std::optional<api::AuditEntry> audit_entry(Conn& db, const api::Command& command, int64_t ts) {
  api::AuditEntry e{ts, command.operator_name, command.client_ip, "", "", "", 0,
                    command.request_id};
  std::visit(
      [&](const auto& c) {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, api::CreateNamespace>) {
          e.action = "namespace.create";
          e.ns = c.name;
        } else if constexpr (std::is_same_v<T, api::UpdateNamespace> ||
                             std::is_same_v<T, api::DeleteNamespace> ||
                             std::is_same_v<T, api::SetNamespaceSchema>) {
          e.action = std::is_same_v<T, api::UpdateNamespace>   ? "namespace.update"
                     : std::is_same_v<T, api::DeleteNamespace> ? "namespace.delete"
                                                               : "namespace.schema";
          if (auto row = namespace_by_id(db, c.id)) e.ns = row->name;
        } else if constexpr (std::is_same_v<T, api::WriteConfigs>) {
          e.ns = c.ns;
          if (c.batch || c.ops.size() != 1) {
            e.action = "config.batch";
          } else {
            e.action = "config." + std::string(api::op_name(c.ops[0].op));
            e.key = c.ops[0].key;
          }
        } else if constexpr (std::is_same_v<T, api::RollbackConfig>) {
          e.action = "config.rollback";
          e.ns = c.ns;
          e.key = c.key;
        } else if constexpr (std::is_same_v<T, api::TagVersion>) {
          e.action = c.remove ? "config.untag" : "config.tag";
          e.ns = c.ns;
          e.key = c.key;
        } else if constexpr (std::is_same_v<T, api::CleanupVersions>) {
          e.action = c.dry_run ? "config.cleanup.dry_run" : "config.cleanup";
          e.ns = c.ns.value_or("");
        } else if constexpr (std::is_same_v<T, api::SetMemberAddress>) {
          e.action = c.remove ? "cluster.member.remove" : "cluster.member.set";
          e.key = std::to_string(c.id);
        } else if constexpr (std::is_same_v<T, api::CreateToken>) {
          e.action = "token.create";
          e.key = c.id;
        } else if constexpr (std::is_same_v<T, api::RevokeToken>) {
          e.action = "token.revoke";
          e.key = c.id;
        } else if constexpr (std::is_same_v<T, api::RewrapSecrets>) {
          e.action = "secret.rewrap";
          e.key = std::to_string(c.values.size());
        } else if constexpr (std::is_same_v<T, api::StartRelease>) {
          e.action = "release.start";
          e.ns = c.ns;
          e.key = c.id;
        } else if constexpr (std::is_same_v<T, api::TransitionRelease>) {
          e.action = "release." + c.action;
          e.ns = c.ns;
          e.key = c.id;
        }
      },
      command.body);
  if (e.action.empty()) return std::nullopt;
  return e;
}

R<Outcome> run(Ctx& ctx, const api::CommandBody& body) {
  return std::visit(
      [&ctx](const auto& c) -> R<Outcome> {
        using T = std::decay_t<decltype(c)>;
        if constexpr (std::is_same_v<T, api::CreateNamespace>) {
          return create_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::UpdateNamespace>) {
          return update_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::DeleteNamespace>) {
          return delete_namespace(ctx, c);
        } else if constexpr (std::is_same_v<T, api::WriteConfigs>) {
          return write_configs(ctx, c);
        } else if constexpr (std::is_same_v<T, api::SetMemberAddress>) {
          return set_member_address(ctx, c);
        } else if constexpr (std::is_same_v<T, api::TagVersion>) {
          return tag_version(ctx, c);
        } else if constexpr (std::is_same_v<T, api::CleanupVersions>) {
          return cleanup_versions(ctx, c);
        } else if constexpr (std::is_same_v<T, api::CreateToken>) {
          return create_token(ctx, c);
        } else if constexpr (std::is_same_v<T, api::RevokeToken>) {
          return revoke_token(ctx, c);
        } else if constexpr (std::is_same_v<T, api::AppendAudit>) {
          return append_audit(ctx, c);
        } else if constexpr (std::is_same_v<T, api::RewrapSecrets>) {
          return rewrap_secrets(ctx, c);
        } else if constexpr (std::is_same_v<T, api::SetNamespaceSchema>) {
          return set_namespace_schema(ctx, c);
        } else if constexpr (std::is_same_v<T, api::StartRelease>) {
          return start_release(ctx, c);
        } else if constexpr (std::is_same_v<T, api::TransitionRelease>) {
          return transition_release(ctx, c);
        } else {
          return rollback_config(ctx, c);
        }
      },
      body);
}

}  // namespace

void Store::Impl::publish(Conn& db, uint64_t index, uint64_t rev, bool auth_changed,
                          bool members_changed) {
  applied_index = index;
  revision = rev;
  publish_staged_raft_state();
  clear_write_failure();
  if (auth_changed) ++auth_generation;
  if (members_changed) {
    std::string text = read_meta_text(db, "cluster_members");
    std::lock_guard lock(raft_mu);
    members = std::move(text);
    ++members_generation;
  }
}

Applied Store::apply(const api::Command& command, uint64_t index, int64_t timestamp_ms) {
  Impl& impl = *impl_;
  Impl::Group& g = impl.group;  // open: this entry joins the group's transaction
  Applied out;
  uint64_t applied = g.open ? g.index : impl.applied_index.load();
  uint64_t revision = g.open ? g.revision : impl.revision.load();
  if (index <= applied) {
    out.result = api::CommandResult::failure(make_error(
        Errc::kInternal, "log index " + std::to_string(index) +
                             " is not after the applied index " + std::to_string(applied) +
                             "; nothing was applied"));
    out.result.revision = revision;
    return out;
  }
  if (g.open && g.failed) {  // the group was rolled back: nothing more goes into it
    out.result = api::CommandResult::failure(
        make_error(Errc::kDatabase, "an earlier entry of this transaction failed"));
    out.result.revision = revision;
    return out;
  }
  if (auto f = impl.readers.fault()) {  // fault injection: nothing is touched
    out.result = api::CommandResult::failure(*f);
    out.result.revision = revision;
    return out;
  }
  Conn& db = *impl.writer;
  db.clear_error();
  auto abort = [&](const std::string& why) {
    db.clear_error();
    db.exec("ROLLBACK");  // the whole transaction: the group's earlier entries too
    db.clear_error();
    if (g.open) g.failed = true;
    impl.live_releases = -1;
    impl.note_write_failure("sqlite: " + why);
    out.changes.clear();
    out.result = api::CommandResult::failure(make_error(Errc::kDatabase, "sqlite: " + why));
    out.result.revision = revision;
    return std::move(out);
  };
  if (!g.open && !db.exec("BEGIN IMMEDIATE")) return abort(*db.take_error());
  db.exec("SAVEPOINT command");

  const bool release_neutral = std::holds_alternative<api::WriteConfigs>(command.body) ||
                               std::holds_alternative<api::RollbackConfig>(command.body);
  if (!release_neutral) {
    impl.live_releases = -1;  // this command may start, end or delete a release
  } else if (impl.live_releases < 0) {
    impl.live_releases = count_live_releases(db);
  }
  Ctx ctx{db, options_, command.operator_name, timestamp_ms, revision + 1, {},
          release_neutral ? impl.live_releases : -1};
  std::optional<api::AuditEntry> audit = audit_entry(db, command, timestamp_ms);
  R<Outcome> outcome = run(ctx, command.body);
  // SQLite itself failed (disk full, I/O error): nothing of the entry may count as applied,
  // or this node would record a failure where the others applied it. The whole transaction
  // goes, applied_index stays, and the entry is applied again later (RaftStateMachine).
  if (auto e = db.take_error()) return abort(*e);
  if (outcome.ok() && !outcome->moves_revision) ctx.rev = revision;
  if (outcome.ok() && !g.open) {  // a group writes its revision once, at commit_group()
    write_meta(db, "revision", static_cast<int64_t>(ctx.rev));
    if (auto e = db.take_error()) return abort(*e);
  }
  if (outcome.ok()) {
    db.exec("RELEASE command");
  } else {
    db.exec("ROLLBACK TO command");
    db.exec("RELEASE command");
  }
  if (audit) {
    audit->code = outcome.ok() ? 0 : static_cast<int64_t>(outcome.error().code);
    insert_audit(db, *audit);
  }
  if (!g.open) {  // a group writes them once, at commit_group()
    write_meta(db, "applied_index", static_cast<int64_t>(index));
    impl.write_staged_raft_state(db);
  }
  if (auto e = db.take_error()) return abort(*e);
  if (!g.open && !db.exec("COMMIT")) return abort(*db.take_error());

  const bool auth_changed = outcome.ok() && (std::holds_alternative<api::CreateToken>(command.body) ||
                                             std::holds_alternative<api::RevokeToken>(command.body));
  const bool members_changed =
      outcome.ok() && std::holds_alternative<api::SetMemberAddress>(command.body);
  const uint64_t new_revision = outcome.ok() ? ctx.rev : revision;
  if (g.open) {  // published by commit_group()
    g.index = index;
    g.revision = new_revision;
    g.auth_changed = g.auth_changed || auth_changed;
    g.members_changed = g.members_changed || members_changed;
  } else {
    impl.publish(db, index, new_revision, auth_changed, members_changed);
  }
  if (!outcome.ok()) {
    out.result = api::CommandResult::failure(outcome.error());
    out.result.revision = revision;
    return out;
  }
  out.result.code = Errc::kOk;
  out.result.outcome = std::move(outcome->outcome);
  out.result.revision = ctx.rev;
  out.changes = std::move(ctx.changes);
  return out;
}

}  // namespace cairn::store
