// Spec: when the kernel lacks an address family or a feature, the agent's
// error says so plainly (not "run as root", not "gateway not reachable"),
// whatever errno the kernel chose to say it with. A push whose IPv6
// forwards the node cannot serve applies its IPv4 forwards and names each
// IPv6 one as failed; a push the kernel refuses anyway is NACKed without
// touching what was applied before.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cerrno>
#include <map>
#include <string>

#include "node-agent/kernel/errno_status.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"
#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

constexpr char kIpv6Route[] = "adding route default via 2001:db8::1 table 7101";

TEST(KernelFeaturesTest, Ipv6ObjectRefusedInANamespaceWithIpv6DisabledSaysSo) {
  for (int err : {EHOSTUNREACH, EACCES, EAFNOSUPPORT}) {
    absl::Status s = ErrnoToStatus(err, kIpv6Route, false, Ipv6Support::kDisabled);
    EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition) << err;
    EXPECT_THAT(s.message(), HasSubstr("kernel lacks IPv6 support: IPv6 is disabled in this "
                                       "network namespace (net.ipv6.conf.all.disable_ipv6=1)"));
    EXPECT_THAT(s.message(), HasSubstr(kIpv6Route));  // still says what failed
  }
}

TEST(KernelFeaturesTest, Ipv6SysctlMissingFromAKernelWithoutIpv6SaysSo) {
  absl::Status s = ErrnoToStatus(ENOENT, "writing sysctl net/ipv6/conf/all/forwarding", false,
                                 Ipv6Support::kMissing);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("kernel lacks IPv6 support: this kernel has no IPv6"));
}

TEST(KernelFeaturesTest, Ipv4ObjectIsNotBlamedOnIpv6) {
  absl::Status s = ErrnoToStatus(EHOSTUNREACH, "adding route default via 10.8.0.1 table 7100",
                                 false, Ipv6Support::kDisabled);
  EXPECT_THAT(s.message(), Not(HasSubstr("IPv6")));
  EXPECT_THAT(s.message(), HasSubstr("gateway not reachable"));
}

TEST(KernelFeaturesTest, Ipv6ObjectWithWorkingIpv6KeepsTheOrdinaryMeaning) {
  absl::Status s = ErrnoToStatus(EHOSTUNREACH, kIpv6Route, false, Ipv6Support::kAvailable);
  EXPECT_THAT(s.message(), Not(HasSubstr("lacks IPv6")));
}

TEST(KernelFeaturesTest, MissingAddressFamilyForAnIpv6ObjectIsLackOfIpv6) {
  absl::Status s = ErrnoToStatus(EAFNOSUPPORT, kIpv6Route, false, Ipv6Support::kAvailable);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("kernel lacks IPv6 support (EAFNOSUPPORT)"));
}

TEST(KernelFeaturesTest, UnsupportedNftablesOperationNamesTheFeatureAndErrno) {
  absl::Status s =
      ErrnoToStatus(EOPNOTSUPP, "adding chain inet ferry postrouting", /*missing_feature=*/true);
  EXPECT_EQ(s.code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(s.message(), HasSubstr("kernel lacks nftables or netlink feature (EOPNOTSUPP)"));
  EXPECT_THAT(s.message(), HasSubstr("adding chain inet ferry postrouting"));
}

TEST(KernelFeaturesTest, MissingNftablesModuleNamesTheFeature) {
  absl::Status s = ErrnoToStatus(ENOENT, "adding rule inet ferry prerouting (expression masq)",
                                 /*missing_feature=*/true);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("kernel lacks nftables feature (ENOENT"));
  EXPECT_THAT(s.message(), HasSubstr("nft_masq"));
}

TEST(KernelFeaturesTest, NamesIpv6ObjectRecognisesAddressesAndSysctls) {
  EXPECT_TRUE(NamesIpv6Object("adding element 2001:db8::1 . tcp . 80 to map dnat6"));
  EXPECT_TRUE(NamesIpv6Object("from 2001:db8::/64 lookup 7100"));
  EXPECT_TRUE(NamesIpv6Object("writing sysctl net/ipv6/conf/all/forwarding"));
  EXPECT_FALSE(NamesIpv6Object("adding element 192.0.2.1 . tcp . 80 to map dnat4"));
  EXPECT_FALSE(NamesIpv6Object("reading sysctl net/ipv4/ip_forward"));
}

// Refuses IPv6 routes the way a kernel with IPv6 disabled does.
class Ipv6LessRouteBackend : public testing::FakeRouteBackend {
 public:
  absl::Status Apply(const RoutePlan& plan) override {
    for (const TableRoute& r : plan.routes_add) {
      if (!r.via.is_v4()) {
        return ErrnoToStatus(
            EHOSTUNREACH,
            absl::StrCat("adding route default via ", r.via.ToString(), " table ", r.table), false,
            Ipv6Support::kDisabled);
      }
    }
    return FakeRouteBackend::Apply(plan);
  }
};

