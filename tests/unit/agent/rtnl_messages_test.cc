// rtnetlink builders, checked by parsing the bytes back with mnl_attr_parse.

#include "node-agent/kernel/rtnl_messages.h"

#include <libmnl/libmnl.h>
#include <linux/fib_rules.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <cstring>
#include <map>
#include <string>

#include "gtest/gtest.h"
#include "node-agent/kernel/route_backend.h"

namespace ferry::agent::rtnl {
namespace {

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

// Attributes of a message by type, after its fixed header.
std::map<uint16_t, const nlattr*> Attributes(const nlmsghdr* nlh, size_t header) {
  std::map<uint16_t, const nlattr*> out;
  EXPECT_EQ(mnl_attr_parse(
                nlh, header,
                [](const nlattr* a, void* data) -> int {
                  (*static_cast<std::map<uint16_t, const nlattr*>*>(data))[mnl_attr_get_type(a)] =
                      a;
                  return MNL_CB_OK;
                },
                &out),
            MNL_CB_OK);
  return out;
}

std::string Bytes(const nlattr* a) {
  return std::string(static_cast<const char*>(mnl_attr_get_payload(a)),
                     mnl_attr_get_payload_len(a));
}

std::string Bytes(const IpAddress& ip) {
  return std::string(reinterpret_cast<const char*>(ip.data()), ip.size());
}

TEST(RtnlMessagesTest, RouteAddIsAnAckedReplaceOfTheTablesDefaultRoute) {
  const TableRoute route{7001, Ip("10.8.0.1")};
  NetlinkBatch msg = BuildRouteMessage(true, route, 42);
  const nlmsghdr* nlh = msg.message(0);
  EXPECT_EQ(nlh->nlmsg_type, RTM_NEWROUTE);
  EXPECT_EQ(nlh->nlmsg_seq, 42u);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_REPLACE);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  EXPECT_EQ(rtm->rtm_family, AF_INET);
  EXPECT_EQ(rtm->rtm_dst_len, 0);
  EXPECT_EQ(rtm->rtm_protocol, kFerryRouteProtocol);
  EXPECT_EQ(rtm->rtm_scope, RT_SCOPE_UNIVERSE);
  EXPECT_EQ(rtm->rtm_type, RTN_UNICAST);
  EXPECT_EQ(rtm->rtm_table, RT_TABLE_UNSPEC);  // 7001 does not fit 8 bits
  auto attrs = Attributes(nlh, sizeof(rtmsg));
  ASSERT_TRUE(attrs.count(RTA_TABLE));
  EXPECT_EQ(mnl_attr_get_u32(attrs[RTA_TABLE]), 7001u);
  ASSERT_TRUE(attrs.count(RTA_GATEWAY));
  EXPECT_EQ(Bytes(attrs[RTA_GATEWAY]), Bytes(route.via));
  EXPECT_EQ(msg.Describe(42), "adding route default via 10.8.0.1 table 7001");
}

TEST(RtnlMessagesTest, RouteFamilyFollowsTheGateway) {
  NetlinkBatch msg = BuildRouteMessage(false, TableRoute{100, Ip("fd00::1")}, 1);
  const nlmsghdr* nlh = msg.message(0);
  EXPECT_EQ(nlh->nlmsg_type, RTM_DELROUTE);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK);
  const auto* rtm = static_cast<const rtmsg*>(mnl_nlmsg_get_payload(nlh));
  EXPECT_EQ(rtm->rtm_family, AF_INET6);
  EXPECT_EQ(rtm->rtm_table, 100);
  EXPECT_EQ(mnl_attr_get_payload_len(Attributes(nlh, sizeof(rtmsg))[RTA_GATEWAY]), 16u);
}

