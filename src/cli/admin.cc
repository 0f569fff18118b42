// Token and audit subcommands (docs/security.md): token create|list|revoke, whoami, audit.
// Their answers have no wire type yet: printed as the server's JSON.

#include <CLI/CLI.hpp>
#include <array>

#include "cli/commands.h"
#include "cli/context.h"

namespace cairn::cli {

namespace {

void add_token_create(CLI::App& token, const ContextPtr& g) {
  auto* sub = leaf(token, "create", "Create a token; its secret is printed this once");
  struct Args {
    std::string name, ttl;
    std::vector<std::string> grants;
  };
  auto a = std::make_shared<Args>();
  sub->add_option("name", a->name, "Token name (the operator recorded for its writes)")
      ->required();
  sub->add_option("--grant", a->grants,
                  "PATTERN:PERMISSION (read, write, admin), or cluster-admin; repeatable")
      ->required();
  sub->add_option("--ttl", a->ttl, "Lifetime such as 720h (default: never expires)");
  sub->callback([g, a] {
    Json grants = Json::array();
    for (const auto& text : a->grants) {
      if (text == "cluster-admin") {
        grants.push_back({{"permission", "cluster-admin"}});
        continue;
      }
      size_t colon = text.rfind(':');
      if (colon == std::string::npos || colon == 0 || colon + 1 == text.size()) {
        return bad_input(*g, "--grant " + text + ": expected PATTERN:PERMISSION");
      }
      grants.push_back(
          {{"namespace", text.substr(0, colon)}, {"permission", text.substr(colon + 1)}});
    }
    Client c(g->client_options());
    auto r = c.create_token(a->name, grants, a->ttl);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r,
         "token " + r->value("name", "") + " (id " + r->value("id", "") +
             "): " + r->value("token", "") + "\n(shown once: store it now)");
  });
}

void add_token_list(CLI::App& token, const ContextPtr& g) {
  auto* sub = leaf(token, "list", "List tokens (never their secrets)");
  sub->callback([g] {
    Client c(g->client_options());
    auto r = c.list_tokens();
    if (!r.ok()) return fail(*g, r.error());
    std::string text;
    for (const auto& t : (*r)["list"]) {
      text += t.value("id", "") + "  " + t.value("name", "") + "  " + t.value("status", "") +
              "  " + compact(t["grants"]) + "\n";
    }
    emit(*g, *r, text.empty() ? "no tokens\n" : text);
  });
}

void add_token_revoke(CLI::App& token, const ContextPtr& g) {
  auto* sub = leaf(token, "revoke", "Revoke a token on every node");
  auto id = std::make_shared<std::string>();
  sub->add_option("id", *id, "Token id (from token list)")->required();
  sub->callback([g, id] {
    Client c(g->client_options());
    auto r = c.revoke_token(*id);
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, "revoked token " + *id);
  });
}

}  // namespace

void add_token(CLI::App& app, const ContextPtr& g) {
  auto* token = app.add_subcommand("token", "API tokens: create, list, revoke (cluster-admin)");
  token->require_subcommand(1);
  token->fallthrough();
  add_token_create(*token, g);
  add_token_list(*token, g);
  add_token_revoke(*token, g);
}

void add_whoami(CLI::App& app, const ContextPtr& g) {
  auto* who = app.add_subcommand("whoami", "Show the name and grants of --token");
  who->callback([g] {
    Client c(g->client_options());
    auto r = c.whoami();
    if (!r.ok()) return fail(*g, r.error());
    emit(*g, *r, pretty(*r));
  });
}

void add_audit(CLI::App& app, const ContextPtr& g) {
  auto* audit = app.add_subcommand("audit", "Show the audit log, newest first (cluster-admin)");
  auto fields = std::make_shared<std::array<std::string, 6>>();
  audit->add_option("--actor", (*fields)[0], "Only this token name");
  audit->add_option("--namespace", (*fields)[1], "Only this namespace");
  audit->add_option("--action", (*fields)[2], "Only this action, or a prefix ending in *");
  audit->add_option("--from", (*fields)[3], "From this time (RFC 3339 or Unix ms)");
  audit->add_option("--to", (*fields)[4], "Before this time");
  audit->add_option("--page-size", (*fields)[5], "Rows (default 20)");
  audit->callback([g, fields] {
    static const char* kNames[] = {"actor", "namespace", "action", "from", "to", "page_size"};
    std::vector<std::pair<std::string, std::string>> query;
    for (size_t i = 0; i < fields->size(); ++i) {
      if (!(*fields)[i].empty()) query.emplace_back(kNames[i], (*fields)[i]);
    }
    Client c(g->client_options());
    auto r = c.audit(query);
    if (!r.ok()) return fail(*g, r.error());
    std::string text;
    for (const auto& e : (*r)["list"]) {
      text += e.value("time", "") + "  " + e.value("actor", "") + "  " + e.value("action", "") +
              "  " + e.value("namespace", "") +
              (e.value("key", "").empty() ? "" : "/" + e.value("key", "")) + "  " +
              std::to_string(e.value("code", int64_t{0})) + "  " + e.value("client_ip", "") +
              "\n";
    }
    emit(*g, *r, text.empty() ? "no entries\n" : text);
  });
}

}  // namespace cairn::cli