void AddReturn(ferry::v1::NodeConfig& config, const std::string& forward, const std::string& source,
               const std::string& via) {
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward(forward);
  route->set_source_address(source);
  route->set_protocol(ferry::v1::TCP);
  route->set_port(8080);
  route->set_via(via);
}

TEST(KernelFeaturesTest, PushNeedingIpv6IsRefusedClearlyAndTheIpv4StateStays) {
  testing::FakeNatBackend nat;
  Ipv6LessRouteBackend routes;
  testing::FakeSysctlBackend sysctls;
  sysctls.values[kIpv4ForwardingKey] = "0\n";
  sysctls.values[kIpv6ForwardingKey] = "0\n";
  Reconciler reconciler(&nat, &routes, &sysctls, Reconciler::Options{});
  ASSERT_TRUE(reconciler.Adopt().ok());

  ferry::v1::NodeConfig v4;
  v4.set_version("v4");
  AddReturn(v4, "web4", "10.8.0.2", "10.8.0.1");
  ASSERT_TRUE(reconciler.Apply(v4).ok());
  const RouteState applied = routes.state;

  ferry::v1::NodeConfig both = v4;
  both.set_version("both");
  AddReturn(both, "web6", "2001:db8:1::2", "2001:db8::1");
  absl::Status s = reconciler.Apply(both);
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), HasSubstr("kernel lacks IPv6 support"));
  EXPECT_EQ(routes.state.routes, applied.routes);
  EXPECT_EQ(routes.state.rules, applied.rules);
  EXPECT_EQ(reconciler.summary().version, "v4");
}

class Ipv6ProbeTest : public ::testing::Test {
 protected:
  Ipv6ProbeTest() {
    sysctls_.values[kIpv4ForwardingKey] = "0\n";
    sysctls_.values[kIpv6ForwardingKey] = "0\n";
  }
  void SetUp() override { ASSERT_TRUE(reconciler_.Adopt().ok()); }

  void DisableIpv6() { sysctls_.values[kIpv6DisableKey] = "1\n"; }

  // "web4" on 203.0.113.1 and the frontend-only IPv6 forward "web6".
  static ferry::v1::NodeConfig Both(absl::string_view version) {
    ferry::v1::NodeConfig config = testing::Config(version, {{"web4", 80}});
    *config.add_dnat() =
        testing::Rule({"web6", 80, "2001:db8:1::2", 8080, false, false, "2001:db8::1"});
    config.set_ipv6_forwarding(true);
    return config;
  }

  static DnatKey Key6() { return DnatKey{testing::Ip("2001:db8::1"), kProtoTcp, 80}; }

  testing::FakeNatBackend nat_;
  testing::FakeRouteBackend routes_;
  testing::FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
};

TEST_F(Ipv6ProbeTest, WithIpv6DisabledTheIpv4ForwardAppliesAndTheIpv6OneIsNamedNotInstalled) {
  DisableIpv6();
  absl::Status status = reconciler_.Apply(Both("v1"));
  ASSERT_TRUE(status.ok()) << status;
  EXPECT_EQ(reconciler_.summary().version, "v1");
  EXPECT_TRUE(nat_.state.dnat.contains(testing::Key(80)));
  EXPECT_FALSE(nat_.state.dnat.contains(Key6()));
  EXPECT_EQ(sysctls_.values[kIpv6ForwardingKey], "0\n");  // nothing needs it
  EXPECT_EQ(sysctls_.values[kIpv4ForwardingKey], "1\n");
  const std::map<std::string, std::string> errors = reconciler_.forward_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors.at("web6"),
              HasSubstr("kernel lacks IPv6 support: IPv6 is disabled in this network namespace "
                        "(net.ipv6.conf.all.disable_ipv6=1)"));
  EXPECT_THAT(errors.at("web6"), HasSubstr("2001:db8::1"));
}

TEST_F(Ipv6ProbeTest, AKernelWithoutIpv6IsNamedAsSuch) {
  sysctls_.values.erase(kIpv6DisableKey);  // no /proc/sys/net/ipv6
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  EXPECT_THAT(reconciler_.forward_errors().at("web6"),
              HasSubstr("kernel lacks IPv6 support: this kernel has no IPv6"));
}

TEST_F(Ipv6ProbeTest, WithWorkingIpv6EverythingIsInstalledAndNothingNamed) {
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  EXPECT_TRUE(nat_.state.dnat.contains(Key6()));
  EXPECT_EQ(sysctls_.values[kIpv6ForwardingKey], "1\n");
  EXPECT_TRUE(reconciler_.forward_errors().empty());
}

TEST_F(Ipv6ProbeTest, AnIpv4OnlyPushDoesNotProbe) {
  sysctls_.values.erase(kIpv6DisableKey);
  ASSERT_TRUE(reconciler_.Apply(testing::Config("v1", {{"web4", 80}})).ok());
  EXPECT_TRUE(reconciler_.forward_errors().empty());
}

