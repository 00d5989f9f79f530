// Spec: how a NodeConfig becomes kernel state, and how return paths get
// routing tables.

#include "node-agent/state/desired_state.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "absl/strings/str_cat.h"
#include "node-agent/state/route_tables.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

ferry::v1::DnatRule* AddDnat(ferry::v1::NodeConfig& config, absl::string_view forward,
                             absl::string_view frontend, uint32_t port, absl::string_view backend,
                             uint32_t target_port) {
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward(std::string(forward));
  rule->set_frontend_address(std::string(frontend));
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(port);
  rule->set_backend_address(std::string(backend));
  rule->set_target_port(target_port);
  return rule;
}

ferry::v1::ReturnRoute* AddReturn(ferry::v1::NodeConfig& config, absl::string_view forward,
                                  absl::string_view source, uint32_t port, absl::string_view via) {
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward(std::string(forward));
  route->set_source_address(std::string(source));
  route->set_protocol(ferry::v1::TCP);
  route->set_port(port);
  route->set_via(std::string(via));
  return route;
}

TEST(DesiredStateTest, EmptyConfigStillWantsTheTable) {
  absl::StatusOr<DesiredState> state = BuildDesiredState(ferry::v1::NodeConfig());
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->nat.table_present);
  EXPECT_TRUE(state->nat.dnat.empty());
}

TEST(DesiredStateTest, SinglePortBecomesOneElementCommentedWithTheForward) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 80, "10.8.0.2", 8080);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->nat.dnat.size(), 1u);
  const auto& [key, target] = *state->nat.dnat.begin();
  EXPECT_EQ(key, (DnatKey{Ip("203.0.113.1"), kProtoTcp, 80}));
  EXPECT_EQ(target, (DnatTarget{Ip("10.8.0.2"), 8080, "ipforward/web"}));
  EXPECT_TRUE(state->nat.masq.empty());
}

TEST(DesiredStateTest, PortRangeMapsOneToOneOntoTargetRange) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "game", "203.0.113.1", 7000, "10.8.0.2", 9000)->set_end_port(7003);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->nat.dnat.size(), 4u);
  for (uint16_t offset = 0; offset < 4; ++offset) {
    DnatKey key{Ip("203.0.113.1"), kProtoTcp, static_cast<uint16_t>(7000 + offset)};
    ASSERT_TRUE(state->nat.dnat.contains(key)) << "port " << 7000 + offset;
    EXPECT_EQ(state->nat.dnat.at(key).port, 9000 + offset);
  }
}

TEST(DesiredStateTest, ZeroTargetPortMeansSamePort) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 443, "10.8.0.2", 0);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->nat.dnat.begin()->second.port, 443);
}

TEST(DesiredStateTest, MasqueradeAddsBackendTuplePerPort) {
  ferry::v1::NodeConfig config;
  ferry::v1::DnatRule* rule = AddDnat(config, "dns", "203.0.113.1", 53, "10.8.0.2", 5353);
  rule->set_protocol(ferry::v1::UDP);
  rule->set_end_port(54);
  rule->set_masquerade(true);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  std::map<MasqKey, std::string> expected = {
      {MasqKey{Ip("10.8.0.2"), kProtoUdp, 5353}, "ipforward/dns"},
      {MasqKey{Ip("10.8.0.2"), kProtoUdp, 5354}, "ipforward/dns"}};
  EXPECT_EQ(state->nat.masq, expected);
}

TEST(DesiredStateTest, Ipv6ForwardUsesIpv6Keys) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "v6", "2001:db8::1", 80, "fd00::2", 80);
  config.set_ipv6_forwarding(true);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  const auto& [key, target] = *state->nat.dnat.begin();
  EXPECT_FALSE(key.daddr.is_v4());
  EXPECT_EQ(target.addr, Ip("fd00::2"));
  EXPECT_TRUE(state->sysctls.ipv6_forwarding);
  EXPECT_FALSE(state->sysctls.ipv4_forwarding);
}

TEST(DesiredStateTest, BadBackendAddressNamesForwardAndField) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 80, "10.8.0.300", 80);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state.status().message(), HasSubstr("forward \"web\""));
  EXPECT_THAT(state.status().message(), HasSubstr("dnat[0].backend_address"));
}

