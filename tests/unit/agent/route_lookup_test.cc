// The route lookup's request and the parsing of the kernel's answer, on
// bytes built here as the kernel lays them out.

#include "node-agent/kernel/route_lookup.h"

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_walk.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// An RTM_NEWROUTE as the kernel answers RTM_GETROUTE: the header, then
// RTA_DST, RTA_OIF and RTA_PREFSRC when given.
class Reply {
 public:
  Reply(const IpAddress& destination, uint8_t type = RTN_UNICAST) : buf_(512, 0) {
    nlh_ = mnl_nlmsg_put_header(buf_.data());
    nlh_->nlmsg_type = RTM_NEWROUTE;
    auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_put_extra_header(nlh_, sizeof(rtmsg)));
    rtm->rtm_family = destination.is_v4() ? AF_INET : AF_INET6;
    rtm->rtm_dst_len = static_cast<uint8_t>(destination.size() * 8);
    rtm->rtm_table = RT_TABLE_MAIN;
    rtm->rtm_type = type;
    mnl_attr_put(nlh_, RTA_DST, destination.size(), destination.data());
  }
  Reply& Oif(uint32_t index) {
    mnl_attr_put_u32(nlh_, RTA_OIF, index);
    return *this;
  }
  Reply& PrefSrc(const IpAddress& source) {
    mnl_attr_put(nlh_, RTA_PREFSRC, source.size(), source.data());
    return *this;
  }
  const nlmsghdr* nlh() const { return nlh_; }
  nlmsghdr* mutable_nlh() { return nlh_; }

 private:
  std::vector<char> buf_;
  nlmsghdr* nlh_;
};

TEST(RouteLookupTest, RequestIsOneAckedGetOfTheFullLengthDestination) {
  const IpAddress destination = Ip("10.77.0.2");
  NetlinkBatch request = BuildRouteLookup(destination, 9);
  ASSERT_EQ(request.message_count(), 1u);
  const nlmsghdr* nlh = request.message(0);
  EXPECT_EQ(nlh->nlmsg_type, RTM_GETROUTE);
  EXPECT_EQ(nlh->nlmsg_seq, 9u);
  // Not a dump: the kernel resolves the one address.
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  EXPECT_EQ(rtm->rtm_family, AF_INET);
  EXPECT_EQ(rtm->rtm_dst_len, 32);
  const nlattr* dst = nullptr;
  AttributeWalker walk(MessageAttributes(nlh, sizeof(rtmsg)));
  while (const nlattr* attr = walk.Next()) {
    if (AttributeType(attr) == RTA_DST) dst = attr;
  }
  ASSERT_NE(dst, nullptr);
  ASSERT_EQ(mnl_attr_get_payload_len(dst), 4u);
  EXPECT_EQ(std::memcmp(mnl_attr_get_payload(dst), destination.data(), 4), 0);
  EXPECT_EQ(request.Describe(9), "looking up the route to 10.77.0.2");
}

TEST(RouteLookupTest, Ipv6RequestHasA128BitDestination) {
  NetlinkBatch request = BuildRouteLookup(Ip("fd00:77::2"), 1);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(request.message(0)));
  EXPECT_EQ(rtm->rtm_family, AF_INET6);
  EXPECT_EQ(rtm->rtm_dst_len, 128);
}

TEST(RouteLookupTest, ReplyGivesThePreferredSourceAndOutputInterface) {
  const IpAddress destination = Ip("10.77.0.2");
  Reply reply(destination);
  reply.Oif(7).PrefSrc(Ip("10.78.0.1"));
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->source, Ip("10.78.0.1"));
  EXPECT_EQ(got->interface_index, 7);
}

TEST(RouteLookupTest, Ipv6ReplyIsParsedToo) {
  const IpAddress destination = Ip("fd00:77::2");
  Reply reply(destination);
  reply.PrefSrc(Ip("fd00:78::1")).Oif(3);
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->source, Ip("fd00:78::1"));
  EXPECT_EQ(got->interface_index, 3);
}

TEST(RouteLookupTest, ALocalDestinationIsItsOwnSource) {
  const IpAddress destination = Ip("10.78.0.1");
  Reply reply(destination, RTN_LOCAL);
  reply.Oif(1).PrefSrc(destination);
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->source, destination);
}

TEST(RouteLookupTest, ARouteWithoutASourceSaysWhatToDo) {
  const IpAddress destination = Ip("10.77.0.2");
  Reply reply(destination);
  reply.Oif(7);
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(), HasSubstr("route to 10.77.0.2 (interface index 7) has no "
                                                "source address: give the interface an IPv4"));
}

TEST(RouteLookupTest, ABroadcastRouteIsNoHostsRoute) {
  const IpAddress destination = Ip("10.78.0.255");
  Reply reply(destination, RTN_BROADCAST);
  reply.Oif(7).PrefSrc(Ip("10.78.0.1"));
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(), HasSubstr("route to 10.78.0.255 is a broadcast route"));
}

TEST(RouteLookupTest, AReplyOfAnotherFamilyOrTypeIsRefused) {
  const IpAddress destination = Ip("10.77.0.2");
  Reply v6(Ip("fd00:77::2"));
  v6.Oif(7).PrefSrc(Ip("fd00:78::1"));
  EXPECT_EQ(ParseRouteLookupReply(v6.nlh(), v6.nlh()->nlmsg_len, destination).status().code(),
            absl::StatusCode::kInternal);
  Reply other(destination);
  other.Oif(7).PrefSrc(Ip("10.78.0.1"));
  other.mutable_nlh()->nlmsg_type = RTM_NEWADDR;
  EXPECT_THAT(
      ParseRouteLookupReply(other.nlh(), other.nlh()->nlmsg_len, destination).status().message(),
      HasSubstr("not RTM_NEWROUTE"));
}

TEST(RouteLookupTest, MalformedBytesAreAnErrorNotARead) {
  const IpAddress destination = Ip("10.77.0.2");
  Reply reply(destination);
  reply.Oif(7).PrefSrc(Ip("10.78.0.1"));
  // The message claims more than the buffer holds.
  EXPECT_EQ(
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len - 1, destination).status().code(),
      absl::StatusCode::kInternal);
  // The last attribute claims more than the message holds.
  auto* last = reinterpret_cast<nlattr*>(reinterpret_cast<char*>(reply.mutable_nlh()) +
                                         reply.nlh()->nlmsg_len - NLA_HDRLEN - 4);
  last->nla_len = 64;
  absl::StatusOr<RouteLookupReply> got =
      ParseRouteLookupReply(reply.nlh(), reply.nlh()->nlmsg_len, destination);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInternal);
  EXPECT_THAT(got.status().message(), HasSubstr("malformed"));
  // Shorter than its route header.
  Reply shortened(destination);
  shortened.mutable_nlh()->nlmsg_len = NLMSG_HDRLEN + 4;
  EXPECT_EQ(ParseRouteLookupReply(shortened.nlh(), 512, destination).status().code(),
            absl::StatusCode::kInternal);
}

TEST(RouteLookupTest, InterfaceNameIsTheKernelsOrItsIndex) {
  EXPECT_EQ(RouteInterfaceName(7, "wg0"), "wg0");
  EXPECT_EQ(RouteInterfaceName(7, ""), "if7");  // gone since the lookup
  EXPECT_EQ(RouteInterfaceName(7, "bad name"), "if7");
  EXPECT_EQ(RouteInterfaceName(7, "\xff\xfe"), "if7");  // no proto string
  EXPECT_EQ(RouteInterfaceName(7, std::string(16, 'x')), "if7");
}

}  // namespace
}  // namespace ferry::agent