TEST(RtnlMessagesTest, RuleCarriesSourcePortRangeProtocolAndTable) {
  const PolicyRule rule{Ip("10.8.0.2"), kProtoTcp, 8080, 8090, 7001, 7001};
  NetlinkBatch msg = BuildRuleMessage(true, rule, 5);
  const nlmsghdr* nlh = msg.message(0);
  EXPECT_EQ(nlh->nlmsg_type, RTM_NEWRULE);
  EXPECT_EQ(nlh->nlmsg_flags, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL);
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(nlh));
  EXPECT_EQ(frh->family, AF_INET);
  EXPECT_EQ(frh->src_len, 32);
  EXPECT_EQ(frh->dst_len, 0);
  EXPECT_EQ(frh->action, FR_ACT_TO_TBL);
  auto attrs = Attributes(nlh, sizeof(fib_rule_hdr));
  EXPECT_EQ(Bytes(attrs[FRA_SRC]), Bytes(rule.src));
  EXPECT_EQ(mnl_attr_get_u32(attrs[FRA_PRIORITY]), 7001u);
  EXPECT_EQ(mnl_attr_get_u32(attrs[FRA_TABLE]), 7001u);
  EXPECT_EQ(mnl_attr_get_u8(attrs[FRA_PROTOCOL]), kFerryRouteProtocol);
  EXPECT_EQ(mnl_attr_get_u8(attrs[FRA_IP_PROTO]), kProtoTcp);
  ASSERT_EQ(mnl_attr_get_payload_len(attrs[FRA_SPORT_RANGE]), sizeof(fib_rule_port_range));
  fib_rule_port_range range;
  std::memcpy(&range, mnl_attr_get_payload(attrs[FRA_SPORT_RANGE]), sizeof(range));
  EXPECT_EQ(range.start, 8080);
  EXPECT_EQ(range.end, 8090);
  EXPECT_EQ(msg.Describe(5),
            "adding rule from 10.8.0.2 ipproto tcp sport 8080-8090 lookup 7001 "
            "priority 7001");
}

TEST(RtnlMessagesTest, Ipv6RuleIsSlash128) {
  const PolicyRule rule{Ip("fd00::2"), kProtoUdp, 53, 53, 300, 10};
  NetlinkBatch msg = BuildRuleMessage(false, rule, 1);
  const auto* frh = static_cast<const fib_rule_hdr*>(mnl_nlmsg_get_payload(msg.message(0)));
  EXPECT_EQ(msg.message(0)->nlmsg_type, RTM_DELRULE);
  EXPECT_EQ(frh->family, AF_INET6);
  EXPECT_EQ(frh->src_len, 128);
  EXPECT_EQ(msg.Describe(1),
            "deleting rule from fd00::2 ipproto udp sport 53 lookup 300 priority 10");
}

TEST(RtnlMessagesTest, ParsersReadBackWhatTheBuildersWrite) {
  const TableRoute route{7001, Ip("fd00::1")};
  EXPECT_EQ(ParseRoute(BuildRouteMessage(true, route, 1).message(0)), route);
  const PolicyRule rule{Ip("10.8.0.2"), kProtoUdp, 5000, 5010, 7001, 9};
  EXPECT_EQ(ParseRule(BuildRuleMessage(true, rule, 1).message(0)), rule);
}

TEST(RtnlMessagesTest, RuleWithAReturnMarkRoundTripsAndDescribesIt) {
  PolicyRule rule{Ip("10.8.0.2"), kProtoTcp, 8080, 8080, 7100, 10000};
  rule.fwmark = 0x02000000;
  rule.fwmask = kReturnMarkMask;
  NetlinkBatch batch = BuildRuleMessage(true, rule, 1);
  EXPECT_EQ(ParseRule(batch.message(0)), rule);
  EXPECT_EQ(DescribeRule(rule),
            "from 10.8.0.2 ipproto tcp sport 8080 fwmark 0x2000000/0xff000000 lookup 7100 "
            "priority 10000");
  // A rule without a mark sends neither attribute (the kernel would add an
  // all-ones mask to a mark of 0).
  // The batch is kept: the attributes point into its bytes.
  NetlinkBatch unmarked =
      BuildRuleMessage(true, PolicyRule{Ip("10.8.0.2"), kProtoTcp, 80, 80, 7100, 10000}, 1);
  auto attrs = Attributes(const_cast<nlmsghdr*>(unmarked.message(0)), sizeof(fib_rule_hdr));
  EXPECT_EQ(attrs[FRA_FWMARK], nullptr);
  EXPECT_EQ(attrs[FRA_FWMASK], nullptr);
}