TEST(DesiredStateTest, MixedFamilyIsRejected) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "mixed", "203.0.113.1", 80, "fd00::2", 80);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state.status().message(), HasSubstr("forward \"mixed\""));
  EXPECT_THAT(state.status().message(), HasSubstr("same IP family"));
}

TEST(DesiredStateTest, UnspecifiedProtocolIsRejected) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 80, "10.8.0.2", 80)
      ->set_protocol(ferry::v1::PROTOCOL_UNSPECIFIED);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(), HasSubstr("dnat[0].protocol"));
}

TEST(DesiredStateTest, EndPortBelowPortIsRejected) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 80, "10.8.0.2", 80)->set_end_port(79);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(), HasSubstr("dnat[0].end_port"));
}

TEST(DesiredStateTest, TargetRangePastLastPortIsRejected) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 100, "10.8.0.2", 65535)->set_end_port(101);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(), HasSubstr("dnat[0].target_port"));
}

TEST(DesiredStateTest, TargetPortNearTwoToThe32IsRejectedNotWrappedToALowPort) {
  // In 32 bits 4294967295 + 1 is 0, which would pass as "within 65535".
  ferry::v1::NodeConfig config;
  AddDnat(config, "web", "203.0.113.1", 100, "10.8.0.2", 4294967295u)->set_end_port(101);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(),
              HasSubstr("dnat[0].target_port: range 4294967295..4294967296 goes past 65535"));
}

TEST(DesiredStateTest, SameFrontendPortToTwoBackendsIsRejected) {
  ferry::v1::NodeConfig config;
  AddDnat(config, "a", "203.0.113.1", 80, "10.8.0.2", 80);
  AddDnat(config, "b", "203.0.113.1", 80, "10.8.0.3", 80);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(), HasSubstr("forward \"b\""));
  EXPECT_THAT(state.status().message(), HasSubstr("ipforward/a"));
}

TEST(DesiredStateTest, ReturnRouteWithBadViaNamesForward) {
  ferry::v1::NodeConfig config;
  AddReturn(config, "web", "10.8.0.2", 80, "not-an-ip");
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  EXPECT_THAT(state.status().message(), HasSubstr("forward \"web\": return_routes[0].via"));
}

TEST(DesiredStateTest, ReturnRouteSinglePortHasEqualBounds) {
  ferry::v1::NodeConfig config;
  AddReturn(config, "web", "10.8.0.2", 80, "10.8.0.1");
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->returns.size(), 1u);
  EXPECT_EQ(state->returns[0].port_lo, 80);
  EXPECT_EQ(state->returns[0].port_hi, 80);
}

// ---------------------------------------------------------- route tables

DesiredReturn Return(absl::string_view source, uint16_t port, absl::string_view via) {
  return DesiredReturn{"f", Ip(source), kProtoTcp, port, port, Ip(via), ""};
}

TEST(RouteTablesTest, NewViasGetLowestTablesAndOneRulePerReturn) {
  RouteTableOptions options{7100, 100, 10000};
  std::vector<DesiredReturn> returns = {Return("10.8.0.2", 80, "10.8.0.1"),
                                        Return("10.8.0.2", 443, "10.8.0.1"),
                                        Return("10.8.0.2", 22, "10.9.0.1")};
  absl::StatusOr<RouteState> state = BuildRouteState(returns, RouteState(), options);
  ASSERT_TRUE(state.ok()) << state.status();
  std::vector<TableRoute> routes = {{7100, Ip("10.8.0.1")}, {7101, Ip("10.9.0.1")}};
  EXPECT_EQ(state->routes, routes);
  ASSERT_EQ(state->rules.size(), 3u);
  for (const PolicyRule& rule : state->rules) {
    EXPECT_EQ(rule.priority, 10000u);
    EXPECT_EQ(rule.table, rule.sport_lo == 22 ? 7101u : 7100u);
  }
}

