// Spec: IpAddress::ToString is the canonical text form (what inet_ntop
// gives), so equal addresses give equal strings wherever they are keys.

#include "api/lib/ip_address.h"

#include <arpa/inet.h>

#include <cstdint>
#include <string>

#include "gtest/gtest.h"

namespace ferry {
namespace {

std::string Ntop(int family, const void* bytes) {
  char buf[INET6_ADDRSTRLEN];
  return inet_ntop(family, bytes, buf, sizeof(buf));
}

TEST(IpAddressTest, Ipv4TextIsInetNtopsForEveryOctetValue) {
  // Every value in every octet position, and the edges together.
  for (int position = 0; position < 4; ++position) {
    for (int v = 0; v < 256; ++v) {
      uint8_t bytes[4] = {10, 0, 0, 1};
      bytes[position] = static_cast<uint8_t>(v);
      const std::string want = Ntop(AF_INET, bytes);
      absl::StatusOr<IpAddress> parsed = IpAddress::Parse(want);
      ASSERT_TRUE(parsed.ok()) << want;
      EXPECT_EQ(parsed->ToString(), want);
    }
  }
  for (const char* text : {"0.0.0.0", "255.255.255.255", "192.0.2.1", "10.100.10.9"}) {
    EXPECT_EQ(IpAddress::Parse(text)->ToString(), text);
  }
}

TEST(IpAddressTest, Ipv6TextIsCanonical) {
  EXPECT_EQ(IpAddress::Parse("2001:0db8:0000::0001")->ToString(), "2001:db8::1");
  EXPECT_EQ(IpAddress::Parse("::ffff:192.0.2.1")->ToString(), "::ffff:192.0.2.1");
}

}  // namespace
}  // namespace ferry
