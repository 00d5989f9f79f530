// NetlinkRouteBackend and ProcSysctlBackend against a real kernel, inside a
// private namespace with a veth pair carrying the gateways' subnets.

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

class RouteBackendTest : public testing::NetnsTest {
 protected:
  static constexpr RouteTableOptions kTables{7000, 100, 10000};

  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MustInNetns("ip link add d0 type veth peer name d1");
    MustInNetns("ip link set d1 up");
    MustInNetns("ip link set d0 up");
    MustInNetns("ip addr add 10.8.0.1/24 dev d0");
    MustInNetns("ip -6 addr add fd00:8::1/64 dev d0 nodad");
    // Ferry's tables here are 7000..7099: the examples use 7001 and 7002.
    absl::StatusOr<std::unique_ptr<RouteBackend>> b = NewNetlinkRouteBackend(kTables);
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  void TearDown() override {
    backend_.reset();
    NetnsTest::TearDown();
  }

  static RoutePlan ExamplePlan() {
    RoutePlan plan;
    plan.routes_add = {TableRoute{7001, Ip("10.8.0.254")}, TableRoute{7002, Ip("fd00:8::fe")}};
    plan.rules_add = {PolicyRule{Ip("10.8.0.2"), kProtoTcp, 8080, 8080, 7001, 7001},
                      PolicyRule{Ip("fd00:8::2"), kProtoUdp, 5000, 5010, 7002, 7002}};
    return plan;
  }

  std::unique_ptr<RouteBackend> backend_;
};

TEST_F(RouteBackendTest, LoadReturnsWhatApplyWrote) {
  const RoutePlan plan = ExamplePlan();
  absl::Status s = backend_->Apply(plan);
  ASSERT_TRUE(s.ok()) << s;

  absl::StatusOr<RouteState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->routes, plan.routes_add);
  EXPECT_EQ(state->rules, plan.rules_add);
  EXPECT_THAT(MustInNetns("ip rule show"),
              HasSubstr("7001:\tfrom 10.8.0.2 ipproto tcp sport 8080 lookup 7001 proto 254"));
  EXPECT_THAT(MustInNetns("ip route show table 7001"),
              HasSubstr("default via 10.8.0.254 dev d0 proto 254"));
}

TEST_F(RouteBackendTest, LoadSeesOnlyWhatHasBothFerrysTagAndATableInItsRange) {
  // Ferry's: tagged and in 7000..7099.
  MustInNetns("ip route add default via 10.8.0.254 table 7010 proto 254");
  MustInNetns("ip rule add from 10.8.0.4 ipproto tcp sport 80 lookup 7010 proto 254 priority 7010");
  // Tagged, but another range (an agent with other --table-base, or a tool
  // that happens to use 254): never Ferry's to prune.
  MustInNetns("ip route add default via 10.8.0.254 table 7200 proto 254");
  MustInNetns("ip rule add from 10.8.0.5 lookup 7200 proto 254 priority 7200");
  MustInNetns("ip rule add from 10.8.0.6 lookup main proto 254 priority 7201");
  // In range, but an operator's: not Ferry's either.
  MustInNetns("ip route add default via 10.8.0.253 table 7011 proto static");
  MustInNetns("ip rule add from 10.8.0.7 lookup 7011 priority 7011");

  absl::StatusOr<RouteState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->routes, (std::vector<TableRoute>{TableRoute{7010, Ip("10.8.0.254")}}));
  EXPECT_EQ(state->rules,
            (std::vector<PolicyRule>{PolicyRule{Ip("10.8.0.4"), kProtoTcp, 80, 80, 7010, 7010}}));
}

TEST_F(RouteBackendTest, ApplyIsIdempotent) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  absl::Status s = backend_->Apply(ExamplePlan());
  EXPECT_TRUE(s.ok()) << s;
  absl::StatusOr<RouteState> state = backend_->Load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->rules.size(), 2u);  // no duplicates
}