TEST_F(Ipv6ProbeTest, TheNamedForwardsStayNamedAcrossADeltaThatDoesNotTouchThem) {
  DisableIpv6();
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  // The controller replaces its record with each ACK's list.
  ASSERT_TRUE(reconciler_.ApplyDelta(testing::Delta("v1", "v2", {"web4"}, {{"web4", 81}})).ok());
  EXPECT_TRUE(reconciler_.forward_errors().contains("web6"));
  // Deleting the forward clears its error.
  ASSERT_TRUE(reconciler_.ApplyDelta(testing::Delta("v2", "v3", {"web6"}, {})).ok());
  EXPECT_TRUE(reconciler_.forward_errors().empty());
}

TEST_F(Ipv6ProbeTest, AnIpv6ForwardInADeltaIsNamedAndNotInstalled) {
  DisableIpv6();
  ASSERT_TRUE(reconciler_.Apply(testing::Config("v1", {{"web4", 80}})).ok());
  ferry::v1::NodeConfigDelta delta = testing::Delta("v1", "v2", {"web6"}, {});
  *delta.add_dnat() =
      testing::Rule({"web6", 80, "2001:db8:1::2", 8080, false, false, "2001:db8::1"});
  delta.set_ipv6_forwarding(true);
  ASSERT_TRUE(reconciler_.ApplyDelta(delta).ok());
  EXPECT_FALSE(nat_.state.dnat.contains(Key6()));
  EXPECT_THAT(reconciler_.forward_errors().at("web6"), HasSubstr("kernel lacks IPv6 support"));
  EXPECT_EQ(reconciler_.summary().version, "v2");
}

TEST_F(Ipv6ProbeTest, AnIpv6ForwardInstalledBeforeIpv6WasDisabledIsTakenOut) {
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  ASSERT_TRUE(nat_.state.dnat.contains(Key6()));
  DisableIpv6();
  ASSERT_TRUE(reconciler_.Apply(Both("v2")).ok());
  EXPECT_FALSE(nat_.state.dnat.contains(Key6()));
  EXPECT_TRUE(nat_.state.dnat.contains(testing::Key(80)));
  EXPECT_TRUE(reconciler_.forward_errors().contains("web6"));
  EXPECT_EQ(sysctls_.values[kIpv6ForwardingKey], "0\n");  // restored: Ferry had set it
}

// A delta keeps the forwards it does not name as they are, which is wrong
// for IPv6 ones once IPv6 came or went: the agent asks for the full config
// (the controller's cue for "base version mismatch"), which has them all.
TEST_F(Ipv6ProbeTest, ADeltaAfterIpv6CameBackAsksForTheFullConfig) {
  DisableIpv6();
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  sysctls_.values[kIpv6DisableKey] = "0\n";
  const absl::Status status =
      reconciler_.ApplyDelta(testing::Delta("v1", "v2", {"web4"}, {{"web4", 81}}));
  EXPECT_EQ(status.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(std::string(status.message()),
              ::testing::StartsWith("base version mismatch: IPv6 works again"));
  EXPECT_TRUE(nat_.state.dnat.contains(testing::Key(80)));  // nothing changed
  EXPECT_EQ(reconciler_.summary().version, "v1");
  // The full config then installs the IPv6 forward and clears its error.
  ASSERT_TRUE(reconciler_.Apply(Both("v2")).ok());
  EXPECT_TRUE(nat_.state.dnat.contains(Key6()));
  EXPECT_TRUE(reconciler_.forward_errors().empty());
}

TEST_F(Ipv6ProbeTest, ADeltaAfterIpv6WentAwayAsksForTheFullConfig) {
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  DisableIpv6();
  const absl::Status status =
      reconciler_.ApplyDelta(testing::Delta("v1", "v2", {"web4"}, {{"web4", 81}}));
  EXPECT_THAT(std::string(status.message()),
              ::testing::StartsWith("base version mismatch: IPv6 stopped working"));
  ASSERT_TRUE(reconciler_.Apply(Both("v2")).ok());
  EXPECT_FALSE(nat_.state.dnat.contains(Key6()));
  EXPECT_TRUE(reconciler_.forward_errors().contains("web6"));
}

TEST_F(Ipv6ProbeTest, AFailedPushKeepsThePreviousForwardErrors) {
  DisableIpv6();
  ASSERT_TRUE(reconciler_.Apply(Both("v1")).ok());
  nat_.apply_error = absl::InternalError("netlink batch rejected");
  EXPECT_FALSE(reconciler_.Apply(testing::Config("v2", {{"web4", 81}})).ok());
  EXPECT_TRUE(reconciler_.forward_errors().contains("web6"));
}

}  // namespace
}  // namespace ferry::agent