TEST(RouteTablesTest, ExistingViaKeepsItsTable) {
  RouteTableOptions options{7100, 100, 10000};
  RouteState committed;
  committed.routes = {{7105, Ip("10.9.0.1")}};
  std::vector<DesiredReturn> returns = {Return("10.8.0.2", 80, "10.8.0.1"),
                                        Return("10.8.0.2", 22, "10.9.0.1")};
  absl::StatusOr<RouteState> state = BuildRouteState(returns, committed, options);
  ASSERT_TRUE(state.ok()) << state.status();
  std::vector<TableRoute> routes = {{7100, Ip("10.8.0.1")}, {7105, Ip("10.9.0.1")}};
  EXPECT_EQ(state->routes, routes);
}

TEST(RouteTablesTest, NewViaSkipsTablesStillInUse) {
  RouteTableOptions options{7100, 100, 10000};
  RouteState committed;
  committed.routes = {{7100, Ip("10.9.0.1")}};
  std::vector<DesiredReturn> returns = {Return("10.8.0.2", 80, "10.8.0.1"),
                                        Return("10.8.0.2", 22, "10.9.0.1")};
  absl::StatusOr<RouteState> state = BuildRouteState(returns, committed, options);
  ASSERT_TRUE(state.ok()) << state.status();
  std::vector<TableRoute> routes = {{7100, Ip("10.9.0.1")}, {7101, Ip("10.8.0.1")}};
  EXPECT_EQ(state->routes, routes);
}

TEST(RouteTablesTest, RangeExhaustionIsAnError) {
  RouteTableOptions options{7100, 1, 10000};
  std::vector<DesiredReturn> returns = {Return("10.8.0.2", 80, "10.8.0.1"),
                                        Return("10.8.0.2", 22, "10.9.0.1")};
  absl::StatusOr<RouteState> state = BuildRouteState(returns, RouteState(), options);
  EXPECT_EQ(state.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(state.status().message(), HasSubstr("2 routing tables"));
}

TEST(RouteTablesTest, TableOutsideRangeIsNotReused) {
  RouteTableOptions options{7100, 100, 10000};
  RouteState committed;
  committed.routes = {{50, Ip("10.8.0.1")}};
  absl::StatusOr<RouteState> state =
      BuildRouteState({Return("10.8.0.2", 80, "10.8.0.1")}, committed, options);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->routes[0].table, 7100u);
}

TEST(DesiredStateTest, RouteQueryIsValidatedButInstallsNothing) {
  ferry::v1::NodeConfig config;
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward("web-c");
  rule->set_frontend_address("192.0.2.3");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(80);
  rule->set_backend_address("10.8.0.2");
  rule->set_target_port(8080);
  rule->set_route_query(true);
  absl::StatusOr<DesiredState> state = BuildDesiredState(config);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->nat.dnat.empty());
  EXPECT_TRUE(state->nat.masq.empty());
  rule->set_backend_address("not-an-address");
  EXPECT_FALSE(BuildDesiredState(config).ok());
}

// ---------------------------------------------------------- return marks

DesiredReturn MarkedReturn(absl::string_view forward, uint16_t port, absl::string_view via,
                           absl::string_view interface) {
  return DesiredReturn{std::string(forward),  Ip("10.8.0.2"), kProtoTcp, port, port, Ip(via),
                       std::string(interface)};
}

TEST(ReturnMarksTest, OneMarkPerInterfaceInTheTopByteLowestFirst) {
  absl::StatusOr<std::map<std::string, uint32_t>> marks = AssignReturnMarks(
      {MarkedReturn("a", 80, "10.8.0.1", "wg-a"), MarkedReturn("c", 80, "10.78.0.1", "wg-c"),
       MarkedReturn("a2", 443, "10.8.0.1", "wg-a"), MarkedReturn("old", 22, "10.9.0.1", "")},
      {});
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(*marks, (std::map<std::string, uint32_t>{{"wg-a", 0x01000000}, {"wg-c", 0x02000000}}));
}

TEST(ReturnMarksTest, CommittedMarksAreKeptAndNewOnesSkipThem) {
  absl::StatusOr<std::map<std::string, uint32_t>> marks = AssignReturnMarks(
      {MarkedReturn("a", 80, "10.8.0.1", "wg-a"), MarkedReturn("c", 80, "10.78.0.1", "wg-c")},
      {{"wg-c", 0x01000000}, {"gone", 0x02000000}, {"foreign-bits", 0x00000001}});
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(*marks, (std::map<std::string, uint32_t>{{"wg-a", 0x02000000}, {"wg-c", 0x01000000}}));
}

