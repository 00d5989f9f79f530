// Spec: which DNAT rules are probed and how (probe_targets.h), how a
// forward's verdict is made from its rules' probes and when it counts as
// changed (verdicts.h), and the probe's messages (socket_prober.h's pure
// part), without sockets or root.

#include "node-agent/probe/probe_targets.h"

#include <cerrno>
#include <string>
#include <vector>

#include "api/lib/conditions.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/probe/socket_prober.h"
#include "node-agent/probe/verdicts.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::SizeIs;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

ferry::v1::DnatRule Rule(const std::string& forward, uint32_t port, uint32_t period = 15) {
  ferry::v1::DnatRule rule;
  rule.set_forward(forward);
  rule.set_generation(3);
  rule.set_frontend_address("192.0.2.1");
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(port);
  rule.set_backend_address("10.8.0.2");
  rule.set_target_port(8080);
  rule.set_probe_period_seconds(period);
  rule.set_probe_timeout_seconds(2);
  return rule;
}

// --- which rules are probed ---

TEST(ProbeRuleOfTest, AProbedRuleIsItsFirstPortAndTargetWithPeriodAndTimeout) {
  ferry::v1::DnatRule rule = Rule("web", 8000);
  rule.set_end_port(8010);
  rule.set_target_port(9000);
  std::optional<ProbeRule> probe = ProbeRuleOf(rule, kDefaultProbePeriod);
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->target.frontend, Ip("192.0.2.1"));
  EXPECT_EQ(probe->target.port, 8000);
  EXPECT_EQ(probe->target.protocol, kProtoTcp);
  EXPECT_EQ(probe->target.backend, Ip("10.8.0.2"));
  EXPECT_EQ(probe->target.target_port, 9000);
  EXPECT_EQ(probe->target.timeout, absl::Seconds(2));
  EXPECT_EQ(probe->period, absl::Seconds(15));
}

TEST(ProbeRuleOfTest, TargetPortZeroMeansTheSamePortAndTimeoutZeroTheDefault) {
  ferry::v1::DnatRule rule = Rule("dns", 53);
  rule.set_protocol(ferry::v1::UDP);
  rule.set_target_port(0);
  rule.set_probe_timeout_seconds(0);
  std::optional<ProbeRule> probe = ProbeRuleOf(rule, kDefaultProbePeriod);
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->target.protocol, kProtoUdp);
  EXPECT_EQ(probe->target.target_port, 53);
  EXPECT_EQ(probe->target.timeout, kDefaultProbeTimeout);
}

TEST(ProbeRuleOfTest, RouteQueriesAreNotProbedAndPeriodZeroIsTheAgentsDefault) {
  ferry::v1::DnatRule query = Rule("web", 80);
  query.set_route_query(true);
  EXPECT_FALSE(ProbeRuleOf(query, kDefaultProbePeriod).has_value());
  std::optional<ProbeRule> probe = ProbeRuleOf(Rule("web", 80, /*period=*/0), absl::Seconds(7));
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->period, absl::Seconds(7));
}

TEST(ProbeRuleOfTest, TimeoutsAndPeriodsAreBounded) {
  ferry::v1::DnatRule rule = Rule("web", 80);
  rule.set_probe_timeout_seconds(100000);
  std::optional<ProbeRule> probe = ProbeRuleOf(rule, kDefaultProbePeriod);
  ASSERT_TRUE(probe.has_value());
  EXPECT_EQ(probe->target.timeout, kMaxProbeTimeout);
}

TEST(ProbesOfTest, AFullConfigGroupsProbedRulesByForward) {
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Rule("web", 80);
  *config.add_dnat() = Rule("web", 443);
  *config.add_dnat() = Rule("query", 81);
  config.mutable_dnat(2)->set_route_query(true);
  absl::flat_hash_map<std::string, ForwardProbes> probes = ProbesOf(config, kDefaultProbePeriod);
  ASSERT_EQ(probes.size(), 1u);
  EXPECT_EQ(probes.at("web").generation, 3);
  ASSERT_THAT(probes.at("web").rules, SizeIs(2));
  EXPECT_EQ(probes.at("web").rules[1].target.port, 443);
}

