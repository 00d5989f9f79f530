// The netlink walk the agent trusts with received bytes, and the address
// monitor's message parser: lengths libmnl's mnl_nlmsg_ok let through
// (>= 2^31, cast to int) end the walk with an error, and nothing is read
// beyond a message or attribute.

#include <libmnl/libmnl.h>
#include <linux/if_addr.h>
#include <linux/rtnetlink.h>
#include <net/if.h>
#include <sys/socket.h>

#include <array>
#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_walk.h"
#include "node-agent/monitor/address_monitor.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

// A datagram assembled from whole messages; headers stay 4-aligned.
class Datagram {
 public:
  // Appends a message of `payload` bytes (zeroed) with the given type.
  nlmsghdr* Add(uint16_t type, size_t payload) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(bytes_.data() + size_);
    nlh->nlmsg_type = type;
    mnl_nlmsg_put_extra_header(nlh, payload);
    size_ += NLMSG_ALIGN(nlh->nlmsg_len);
    return nlh;
  }
  const char* data() const { return bytes_.data(); }
  size_t size() const { return size_; }
  void set_size(size_t size) { size_ = size; }

 private:
  alignas(nlmsghdr) std::array<char, 4096> bytes_{};
  size_t size_ = 0;
};

std::vector<uint16_t> WalkTypes(const Datagram& d, absl::Status* status) {
  std::vector<uint16_t> types;
  NetlinkMessageWalker walk(d.data(), d.size());
  while (const nlmsghdr* nlh = walk.Next()) types.push_back(nlh->nlmsg_type);
  *status = walk.status();
  EXPECT_EQ(walk.Next(), nullptr);  // stays ended
  return types;
}

TEST(NetlinkWalkRegressionTest, YieldsEveryWholeMessageThenEnds) {
  Datagram d;
  d.Add(RTM_NEWADDR, 8);
  d.Add(RTM_NEWADDR, 3);  // unaligned length; padding follows
  d.Add(NLMSG_DONE, 4);
  absl::Status status;
  EXPECT_THAT(WalkTypes(d, &status), ::testing::ElementsAre(RTM_NEWADDR, RTM_NEWADDR, NLMSG_DONE));
  EXPECT_TRUE(status.ok()) << status;
}

TEST(NetlinkWalkRegressionTest, LastMessageMayOmitItsPadding) {
  Datagram d;
  nlmsghdr* nlh = d.Add(RTM_NEWADDR, 3);
  d.set_size(nlh->nlmsg_len);
  absl::Status status;
  EXPECT_EQ(WalkTypes(d, &status).size(), 1u);
  EXPECT_TRUE(status.ok()) << status;
}

TEST(NetlinkWalkRegressionTest, LengthOf0xffffffffEndsTheWalkWithAnError) {
  Datagram d;
  d.Add(RTM_NEWADDR, 8);
  d.Add(RTM_NEWADDR, 8)->nlmsg_len = 0xffffffff;
  absl::Status status;
  EXPECT_EQ(WalkTypes(d, &status).size(), 1u);
  EXPECT_EQ(status.code(), absl::StatusCode::kInternal);
  EXPECT_THAT(std::string(status.message()), HasSubstr("offset 24 claims 4294967295 bytes"));
}

TEST(NetlinkWalkRegressionTest, LengthOf2GiBEndsTheWalkWithAnError) {
  Datagram d;
  d.Add(RTM_NEWADDR, 8)->nlmsg_len = 0x80000000u;
  absl::Status status;
  EXPECT_TRUE(WalkTypes(d, &status).empty());
  EXPECT_THAT(std::string(status.message()), HasSubstr("claims 2147483648 bytes"));
}

TEST(NetlinkWalkRegressionTest, LengthShorterThanAHeaderEndsTheWalkWithAnError) {
  Datagram d;
  d.Add(RTM_NEWADDR, 8)->nlmsg_len = 8;
  absl::Status status;
  EXPECT_TRUE(WalkTypes(d, &status).empty());
  EXPECT_THAT(std::string(status.message()), HasSubstr("claims 8 bytes"));
}

TEST(NetlinkWalkRegressionTest, TrailingBytesShorterThanAHeaderAreAnError) {
  Datagram d;
  d.Add(RTM_NEWADDR, 8);
  d.set_size(d.size() + 6);
  absl::Status status;
  EXPECT_EQ(WalkTypes(d, &status).size(), 1u);
  EXPECT_THAT(std::string(status.message()), HasSubstr("6 trailing bytes"));
}

