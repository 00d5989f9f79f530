// Spec: in a namespace with IPv6 disabled, a push with IPv6 forwards
// applies its IPv4 forwards and is ACKed, while each IPv6 forward is left
// out of the kernel and named "kernel lacks IPv6 support: ..." (the
// controller shows it failed on this node); nothing crashes, and the IPv4
// state stays in place. The real netlink and sysctl backends, in a
// namespace of the test's own (fx-kern-<pid>-<n>); the root namespace is
// never touched.

#include <map>
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
using ::testing::Not;

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

constexpr char kNoIpv6[] =
    "kernel lacks IPv6 support: IPv6 is disabled in this network namespace "
    "(net.ipv6.conf.all.disable_ipv6=1)";

TEST_F(KernelFeaturesNetnsTest, FrontendOnlyIpv6ForwardIsNamedFailedAndNotInstalled) {
  // nftables would accept this element, but no IPv6 packet can reach it.
  ferry::v1::NodeConfig config = Ipv4Only();
  config.set_version("frontend6");
  config.set_ipv6_forwarding(true);
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward("front6");
  rule->set_frontend_address("2001:db8::1");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(443);
  rule->set_backend_address("2001:db8:1::2");
  rule->set_target_port(8443);
  absl::Status status = reconciler_->Apply(config);
  ASSERT_TRUE(status.ok()) << status;
  const std::map<std::string, std::string> errors = reconciler_->forward_errors();
  ASSERT_EQ(errors.size(), 1u);
  RecordProperty("forward_error", errors.at("front6"));
  EXPECT_THAT(errors.at("front6"), HasSubstr(kNoIpv6));
  EXPECT_EQ(reconciler_->summary().version, "frontend6");
  const std::string table = MustInNetns("nft list table inet ferry");
  EXPECT_THAT(table, HasSubstr("203.0.113.1"));
  EXPECT_THAT(table, Not(HasSubstr("2001:db8::1")));
  EXPECT_EQ(*sysctls_->Read(kIpv6ForwardingKey), "0");
}

TEST_F(KernelFeaturesNetnsTest, Ipv6ForwardIsNamedFailedWhileIpv4AppliesAndStays) {
  absl::Status first = reconciler_->Apply(Ipv4Only());
  ASSERT_TRUE(first.ok()) << first;

  ferry::v1::NodeConfig both = Ipv4Only();
  both.set_version("both");
  both.set_ipv6_forwarding(true);
  AddForward(both, "web6", "2001:db8::1", "2001:db8:1::2", "2001:db8::ff");
  absl::Status applied = reconciler_->Apply(both);
  // ACKed (the IPv4 forward is served) with web6 named as failed.
  ASSERT_TRUE(applied.ok()) << applied;
  EXPECT_EQ(reconciler_->summary().version, "both");
  const std::map<std::string, std::string> errors = reconciler_->forward_errors();
  ASSERT_EQ(errors.size(), 1u);
  EXPECT_THAT(errors.at("web6"), HasSubstr(kNoIpv6));

  // The IPv4 forward's DNAT element, return rule and route are all in
  // place; nothing of web6 is.
  const std::string table = MustInNetns("nft list table inet ferry");
  EXPECT_THAT(table, HasSubstr("203.0.113.1"));
  EXPECT_THAT(table, Not(HasSubstr("2001:db8")));
  EXPECT_THAT(MustInNetns("ip -4 rule show"), HasSubstr("from 10.8.0.2"));
  EXPECT_THAT(MustInNetns("ip -4 route show table all"), HasSubstr("via 10.8.0.1"));
  EXPECT_THAT(InNetns("ip -6 rule show").output, Not(HasSubstr("2001:db8")));

  // And the agent carries on: the IPv4-only config still applies, and web6
  // is no longer named once it is gone.
  ferry::v1::NodeConfig again = Ipv4Only();
  again.set_version("v4-again");
  absl::Status back = reconciler_->Apply(again);
  EXPECT_TRUE(back.ok()) << back;
  EXPECT_TRUE(reconciler_->forward_errors().empty());
}

}  // namespace
}  // namespace ferry::agent