TEST(ProbesOfTest, ADeltaNamesEachForwardWithItsProbesOrNone) {
  ferry::v1::NodeConfigDelta delta;
  delta.add_forwards("web");
  delta.add_forwards("gone");
  *delta.add_dnat() = Rule("web", 80);
  std::map<std::string, std::optional<ForwardProbes>> probes = ProbesOf(delta, kDefaultProbePeriod);
  ASSERT_EQ(probes.size(), 2u);
  ASSERT_TRUE(probes.at("web").has_value());
  EXPECT_THAT(probes.at("web")->rules, SizeIs(1));
  EXPECT_FALSE(probes.at("gone").has_value());
}

// --- verdicts ---

const ProbeResult kTrue{ProbeStatus::kTrue, "handshake with 10.8.0.2:8080 via 192.0.2.1:80"};
const ProbeResult kTrue2{ProbeStatus::kTrue, "handshake with 10.8.0.2:8443 via 192.0.2.1:443"};
const ProbeResult kFalse{ProbeStatus::kFalse, "connection refused by 10.8.0.2:8443 (RST) via x"};
const ProbeResult kUnknown{ProbeStatus::kUnknown, "no reply to an empty datagram"};

TEST(CombineTest, AllTrueIsTrueWithTheFirstMessageAndACount) {
  const Verdict v = Combine(3, {&kTrue, &kTrue2, &kTrue2}, absl::UnixEpoch());
  EXPECT_EQ(v.result.status, ProbeStatus::kTrue);
  EXPECT_EQ(v.result.message, "handshake with 10.8.0.2:8080 via 192.0.2.1:80, and 2 more ports");
  EXPECT_EQ(v.generation, 3);
  EXPECT_EQ(Combine(3, {&kTrue}, absl::UnixEpoch()).result.message, kTrue.message);
}

TEST(CombineTest, AnyFalseIsFalseWithItsMessage) {
  EXPECT_EQ(Combine(1, {&kTrue, &kUnknown, &kFalse}, absl::UnixEpoch()).result, kFalse);
}

TEST(CombineTest, UnknownWithoutFalseIsUnknown) {
  EXPECT_EQ(Combine(1, {&kTrue, &kUnknown}, absl::UnixEpoch()).result, kUnknown);
}

TEST(VerdictProtoTest, CarriesStatusReasonGenerationAndTime) {
  Verdict v{7, kFalse, absl::FromUnixSeconds(1700000000) + absl::Milliseconds(5)};
  ferry::v1::DataPathVerdict p = ToProto("web", v);
  EXPECT_EQ(p.forward(), "web");
  EXPECT_EQ(p.generation(), 7);
  EXPECT_EQ(p.status(), "False");
  EXPECT_EQ(p.reason(), api::kReasonProbeFailed);
  EXPECT_EQ(p.message(), kFalse.message);
  EXPECT_EQ(p.checked_at().seconds(), 1700000000);
  EXPECT_EQ(p.checked_at().nanos(), 5000000);
  EXPECT_EQ(ToProto("web", Verdict{1, kTrue, {}}).reason(), api::kReasonVerified);
  EXPECT_EQ(ToProto("web", Verdict{1, kUnknown, {}}).status(), "Unknown");
  EXPECT_EQ(ToProto("web", Verdict{1, kUnknown, {}}).reason(), api::kReasonUnproven);
}

std::vector<std::string> Names(const std::vector<ferry::v1::DataPathVerdict>& verdicts) {
  std::vector<std::string> out;
  for (const auto& v : verdicts) out.push_back(v.forward());
  return out;
}

TEST(VerdictBookTest, OnlyStatusOrGenerationChangesAreReported) {
  VerdictBook book;
  book.Set("web", Verdict{1, kTrue, {}});
  EXPECT_THAT(Names(book.TakeChanges()), ElementsAre("web"));
  book.Set("web", Verdict{1, kTrue2, {}});  // same status, other message
  EXPECT_THAT(book.TakeChanges(), IsEmpty());
  book.Set("web", Verdict{2, kTrue, {}});
  EXPECT_THAT(Names(book.TakeChanges()), ElementsAre("web"));
  book.Set("web", Verdict{2, kFalse, {}});
  book.Set("web", Verdict{2, kTrue, {}});  // back before it was taken: no change
  EXPECT_THAT(book.TakeChanges(), IsEmpty());
}

