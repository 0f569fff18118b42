#include "common/tls.h"

#include <gtest/gtest.h>

#include <memory>

namespace cairn::tls {
namespace {

using Ctx = std::unique_ptr<SSL_CTX, decltype(&SSL_CTX_free)>;
Ctx client_ctx() { return Ctx(SSL_CTX_new(TLS_client_method()), &SSL_CTX_free); }

TEST(Tls, AClientWithoutFilesTrustsTheSystemAndVerifiesThePeer) {
  Ctx ctx = client_ctx();
  ASSERT_TRUE(configure(ctx.get(), Role::kClient, {}).ok());
  EXPECT_EQ(SSL_CTX_get_verify_mode(ctx.get()), SSL_VERIFY_PEER);
  EXPECT_EQ(SSL_CTX_get_min_proto_version(ctx.get()), TLS1_2_VERSION);
}

TEST(Tls, MissingSettingsAreNamed) {
  Ctx ctx = client_ctx();
  auto mutual = configure(ctx.get(), Role::kMutual, {"c.pem", "k.pem", ""});
  ASSERT_FALSE(mutual.ok());
  EXPECT_NE(mutual.error().find("CA file"), std::string::npos) << mutual.error();
  auto server = configure(ctx.get(), Role::kServer, {"", "", "ca.pem"});
  ASSERT_FALSE(server.ok());
  EXPECT_NE(server.error().find("certificate and the key"), std::string::npos) << server.error();
  EXPECT_FALSE(configure(nullptr, Role::kClient, {}).ok());
}

TEST(Tls, AFileThatCannotBeLoadedIsNamed) {
  Ctx ctx = client_ctx();
  auto ca = configure(ctx.get(), Role::kClient, {"", "", "/nonexistent/ca.pem"});
  ASSERT_FALSE(ca.ok());
  EXPECT_NE(ca.error().find("CA file /nonexistent/ca.pem"), std::string::npos) << ca.error();
  auto cert = configure(ctx.get(), Role::kClient, {"/nonexistent/c.pem", "/nonexistent/k.pem", ""});
  ASSERT_FALSE(cert.ok());
  EXPECT_NE(cert.error().find("certificate /nonexistent/c.pem"), std::string::npos) << cert.error();
  EXPECT_EQ(ERR_peek_error(), 0u) << "OpenSSL's error queue is left empty";
}

}  // namespace
}  // namespace cairn::tls
