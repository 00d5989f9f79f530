// Spec: join tokens are "ferry1.<id>.<secret>.<ca-pin>" with random
// [a-z0-9] id and secret; a malformed token is refused naming the part that
// is wrong and never quoting the secret; the hash and MAC primitives match
// their standards.

#include "api/security/join_token.h"

#include <set>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::security {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;
using ::testing::Not;

const std::string kPin(64, 'a');

TEST(JoinTokenTest, NewTokenHasTheFormatAndRoundTrips) {
  absl::StatusOr<JoinToken> token = NewJoinToken(kPin);
  ASSERT_TRUE(token.ok()) << token.status();
  const std::string text = token->ToString();
  EXPECT_THAT(text, MatchesRegex("ferry1\\.[a-z0-9]{6}\\.[a-z0-9]{16}\\.a{64}"));
  absl::StatusOr<JoinToken> parsed = ParseJoinToken(text);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->id, token->id);
  EXPECT_EQ(parsed->secret, token->secret);
  EXPECT_EQ(parsed->ca_pin, kPin);
}

TEST(JoinTokenTest, ParseIgnoresSurroundingWhitespaceFromCopyAndPaste) {
  absl::StatusOr<JoinToken> parsed =
      ParseJoinToken("  ferry1.abc123.0123456789abcdef." + kPin + "\n");
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(parsed->id, "abc123");
}

TEST(JoinTokenTest, TokenCharactersCoverTheWholeAlphabetAndNothingElse) {
  // 200 tokens draw 4400 characters; a mapping that never produced some
  // character (say, b % 26) would show. Missing one by chance: ~e^-120.
  std::set<char> seen;
  std::set<std::string> secrets;
  for (int i = 0; i < 200; ++i) {
    absl::StatusOr<JoinToken> token = NewJoinToken(kPin);
    ASSERT_TRUE(token.ok()) << token.status();
    seen.insert(token->id.begin(), token->id.end());
    seen.insert(token->secret.begin(), token->secret.end());
    secrets.insert(token->secret);
  }
  EXPECT_EQ(std::string(seen.begin(), seen.end()), "0123456789abcdefghijklmnopqrstuvwxyz");
  EXPECT_EQ(secrets.size(), 200u);
}

TEST(JoinTokenTest, NewTokenRefusesAPinThatIsNotSha256Hex) {
  EXPECT_EQ(NewJoinToken("abc").status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(NewJoinToken(std::string(64, 'A')).status().code(), absl::StatusCode::kInvalidArgument);
}

struct Malformed {
  std::string text;
  std::string names;  // the part the message must name
};

TEST(JoinTokenTest, MalformedTokensAreRefusedNamingThePartWithoutTheSecret) {
  const std::string secret = "s3cr3tpassw0rdxx";
  const std::vector<Malformed> cases = {
      {"", "4 parts"},
      {"ferry1.abc123." + secret, "4 parts"},
      {"ferry1.abc123." + secret + "." + kPin + ".extra", "4 parts"},
      {"ferry2.abc123." + secret + "." + kPin, "prefix"},
      {"ferry1.abc12." + secret + "." + kPin, "id"},
      {"ferry1.ABC123." + secret + "." + kPin, "id"},
      {"ferry1.abc123." + secret + "x." + kPin, "secret"},
      {"ferry1.abc123.S3CR3TPASSW0RDXX." + kPin, "secret"},
      {"ferry1.abc123." + secret + "." + kPin.substr(1), "ca-hash"},
      {"ferry1.abc123." + secret + "." + std::string(64, 'g'), "ca-hash"},
  };
  for (const Malformed& c : cases) {
    absl::StatusOr<JoinToken> parsed = ParseJoinToken(c.text);
    EXPECT_EQ(parsed.status().code(), absl::StatusCode::kInvalidArgument) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr(c.names)) << c.text;
    EXPECT_THAT(parsed.status().message(), HasSubstr("ferry1.<id>.<secret>.<ca-hash>"));
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("s3cr3t"))) << c.text;
    EXPECT_THAT(parsed.status().message(), Not(HasSubstr("S3CR3T"))) << c.text;
  }
}

TEST(JoinTokenTest, HashSecretIsRawSha256) {
  // FIPS 180-2, appendix B.1.
  const std::string hash = HashSecret("abc");
  EXPECT_EQ(hash.size(), 32u);
  EXPECT_EQ(HexEncode(hash), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

TEST(JoinTokenTest, ConstantTimeEqualsComparesContentAndLength) {
  EXPECT_TRUE(ConstantTimeEquals("", ""));
  EXPECT_TRUE(ConstantTimeEquals("secret", "secret"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secreT"));
  EXPECT_FALSE(ConstantTimeEquals("secret", "secret2"));
  EXPECT_FALSE(ConstantTimeEquals("", "x"));
}

TEST(JoinTokenTest, HexEncodeIsLowerCaseTwoDigitsPerByte) {
  EXPECT_EQ(HexEncode(std::string("\x00\xff\x0a", 3)), "00ff0a");
  EXPECT_EQ(HexEncode(""), "");
}

TEST(JoinTokenTest, RandomBytesGivesTheSizeAskedForAndDiffers) {
  absl::StatusOr<std::string> a = RandomBytes(32);
  absl::StatusOr<std::string> b = RandomBytes(32);
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(a->size(), 32u);
  EXPECT_NE(*a, *b);
  EXPECT_EQ(RandomBytes(0)->size(), 0u);
}

TEST(JoinTokenTest, HmacSha256MatchesRfc4231) {
  // RFC 4231 test case 1.
  EXPECT_EQ(HmacSha256Hex(std::string(20, '\x0b'), "Hi There"),
            "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
  // RFC 4231 test case 2: a key shorter than the block.
  EXPECT_EQ(HmacSha256Hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

}  // namespace
}  // namespace ferry::security