TEST_F(RouteBackendTest, DeleteRemovesRulesAndRoutes) {
  const RoutePlan plan = ExamplePlan();
  ASSERT_TRUE(backend_->Apply(plan).ok());
  RoutePlan del;
  del.rules_delete = plan.rules_add;
  del.routes_delete = plan.routes_add;
  absl::Status s = backend_->Apply(del);
  ASSERT_TRUE(s.ok()) << s;

  absl::StatusOr<RouteState> state = backend_->Load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(*state, RouteState{});
}

TEST_F(RouteBackendTest, ForeignRulesAndRoutesAreNeitherListedNorTouched) {
  MustInNetns("ip rule add from 10.8.0.9 lookup 7001 priority 7001 proto static");
  MustInNetns("ip route add default via 10.8.0.1 table 7001 proto static");
  MustInNetns("ip route add 192.0.2.0/24 via 10.8.0.1 proto static");

  absl::StatusOr<RouteState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, RouteState{});

  // Replacing "our" default route in 7001 must not need the foreign one
  // gone, and deleting ours must leave theirs.
  RoutePlan plan;
  plan.rules_add = {PolicyRule{Ip("10.8.0.2"), kProtoTcp, 8080, 8080, 7001, 7001}};
  ASSERT_TRUE(backend_->Apply(plan).ok());
  RoutePlan del;
  del.rules_delete = plan.rules_add;
  ASSERT_TRUE(backend_->Apply(del).ok());
  EXPECT_THAT(MustInNetns("ip rule show"), HasSubstr("from 10.8.0.9 lookup 7001"));
  EXPECT_THAT(MustInNetns("ip route show table 7001"), HasSubstr("default via 10.8.0.1"));
  EXPECT_THAT(MustInNetns("ip route show"), HasSubstr("192.0.2.0/24 via 10.8.0.1"));
}

TEST_F(RouteBackendTest, UnreachableGatewayErrorNamesTheRoute) {
  RoutePlan plan;
  plan.routes_add = {TableRoute{7005, Ip("203.0.113.1")}};
  absl::Status s = backend_->Apply(plan);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(s.message(), HasSubstr("adding route default via 203.0.113.1 table 7005"));
}

TEST_F(RouteBackendTest, RuleErrorNamesTheRule) {
  RoutePlan plan;
  // The kernel rejects a port range whose start is above its end.
  plan.rules_add = {PolicyRule{Ip("10.8.0.2"), kProtoTcp, 9000, 8000, 7001, 7001}};
  absl::Status s = backend_->Apply(plan);
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("adding rule from 10.8.0.2 ipproto tcp sport "
                                     "9000-8000 lookup 7001 priority 7001"));
}

TEST_F(RouteBackendTest, SysctlWriteAndReadStayInTheNamespace) {
  std::unique_ptr<SysctlBackend> sysctl = NewProcSysctlBackend();
  ASSERT_TRUE(sysctl->Write("net/ipv4/ip_forward", "1").ok());
  absl::StatusOr<std::string> value = sysctl->Read("net/ipv4/ip_forward");
  ASSERT_TRUE(value.ok()) << value.status();
  EXPECT_EQ(*value, "1");
  EXPECT_EQ(MustInNetns("cat /proc/sys/net/ipv4/ip_forward"), "1\n");
  ASSERT_TRUE(sysctl->Write("net/ipv4/ip_forward", "0").ok());
  EXPECT_EQ(*sysctl->Read("net/ipv4/ip_forward"), "0");
}

TEST_F(RouteBackendTest, SysctlRejectsKeysOutsideProcSys) {
  std::unique_ptr<SysctlBackend> sysctl = NewProcSysctlBackend();
  absl::StatusOr<std::string> value = sysctl->Read("net/../../etc/passwd");
  EXPECT_TRUE(absl::IsInvalidArgument(value.status()));
  EXPECT_THAT(value.status().message(), HasSubstr("net/../../etc/passwd"));
  absl::Status s = sysctl->Write("net/ipv4/no_such_key", "1");
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("net/ipv4/no_such_key"));
}

}  // namespace
}  // namespace ferry::agent