TEST(VerdictBookTest, TakeAllListsEveryVerdictByNameAndClearsChanges) {
  VerdictBook book;
  book.Set("web", Verdict{1, kTrue, {}});
  book.Set("api", Verdict{1, kFalse, {}});
  EXPECT_THAT(Names(book.TakeAll()), ElementsAre("api", "web"));
  EXPECT_THAT(book.TakeChanges(), IsEmpty());
}

TEST(VerdictBookTest, ARemovedForwardIsNeverReportedAgain) {
  VerdictBook book;
  book.Set("web", Verdict{1, kTrue, {}});
  book.Remove("web");
  EXPECT_THAT(book.TakeChanges(), IsEmpty());
  EXPECT_THAT(book.TakeAll(), IsEmpty());
}

// --- the probe's messages ---

ProbeTarget Target(uint8_t protocol) {
  ProbeTarget t;
  t.frontend = Ip("192.0.2.1");
  t.port = 80;
  t.protocol = protocol;
  t.backend = Ip("10.8.0.2");
  t.target_port = 8080;
  return t;
}

TEST(ProbeMessagesTest, TcpOutcomes) {
  const ProbeTarget t = Target(kProtoTcp);
  EXPECT_EQ(ResultOf(t, ProbeEnd::kConnected),
            (ProbeResult{ProbeStatus::kTrue, "handshake with 10.8.0.2:8080 via 192.0.2.1:80"}));
  EXPECT_EQ(ResultOf(t, ProbeEnd::kTimedOut),
            (ProbeResult{ProbeStatus::kFalse,
                         "no SYN-ACK from 10.8.0.2:8080 via 192.0.2.1:80 within 2s"}));
  EXPECT_EQ(ResultOfError(t, ECONNREFUSED),
            (ProbeResult{ProbeStatus::kFalse,
                         "connection refused by 10.8.0.2:8080 (RST) via 192.0.2.1:80"}));
  EXPECT_EQ(
      ResultOfError(t, EHOSTUNREACH),
      (ProbeResult{ProbeStatus::kFalse,
                   "EHOSTUNREACH (No route to host) probing 10.8.0.2:8080 via 192.0.2.1:80"}));
}

TEST(ProbeMessagesTest, UdpOutcomes) {
  const ProbeTarget t = Target(kProtoUdp);
  EXPECT_EQ(ResultOf(t, ProbeEnd::kReplied),
            (ProbeResult{ProbeStatus::kTrue, "reply from 10.8.0.2:8080 via 192.0.2.1:80"}));
  EXPECT_EQ(ResultOf(t, ProbeEnd::kTimedOut),
            (ProbeResult{ProbeStatus::kUnknown,
                         "no reply to an empty datagram from 10.8.0.2:8080 via 192.0.2.1:80 "
                         "within 2s; a UDP service need not answer"}));
  EXPECT_EQ(ResultOfError(t, ECONNREFUSED),
            (ProbeResult{ProbeStatus::kFalse,
                         "port unreachable: 10.8.0.2:8080 answered ICMP port unreachable via "
                         "192.0.2.1:80"}));
}

TEST(ProbeMessagesTest, ADropOnThisNodeAndSetupErrors) {
  const ProbeTarget t = Target(kProtoUdp);
  EXPECT_THAT(ResultOfError(t, EPERM).message,
              ::testing::HasSubstr("dropped on this node (EPERM): no DNAT element matched it"));
  const ProbeResult mark = ResultOfSetupError(t, "SO_MARK", EPERM);
  EXPECT_EQ(mark.status, ProbeStatus::kUnknown);
  EXPECT_EQ(mark.message,
            "cannot probe 192.0.2.1:80: SO_MARK: EPERM (Operation not permitted); marking the "
            "probe needs CAP_NET_ADMIN");
  EXPECT_EQ(ResultOfSetupError(t, "bind", EADDRNOTAVAIL).status, ProbeStatus::kUnknown);
}

TEST(ProbeMessagesTest, Ipv6EndpointsAreBracketed) {
  ProbeTarget t = Target(kProtoTcp);
  t.frontend = Ip("2001:db8::1");
  t.backend = Ip("fd00:8::2");
  EXPECT_EQ(ResultOf(t, ProbeEnd::kConnected).message,
            "handshake with [fd00:8::2]:8080 via [2001:db8::1]:80");
}

}  // namespace
}  // namespace ferry::agent
