// Known-answer tests of the AES-256-GCM wrapper: the 256-bit-key test cases 13-16 of "The
// Galois/Counter Mode of Operation (GCM)" (McGrew & Viega), the vectors NIST's GCM validation
// uses, plus tamper and size checks.

#include "secrets/aead.h"

#include <gtest/gtest.h>

namespace cairn::secrets {
namespace {

std::string hex(std::string_view text) {
  std::string out;
  for (size_t i = 0; i + 1 < text.size(); i += 2) {
    out += static_cast<char>(std::stoi(std::string(text.substr(i, 2)), nullptr, 16));
  }
  return out;
}

std::string to_hex(std::string_view bytes) {
  static constexpr char k[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += k[c >> 4];
    out += k[c & 15];
  }
  return out;
}

struct Vector {
  const char* name;
  const char* key;
  const char* iv;
  const char* aad;
  const char* plaintext;
  const char* ciphertext;
  const char* tag;
};

const Vector kVectors[] = {
    {"case 13: empty", "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "", "", "530f8afbc74536b9a963b4f1c4cb738b"},
    {"case 14: one zero block",
     "0000000000000000000000000000000000000000000000000000000000000000",
     "000000000000000000000000", "", "00000000000000000000000000000000",
     "cea7403d4d606b6e074ec5d3baf39d18", "d0d1c8a799996bf0265b98b5d48ab919"},
    {"case 15: four blocks",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525b16aedf5aa0de657ba637b391aafd255",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838c5f61e6393ba7a0abcc9f662898015ad",
     "b094dac5d93471bdec1a502270e3cc6c"},
    {"case 16: associated data, partial block",
     "feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308",
     "cafebabefacedbaddecaf888", "feedfacedeadbeeffeedfacedeadbeefabaddad2",
     "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a721c3c0c95956809532fcf0e2449a6b"
     "525b16aedf5aa0de657ba637b39",
     "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa8cb08e48590dbb3da7b08b1056828"
     "838c5f61e6393ba7a0abcc9f662",
     "76fc6ece0f4e1768cddf8853bb2d551b"},
};

TEST(Aead, KnownAnswers) {
  for (const auto& v : kVectors) {
    SCOPED_TRACE(v.name);
    auto sealed = gcm_seal(hex(v.key), hex(v.iv), hex(v.aad), hex(v.plaintext));
    ASSERT_TRUE(sealed);
    EXPECT_EQ(to_hex(*sealed), std::string(v.ciphertext) + v.tag);
    auto opened = gcm_open(hex(v.key), hex(v.iv), hex(v.aad), *sealed);
    ASSERT_TRUE(opened);
    EXPECT_EQ(to_hex(*opened), v.plaintext);
  }
}

TEST(Aead, EveryFlippedBitFailsToOpen) {
  const Vector& v = kVectors[3];
  std::string key = hex(v.key), iv = hex(v.iv), aad = hex(v.aad);
  std::string sealed = hex(std::string(v.ciphertext) + v.tag);
  for (size_t i = 0; i < sealed.size(); ++i) {
    std::string bad = sealed;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    EXPECT_FALSE(gcm_open(key, iv, aad, bad)) << "byte " << i;
  }
  std::string bad_aad = aad;
  bad_aad[0] ^= 0x80;
  EXPECT_FALSE(gcm_open(key, iv, bad_aad, sealed));
  std::string bad_iv = iv;
  bad_iv[11] ^= 0x01;
  EXPECT_FALSE(gcm_open(key, bad_iv, aad, sealed));
  std::string other_key = key;
  other_key[31] ^= 0x01;
  EXPECT_FALSE(gcm_open(other_key, iv, aad, sealed));
  EXPECT_FALSE(gcm_open(key, iv, aad, sealed.substr(0, sealed.size() - 1)));
  EXPECT_FALSE(gcm_open(key, iv, aad, sealed.substr(0, 15)));
}

TEST(Aead, RefusesWrongSizes) {
  EXPECT_FALSE(gcm_seal(std::string(16, 'k'), std::string(12, 'n'), "", "x"));
  EXPECT_FALSE(gcm_seal(std::string(32, 'k'), std::string(16, 'n'), "", "x"));
  EXPECT_FALSE(gcm_open(std::string(31, 'k'), std::string(12, 'n'), "", std::string(20, 'c')));
}

TEST(Aead, RandomBytesDiffer) {
  auto a = random_bytes(32), b = random_bytes(32);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
}

TEST(Base64, RoundTripsAndIsStrict) {
  for (std::string s : {"", "f", "fo", "foo", "foob", "fooba", "foobar", "\xff\xfe\x00\x01"}) {
    EXPECT_EQ(base64_decode(base64_encode(s)), s);
    EXPECT_EQ(base64url_decode(base64url_encode(s)), s);
  }
  EXPECT_EQ(base64_encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(base64_encode("fo"), "Zm8=");
  EXPECT_EQ(base64url_encode("\xfb\xff"), "-_8");
  EXPECT_FALSE(base64_decode("Zm8"));    // padding missing
  EXPECT_FALSE(base64_decode("Zm9="));   // non-zero unused bits
  EXPECT_FALSE(base64_decode("Zm8=Zm8="));
  EXPECT_FALSE(base64url_decode("Zm8="));
  EXPECT_FALSE(base64url_decode("Z"));
  EXPECT_FALSE(base64url_decode("a+b"));
}

}  // namespace
}  // namespace cairn::secrets
