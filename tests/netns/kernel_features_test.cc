// Spec: in a namespace with IPv6 disabled, a push that needs IPv6 is refused
// with "kernel lacks IPv6 support: ...", nothing crashes, and the IPv4 state
// applied before stays in place. The real netlink and sysctl backends, in a
// namespace of the test's own (fx-kern-<pid>-<n>); the root namespace is
// never touched.

#include <memory>
#include <string>

#include "absl/strings/match.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/errno_status.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

void AddForward(ferry::v1::NodeConfig& config, const std::string& name, const std::string& frontend,
                const std::string& backend, const std::string& via) {
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward(name);
  rule->set_frontend_address(frontend);
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(80);
  rule->set_backend_address(backend);
  rule->set_target_port(8080);
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward(name);
  route->set_source_address(backend);
  route->set_protocol(ferry::v1::TCP);
  route->set_port(8080);
  route->set_via(via);
}

class KernelFeaturesNetnsTest : public ferry::testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MustInNetns("ip link add d0 type veth peer name d1");
    MustInNetns("ip link set d0 up");
    MustInNetns("ip link set d1 up");
    MustInNetns("ip addr add 10.8.0.2/24 dev d0");
    MustInNetns("sysctl -qw net.ipv6.conf.all.disable_ipv6=1");

    absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
    ASSERT_TRUE(nat.ok()) << nat.status();
    nat_ = *std::move(nat);
    absl::StatusOr<std::unique_ptr<RouteBackend>> routes = NewNetlinkRouteBackend();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
    sysctls_ = NewProcSysctlBackend();
    reconciler_ = std::make_unique<Reconciler>(nat_.get(), routes_.get(), sysctls_.get(),
                                               Reconciler::Options{});
    ASSERT_TRUE(reconciler_->Adopt().ok());
  }

  void TearDown() override {
    reconciler_.reset();
    nat_.reset();
    routes_.reset();
    sysctls_.reset();
    NetnsTest::TearDown();
  }

  static ferry::v1::NodeConfig Ipv4Only() {
    ferry::v1::NodeConfig config;
    config.set_version("v4");
    config.set_ipv4_forwarding(true);
    AddForward(config, "web4", "203.0.113.1", "10.8.0.2", "10.8.0.1");
    return config;
  }

  std::unique_ptr<NatBackend> nat_;
  std::unique_ptr<RouteBackend> routes_;
  std::unique_ptr<SysctlBackend> sysctls_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(KernelFeaturesNetnsTest, TheProbeSeesIpv6DisabledInThisNamespace) {
  EXPECT_EQ(ProbeIpv6Support(), Ipv6Support::kDisabled);
}

TEST_F(KernelFeaturesNetnsTest, Ipv6PushIsRefusedClearlyAndIpv4StateStays) {
  absl::Status first = reconciler_->Apply(Ipv4Only());
  ASSERT_TRUE(first.ok()) << first;

  ferry::v1::NodeConfig both = Ipv4Only();
  both.set_version("both");
  both.set_ipv6_forwarding(true);
  AddForward(both, "web6", "2001:db8::1", "2001:db8:1::2", "2001:db8::ff");
  absl::Status refused = reconciler_->Apply(both);
  RecordProperty("nack", std::string(refused.message()));
  // The agent NACKs with exactly this message.
  EXPECT_EQ(refused.code(), absl::StatusCode::kFailedPrecondition) << refused;
  EXPECT_THAT(refused.message(),
              HasSubstr("kernel lacks IPv6 support: IPv6 is disabled in this network namespace "
                        "(net.ipv6.conf.all.disable_ipv6=1)"));
  EXPECT_THAT(refused.message(), HasSubstr("2001:db8::ff"));
  EXPECT_EQ(reconciler_->summary().version, "v4");

  // The IPv4 forward's DNAT element, return rule and route are all in place.
  EXPECT_THAT(MustInNetns("nft list table inet ferry"), HasSubstr("203.0.113.1"));
  EXPECT_THAT(MustInNetns("ip -4 rule show"), HasSubstr("from 10.8.0.2"));
  EXPECT_THAT(MustInNetns("ip -4 route show table all"), HasSubstr("via 10.8.0.1"));

  // And the agent carries on: the IPv4-only config still applies.
  ferry::v1::NodeConfig again = Ipv4Only();
  again.set_version("v4-again");
  absl::Status back = reconciler_->Apply(again);
  EXPECT_TRUE(back.ok()) << back;
}

}  // namespace
}  // namespace ferry::agent