TEST(NetlinkWalkRegressionTest, AttributeOverrunningItsAreaStopsTheWalk) {
  alignas(nlattr) std::array<char, 16> bytes{};
  auto* first = reinterpret_cast<nlattr*>(bytes.data());
  first->nla_len = 8;
  first->nla_type = 1 | NLA_F_NESTED;
  auto* second = reinterpret_cast<nlattr*>(bytes.data() + 8);
  second->nla_len = 12;  // only 8 bytes remain
  AttributeWalker walk(absl::string_view(bytes.data(), bytes.size()));
  const nlattr* attr = walk.Next();
  ASSERT_NE(attr, nullptr);
  EXPECT_EQ(AttributeType(attr), 1);
  EXPECT_EQ(AttributePayload(attr).size(), 4u);
  EXPECT_EQ(walk.Next(), nullptr);
  EXPECT_TRUE(walk.malformed());
}

// RTM_NEWADDR for `address` (4 or 16 bytes) on interface index 7.
struct AddressMessage {
  AddressMessage(int family, const std::vector<uint8_t>& address, uint16_t type = IFA_LOCAL,
                 uint8_t prefix = 24) {
    nlh = mnl_nlmsg_put_header(buf.data());
    nlh->nlmsg_type = RTM_NEWADDR;
    auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
    ifa->ifa_family = family;
    ifa->ifa_prefixlen = prefix;
    ifa->ifa_index = 7;
    mnl_attr_put(nlh, type, address.size(), address.data());
  }
  alignas(nlmsghdr) std::array<char, 512> buf{};
  nlmsghdr* nlh;
};

std::string NoName(int) { return ""; }

TEST(AddressParseRegressionTest, ReadsLocalAddressPrefixAndInterfaceName) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  std::optional<ferry::v1::NodeAddress> a = ParseAddressMessage(
      m.nlh, m.nlh->nlmsg_len, [](int index) { return index == 7 ? "wg0" : ""; });
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->address(), "192.0.2.7");
  EXPECT_EQ(a->prefix_length(), 24u);
  EXPECT_EQ(a->interface(), "wg0");
}

TEST(AddressParseRegressionTest, FallsBackToTheLabelThenTheIndex) {
  AddressMessage m(AF_INET6, {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1},
                   IFA_ADDRESS, 64);
  std::optional<ferry::v1::NodeAddress> a = ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, NoName);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->address(), "2001:db8::1");
  EXPECT_EQ(a->interface(), "if7");
  mnl_attr_put_strz(m.nlh, IFA_LABEL, "eth0:1");
  a = ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, NoName);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->interface(), "eth0:1");
}

TEST(AddressParseRegressionTest, UnterminatedLabelIsReadAtMostAnInterfaceNameLong) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  const std::string label(40, 'x');
  mnl_attr_put(m.nlh, IFA_LABEL, label.size(), label.data());
  std::optional<ferry::v1::NodeAddress> a = ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, NoName);
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->interface(), std::string(IFNAMSIZ - 1, 'x'));
}

TEST(AddressParseRegressionTest, PayloadShorterThanIfaddrmsgIsIgnored) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  m.nlh->nlmsg_len = NLMSG_LENGTH(sizeof(ifaddrmsg) - 1);
  EXPECT_FALSE(ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, NoName).has_value());
}

TEST(AddressParseRegressionTest, MessageLongerThanTheBufferIsIgnored) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  EXPECT_FALSE(ParseAddressMessage(m.nlh, m.nlh->nlmsg_len - 1, NoName).has_value());
  EXPECT_FALSE(ParseAddressMessage(m.nlh, sizeof(nlmsghdr) - 1, NoName).has_value());
}

TEST(AddressParseRegressionTest, AddressOfTheWrongSizeOrPrefixIsIgnored) {
  AddressMessage short_v6(AF_INET6, {0x20, 0x01, 0x0d, 0xb8});
  EXPECT_FALSE(ParseAddressMessage(short_v6.nlh, short_v6.nlh->nlmsg_len, NoName).has_value());
  AddressMessage long_prefix(AF_INET, {192, 0, 2, 7}, IFA_LOCAL, 33);
  EXPECT_FALSE(
      ParseAddressMessage(long_prefix.nlh, long_prefix.nlh->nlmsg_len, NoName).has_value());
}

TEST(AddressParseRegressionTest, OtherMessageTypesAreIgnored) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  m.nlh->nlmsg_type = RTM_DELADDR;
  EXPECT_FALSE(ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, NoName).has_value());
}

TEST(AddressParseRegressionTest, UnprintableInterfaceNameIsNotReported) {
  AddressMessage m(AF_INET, {192, 0, 2, 7});
  std::optional<ferry::v1::NodeAddress> a =
      ParseAddressMessage(m.nlh, m.nlh->nlmsg_len, [](int) { return "bad\x01"; });
  ASSERT_TRUE(a.has_value());
  EXPECT_EQ(a->interface(), "if7");
}

}  // namespace
}  // namespace ferry::agent
