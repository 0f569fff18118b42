// Member proofs of requests between nodes (server/peer_auth.h): what a proof binds, the clock
// window, replays, rotation, and the middleware's rule that a client-supplied mark never
// survives. A fake clock; no network.

#include "server/peer_auth.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <fstream>

#include "routes/table.h"
#include "test_support.h"

namespace cairn::server {
namespace {

using Verdict = PeerAuth::Verdict;

struct Clock {
  int64_t now = 1'700'000'000'000;
};

PeerAuth make(Clock& clock, std::vector<std::string> secrets, uint64_t id = 1) {
  PeerAuth::Options o;
  o.secrets = std::move(secrets);
  o.node_id = id;
  o.max_remembered_nonces = 4;
  o.now_ms = [&clock] { return clock.now; };
  return PeerAuth(std::move(o));
}

TEST(PeerAuth, AProofIsAcceptedOnceForExactlyItsRequest) {
  Clock clock;
  PeerAuth a = make(clock, {"0123456789abcdef"}, 2), b = make(clock, {"0123456789abcdef"}, 1);
  auto [name, proof] = a.sign(PeerPurpose::kForward, "POST", "/api/v1/admin/config?x=1", "{}");
  EXPECT_EQ(name, "X-Cairn-Peer-Proof");
  auto c = b.verify(proof, "POST", "/api/v1/admin/config?x=1", "{}");
  EXPECT_EQ(c.verdict, Verdict::kOk);
  EXPECT_EQ(c.node, 2u);
  EXPECT_EQ(c.purpose, PeerPurpose::kForward);
  EXPECT_EQ(b.verify(proof, "POST", "/api/v1/admin/config?x=1", "{}").verdict, Verdict::kReplayed);

  auto [n2, other] = a.sign(PeerPurpose::kForward, "POST", "/api/v1/admin/config", "{}");
  EXPECT_EQ(b.verify(other, "PUT", "/api/v1/admin/config", "{}").verdict, Verdict::kBadProof);
  EXPECT_EQ(b.verify(other, "POST", "/api/v1/admin/config?y", "{}").verdict, Verdict::kBadProof);
  EXPECT_EQ(b.verify(other, "POST", "/api/v1/admin/config", "{ }").verdict, Verdict::kBadProof);
  // The purpose is signed: a forward proof cannot be passed off as a member read.
  std::string as_member = other;
  as_member.replace(as_member.find(";forward;"), 9, ";member;");
  EXPECT_EQ(b.verify(as_member, "POST", "/api/v1/admin/config", "{}").verdict,
            Verdict::kBadProof);
  EXPECT_EQ(b.verify(other, "POST", "/api/v1/admin/config", "{}").verdict, Verdict::kOk);
}

TEST(PeerAuth, AnotherSecretOrNoSecretIsRefused) {
  Clock clock;
  PeerAuth a = make(clock, {"secret-one-0123456"}), b = make(clock, {"secret-two-0123456"});
  PeerAuth none = make(clock, {});
  auto [n, proof] = a.sign(PeerPurpose::kMemberRead, "GET", "/api/v1/clients/local", "");
  EXPECT_EQ(b.verify(proof, "GET", "/api/v1/clients/local", "").verdict, Verdict::kBadProof);
  EXPECT_EQ(none.verify(proof, "GET", "/api/v1/clients/local", "").verdict, Verdict::kBadProof);
  auto [n2, unsigned_proof] = none.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(b.verify(unsigned_proof, "GET", "/x", "").verdict, Verdict::kBadProof);
}

TEST(PeerAuth, RotationAcceptsEveryListedSecretAndSignsWithTheFirst) {
  Clock clock;
  PeerAuth rotated = make(clock, {"new-secret-0123456", "old-secret-0123456"});
  PeerAuth old_only = make(clock, {"old-secret-0123456"});
  PeerAuth new_only = make(clock, {"new-secret-0123456"});
  auto [n1, from_old] = old_only.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(rotated.verify(from_old, "GET", "/x", "").verdict, Verdict::kOk);
  auto [n2, from_rotated] = rotated.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(new_only.verify(from_rotated, "GET", "/x", "").verdict, Verdict::kOk);
}

TEST(PeerAuth, ClockSkewBeyondTheWindowIsStale) {
  Clock clock;
  PeerAuth a = make(clock, {"0123456789abcdef"}), b = make(clock, {"0123456789abcdef"});
  auto [n1, proof] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
  clock.now += 30'001;
  EXPECT_EQ(b.verify(proof, "GET", "/x", "").verdict, Verdict::kStale);
  auto [n2, future] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
  clock.now -= 60'002;
  EXPECT_EQ(b.verify(future, "GET", "/x", "").verdict, Verdict::kStale);
}

TEST(PeerAuth, RememberedNoncesAreBoundedAndExpire) {
  Clock clock;
  PeerAuth a = make(clock, {"0123456789abcdef"}), b = make(clock, {"0123456789abcdef"});
  for (int i = 0; i < 4; ++i) {
    auto [n, p] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
    ASSERT_EQ(b.verify(p, "GET", "/x", "").verdict, Verdict::kOk);
  }
  auto [n, fifth] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(b.verify(fifth, "GET", "/x", "").verdict, Verdict::kBusy);  // fails closed
  clock.now += 30'001;  // the first four are out of the window: forgotten
  auto [n2, later] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(b.verify(later, "GET", "/x", "").verdict, Verdict::kOk);
}

TEST(PeerAuth, MalformedProofsAndStandaloneNodes) {
  Clock clock;
  PeerAuth b = make(clock, {"0123456789abcdef"});
  for (const std::string& bad : std::vector<std::string>{"", "v1", "v1;forward;1;2;3;4", "v2;forward;1;1700000000000;" +
                              std::string(32, 'a') + ";" + std::string(64, 'b'),
                          "v1;other;1;1700000000000;" + std::string(32, 'a') + ";" +
                              std::string(64, 'b'),
                          "v1;forward;0;1700000000000;" + std::string(32, 'a') + ";" +
                              std::string(64, 'b'),
                          "v1;forward;1;1700000000000;" + std::string(32, 'A') + ";" +
                              std::string(64, 'b'),
                          "v1;forward;1;1700000000000;" + std::string(32, 'a') + ";" +
                              std::string(64, 'b') + ";x"}) {
    EXPECT_EQ(b.verify(bad, "GET", "/x", "").verdict, Verdict::kMalformed) << bad;
  }
  PeerAuth standalone = make(clock, {}, 0);
  PeerAuth a = make(clock, {});
  auto [n, proof] = a.sign(PeerPurpose::kForward, "GET", "/x", "");
  EXPECT_EQ(standalone.verify(proof, "GET", "/x", "").verdict, Verdict::kDisabled);
}

// Runs the middleware over a request; the headers the next handler saw.
std::vector<std::pair<std::string, std::string>> through(
    PeerAuth& auth, std::vector<std::pair<std::string, std::string>> headers,
    const std::string& method = "POST", const std::string& target = "/api/v1/admin/config") {
  auto req = std::make_shared<http::Request>();
  req->method = method;
  req->target = target;
  req->body = "{}";
  req->headers = std::move(headers);
  std::vector<std::pair<std::string, std::string>> seen;
  bool called = false;
  auth.middleware()(req, [](http::Response) {},
                    [&](http::RequestPtr r, http::Reply) {
                      called = true;
                      seen = r->headers;
                    });
  EXPECT_TRUE(called);
  return seen;
}

TEST(PeerAuth, MiddlewareStripsClientMarksAndMarksOnlyVerifiedProofs) {
  Clock clock;
  PeerAuth a = make(clock, {"0123456789abcdef"}, 2), b = make(clock, {"0123456789abcdef"}, 1);
  using H = std::vector<std::pair<std::string, std::string>>;
  // A client's own marks (what used to skip the rate limits) are dropped.
  EXPECT_EQ(through(b, {{"x-cairn-forwarded", "node2"}, {"x-cairn-member", "2"}, {"a", "b"}}),
            (H{{"a", "b"}}));
  // A forged proof: dropped, and no mark.
  EXPECT_EQ(through(b, {{"x-cairn-peer-proof", "v1;forward;2;1;x;y"}}), H{});
  // A valid proof becomes the mark, with the sender's id; the proof itself is gone.
  auto [n, proof] = a.sign(PeerPurpose::kForward, "POST", "/api/v1/admin/config", "{}");
  EXPECT_EQ(through(b, {{"x-cairn-peer-proof", proof}, {"x-cairn-forwarded", "9"}}),
            (H{{"x-cairn-forwarded", "2"}}));
  // The same proof again (a replay): no mark.
  EXPECT_EQ(through(b, {{"x-cairn-peer-proof", proof}}), H{});
  // Two proofs: neither counts.
  auto [n1, p1] = a.sign(PeerPurpose::kForward, "POST", "/api/v1/admin/config", "{}");
  auto [n2, p2] = a.sign(PeerPurpose::kForward, "POST", "/api/v1/admin/config", "{}");
  EXPECT_EQ(through(b, {{"x-cairn-peer-proof", p1}, {"x-cairn-peer-proof", p2}}), H{});
  auto [n3, member] = a.sign(PeerPurpose::kMemberRead, "GET", "/api/v1/clients/local", "{}");
  EXPECT_EQ(through(b, {{"x-cairn-peer-proof", member}}, "GET", "/api/v1/clients/local"),
            (H{{"x-cairn-member", "2"}}));
  EXPECT_EQ(b.counters().accepted, 2u);
  EXPECT_EQ(b.counters().refused, 3u);
}

TEST(PeerAuth, MemberGuardLetsMarkedMemberReadsOfTheClientRegistryOnly) {
  int guarded = 0;
  http::Middleware deny_all = [&](http::RequestPtr, http::Reply reply, const http::Handler&) {
    ++guarded;
    http::Response res;
    res.status = 401;
    reply(res);
  };
  auto guard = member_guard(deny_all);
  auto run = [&](const routes::Route& route, bool marked) {
    auto req = std::make_shared<http::Request>();
    req->route = &route;
    if (marked) req->headers.emplace_back("x-cairn-member", "3");
    std::optional<api::Principal> served;
    guard(req, [](http::Response) {}, [&](http::RequestPtr r, http::Reply) { served = r->caller; });
    return served;
  };
  auto served = run(routes::kClientsLocal, true);
  ASSERT_TRUE(served);
  EXPECT_EQ(served->name, "node:3");
  EXPECT_TRUE(served->restricted);
  EXPECT_TRUE(served->allows("orders", api::Permission::kRead));
  EXPECT_FALSE(served->allows("orders", api::Permission::kWrite));
  EXPECT_FALSE(served->cluster_admin());
  EXPECT_FALSE(run(routes::kClientsLocal, false));  // no mark: the token guard decides
  EXPECT_FALSE(run(routes::kClients, true));        // another route: the token guard decides
  EXPECT_FALSE(run(routes::kConfigGet, true));
  EXPECT_EQ(guarded, 3);
}

TEST(ClusterSecret, LoadedFromTheKeyTheFileOrTheEnvironment) {
  test::TempDir dir;
  ::unsetenv("CAIRN_CLUSTER_SECRET");
  ServerConfig c;
  EXPECT_TRUE(load_cluster_secrets(c).value().empty());
  c.cluster_secret = " new-secret-0123456 , old-secret-0123456 ";
  EXPECT_EQ(load_cluster_secrets(c).value(),
            (std::vector<std::string>{"new-secret-0123456", "old-secret-0123456"}));
  c.cluster_secret = "short";
  EXPECT_FALSE(load_cluster_secrets(c));
  c.cluster_secret.clear();

  const std::string path = dir.path() + "/secret";
  ASSERT_TRUE(write_private_file(path, "file-secret-0123456\nold-secret-0123456\n"));
  EXPECT_FALSE(write_private_file(path, "again"));  // never overwritten
  c.cluster_secret_file = path;
  EXPECT_EQ(load_cluster_secrets(c).value(),
            (std::vector<std::string>{"file-secret-0123456", "old-secret-0123456"}));
  ::chmod(path.c_str(), 0644);
  EXPECT_FALSE(load_cluster_secrets(c));  // readable by others
  c.cluster_secret = "both-set-0123456789";
  EXPECT_FALSE(load_cluster_secrets(c));
  c = ServerConfig{};

  ::setenv("CAIRN_CLUSTER_SECRET", "env-secret-0123456", 1);
  EXPECT_EQ(load_cluster_secrets(c).value(), (std::vector<std::string>{"env-secret-0123456"}));
  bool generated = true;
  EXPECT_EQ(bootstrap_cluster_secret(dir.path(), generated).value(), "env-secret-0123456");
  EXPECT_FALSE(generated);
  ::unsetenv("CAIRN_CLUSTER_SECRET");
  auto made = bootstrap_cluster_secret(dir.path(), generated);
  ASSERT_TRUE(made);
  EXPECT_TRUE(generated);
  EXPECT_EQ(made->size(), 64u);
  EXPECT_EQ(bootstrap_cluster_secret(dir.path(), generated).value(), *made);  // kept
  EXPECT_FALSE(generated);
  c.cluster_secret_file = dir.path() + "/cluster-secret";
  EXPECT_EQ(load_cluster_secrets(c).value(), (std::vector<std::string>{*made}));
}

}  // namespace
}  // namespace cairn::server