TEST(RtnlMessagesTest, ParsersIgnoreOtherProtocols) {
  NetlinkBatch route = BuildRouteMessage(true, TableRoute{7001, Ip("10.8.0.1")}, 1);
  auto* rtm = static_cast<rtmsg*>(mnl_nlmsg_get_payload(const_cast<nlmsghdr*>(route.message(0))));
  rtm->rtm_protocol = RTPROT_STATIC;
  EXPECT_EQ(ParseRoute(route.message(0)), std::nullopt);

  NetlinkBatch rule =
      BuildRuleMessage(true, PolicyRule{Ip("10.8.0.2"), kProtoTcp, 80, 80, 7001, 7001}, 1);
  auto* nlh = const_cast<nlmsghdr*>(rule.message(0));
  auto attrs = Attributes(nlh, sizeof(fib_rule_hdr));
  *static_cast<uint8_t*>(mnl_attr_get_payload(attrs[FRA_PROTOCOL])) = RTPROT_STATIC;
  EXPECT_EQ(ParseRule(nlh), std::nullopt);
}

TEST(RtnlMessagesTest, OwnRoutesAndRulesNeedBothTheTagAndATableInRange) {
  const RouteTableOptions tables{7100, 100, 10000};
  const TableRoute in_range{7150, Ip("10.8.0.1")};
  const TableRoute out_of_range{7200, Ip("10.8.0.1")};  // first table past the range
  EXPECT_EQ(ParseOwnRoute(BuildRouteMessage(true, in_range, 1).message(0), tables), in_range);
  EXPECT_EQ(ParseOwnRoute(BuildRouteMessage(true, out_of_range, 1).message(0), tables),
            std::nullopt);
  // Tagged, in range, but another tool's tag: not Ferry's.
  NetlinkBatch foreign = BuildRouteMessage(true, in_range, 1);
  static_cast<rtmsg*>(mnl_nlmsg_get_payload(const_cast<nlmsghdr*>(foreign.message(0))))
      ->rtm_protocol = RTPROT_STATIC;
  EXPECT_EQ(ParseOwnRoute(foreign.message(0), tables), std::nullopt);

  const PolicyRule rule_in{Ip("10.8.0.2"), kProtoTcp, 80, 80, 7100, 10000};
  const PolicyRule rule_main{Ip("10.8.0.2"), kProtoTcp, 80, 80, 254, 10000};
  EXPECT_EQ(ParseOwnRule(BuildRuleMessage(true, rule_in, 1).message(0), tables), rule_in);
  EXPECT_EQ(ParseOwnRule(BuildRuleMessage(true, rule_main, 1).message(0), tables), std::nullopt);
  EXPECT_EQ(ParseOwnRule(BuildRuleMessage(true, rule_in, 1).message(0),
                         RouteTableOptions{7000, 100, 10000}),
            std::nullopt);
}

TEST(RtnlMessagesTest, DumpsAskForOneFamily) {
  NetlinkBatch dump = BuildRuleDump(AF_INET6, 3);
  EXPECT_EQ(dump.message(0)->nlmsg_type, RTM_GETRULE);
  EXPECT_EQ(dump.message(0)->nlmsg_flags & NLM_F_DUMP, NLM_F_DUMP);
  EXPECT_EQ(static_cast<const rtmsg*>(mnl_nlmsg_get_payload(dump.message(0)))->rtm_family,
            AF_INET6);
  EXPECT_EQ(BuildRouteDump(AF_INET, 4).message(0)->nlmsg_type, RTM_GETROUTE);
}

}  // namespace
}  // namespace ferry::agent::rtnl