TEST(ReturnMarksTest, MoreInterfacesThanMarksIsAnError) {
  std::vector<DesiredReturn> returns;
  for (int i = 0; i <= static_cast<int>(kMaxReturnMarks); ++i) {
    returns.push_back(MarkedReturn("f", 80, "10.8.0.1", absl::StrCat("if", i)));
  }
  absl::StatusOr<std::map<std::string, uint32_t>> marks = AssignReturnMarks(returns, {});
  EXPECT_EQ(marks.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(marks.status().message(), HasSubstr("255 interfaces, but only 254 marks"));
}

TEST(ReturnMarksTest, ACommittedProbeMarkIsReassigned) {
  absl::StatusOr<std::map<std::string, uint32_t>> marks =
      AssignReturnMarks({MarkedReturn("a", 80, "10.8.0.1", "wg-a")}, {{"wg-a", kProbeMark}});
  ASSERT_TRUE(marks.ok()) << marks.status();
  EXPECT_EQ(*marks, (std::map<std::string, uint32_t>{{"wg-a", ReturnMark(1)}}));
}

TEST(ReturnMarksTest, SharedBackendPortGetsOneRulePerFrontendMatchingItsMark) {
  RouteTableOptions options{7100, 100, 10000};
  absl::StatusOr<RouteState> state =
      BuildRouteState({MarkedReturn("web-a", 8080, "10.8.0.1", "wg-a"),
                       MarkedReturn("web-c", 8080, "10.78.0.1", "wg-c")},
                      RouteState(), options);
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->marks,
            (std::map<std::string, uint32_t>{{"wg-a", 0x01000000}, {"wg-c", 0x02000000}}));
  std::vector<TableRoute> routes = {{7100, Ip("10.8.0.1")}, {7101, Ip("10.78.0.1")}};
  EXPECT_EQ(state->routes, routes);
  ASSERT_EQ(state->rules.size(), 2u);
  for (const PolicyRule& rule : state->rules) {
    EXPECT_EQ(rule.fwmask, kReturnMarkMask);
    EXPECT_EQ(rule.fwmark, rule.table == 7100 ? 0x01000000u : 0x02000000u) << rule.table;
    EXPECT_EQ(rule.sport_lo, 8080);
  }
}

TEST(ReturnMarksTest, ReturnWithoutInterfaceMatchesBySourceAlone) {
  absl::StatusOr<RouteState> state = BuildRouteState({MarkedReturn("web", 8080, "10.8.0.1", "")},
                                                     RouteState(), {7100, 100, 10000});
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->marks.empty());
  ASSERT_EQ(state->rules.size(), 1u);
  EXPECT_EQ(state->rules[0].fwmask, 0u);
}

TEST(ReturnMarksTest, TwoHopsForTheSameRepliesOnOneInterfaceAreAnError) {
  absl::StatusOr<RouteState> state =
      BuildRouteState({MarkedReturn("web-a", 8080, "10.8.0.1", "eth0"),
                       MarkedReturn("web-c", 8080, "10.8.0.3", "eth0")},
                      RouteState(), {7100, 100, 10000});
  EXPECT_EQ(state.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(state.status().message(), HasSubstr("\"web-a\" and \"web-c\""));
  EXPECT_THAT(state.status().message(), HasSubstr("no rule can tell them apart"));
}

TEST(ReturnMarksTest, ExpandReturnCarriesTheInterfaceAndRejectsALongName) {
  ferry::v1::ReturnRoute route;
  route.set_forward("web");
  route.set_source_address("10.8.0.2");
  route.set_protocol(ferry::v1::TCP);
  route.set_port(8080);
  route.set_via("10.8.0.1");
  route.set_in_interface("wg-a");
  absl::StatusOr<DesiredReturn> r = ExpandReturn(route, 0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->interface, "wg-a");
  route.set_in_interface("sixteen-bytes-ab");
  EXPECT_THAT(ExpandReturn(route, 0).status().message(), HasSubstr("in_interface"));
}

}  // namespace
}  // namespace ferry::agent
