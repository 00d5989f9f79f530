// Spec: a push that fails after part of it reached the kernel (a route or
// a sysctl refused after the NAT batch committed) is NACKed and leaves the
// kernel exactly as it was before the push: NAT elements, rules, routes and
// sysctls. The applied version stays the old one, so a delta built on it
// still applies. Only when the rollback fails too does the NACK say the
// state is partial.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <ostream>
#include <string>

#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"
#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using testing::Config;
using testing::Delta;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::HasSubstr;
using testing::Key;
using ::testing::Not;

// Everything the fake kernel holds.
struct KernelSnapshot {
  NatState nat;
  RouteState routes;
  std::map<std::string, std::string> sysctls;
  bool operator==(const KernelSnapshot&) const = default;
};

void PrintTo(const KernelSnapshot& k, std::ostream* os) {
  *os << k.nat.dnat.size() << " dnat, " << k.nat.masq.size() << " masq, " << k.routes.rules.size()
      << " rules, " << k.routes.routes.size()
      << " routes, ip_forward=" << k.sysctls.at(kIpv4ForwardingKey)
      << " ipv6 forwarding=" << k.sysctls.at(kIpv6ForwardingKey);
}

class ReconcilerRollbackTest : public ::testing::Test {
 protected:
  ReconcilerRollbackTest() {
    sysctls_.values[kIpv4ForwardingKey] = "0\n";
    sysctls_.values[kIpv6ForwardingKey] = "0\n";
  }

  void SetUp() override { ASSERT_TRUE(reconciler_.Adopt().ok()); }

  KernelSnapshot Kernel() { return KernelSnapshot{nat_.state, *routes_.Load(), sysctls_.values}; }

  // v1: forward "a" with a masqueraded DNAT and a return route.
  static ferry::v1::NodeConfig V1() {
    return Config("v1", {{"a", 80, "10.8.0.2", 8080, /*masquerade=*/true}}, {{"a", 8080}});
  }

  // v2 changes "a" (another backend port, so its element is replaced and
  // its masquerade key swapped) and adds "b" with a return route through
  // another hop (a new routing table).
  static ferry::v1::NodeConfig V2() {
    return Config("v2", {{"a", 80, "10.8.0.2", 9090, /*masquerade=*/true}, {"b", 81}},
                  {{"a", 9090}, {"b", 8080, "10.8.0.9"}});
  }

  static ferry::v1::NodeConfig WithIpv6Forward(ferry::v1::NodeConfig config) {
    *config.add_dnat() =
        testing::Rule({"a6", 80, "2001:db8:1::2", 8080, false, false, "2001:db8::1"});
    config.set_ipv6_forwarding(true);
    return config;
  }

  FakeNatBackend nat_;
  FakeRouteBackend routes_;
  FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
};

TEST_F(ReconcilerRollbackTest, RouteFailureAfterNatCommitRestoresTheKernelAndKeepsTheVersion) {
  ASSERT_TRUE(reconciler_.Apply(V1()).ok());
  const KernelSnapshot before = Kernel();
  const Intent intent = reconciler_.intent();
  // The first route message (b's new table) lands, the second fails.
  routes_.fail_after_messages = 1;
  absl::Status status = reconciler_.Apply(V2());
  routes_.fail_after_messages.reset();

  EXPECT_THAT(status.message(), HasSubstr("injected failure at message 2"));
  EXPECT_THAT(status.message(), HasSubstr("rolled back: the kernel holds version \"v1\" again"));
  EXPECT_EQ(status.code(), absl::StatusCode::kUnavailable);  // the original error's
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(reconciler_.summary().version, "v1");
  EXPECT_EQ(reconciler_.intent().nat, intent.nat);
  EXPECT_EQ(reconciler_.intent().routes, intent.routes);
  // The push's NAT batch, then the one batch that took it back.
  ASSERT_EQ(nat_.applied.size(), 3u);

  // A delta on the old base applies, and on top of v1, not of the failed v2.
  ASSERT_TRUE(reconciler_.ApplyDelta(Delta("v1", "v3", {"c"}, {{"c", 82}})).ok());
  EXPECT_EQ(nat_.state.dnat.at(Key(80)).port, 8080);
  EXPECT_TRUE(nat_.state.dnat.contains(Key(82)));
  EXPECT_FALSE(nat_.state.dnat.contains(Key(81)));
  EXPECT_EQ(reconciler_.summary().version, "v3");
}

TEST_F(ReconcilerRollbackTest, SysctlFailureAfterRoutesRestoresRoutesNatAndTheSysctlsItSet) {
  ASSERT_TRUE(reconciler_.Apply(Config("v0", {})).ok());
  const KernelSnapshot before = Kernel();
  // ip_forward is set to 1, then the IPv6 forwarding write is refused.
  sysctls_.write_errors[kIpv6ForwardingKey] = absl::PermissionDeniedError("read-only /proc/sys");
  absl::Status status = reconciler_.Apply(WithIpv6Forward(V1()));
  sysctls_.write_errors.clear();

  EXPECT_THAT(status.message(), HasSubstr("setting net/ipv6/conf/all/forwarding=1"));
  EXPECT_THAT(status.message(), HasSubstr("rolled back"));
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(sysctls_.values[kIpv4ForwardingKey], "0\n");
  EXPECT_EQ(reconciler_.summary().version, "v0");
  EXPECT_TRUE(reconciler_.intent().sysctls.empty());

  // With the sysctl writable, the same push applies in full.
  ASSERT_TRUE(reconciler_.Apply(WithIpv6Forward(V1())).ok());
  EXPECT_EQ(sysctls_.values[kIpv4ForwardingKey], "1\n");
  EXPECT_EQ(sysctls_.values[kIpv6ForwardingKey], "1\n");
}

TEST_F(ReconcilerRollbackTest, DeltaRouteFailureRestoresTheKernelAndTheOldBaseStillApplies) {
  ASSERT_TRUE(reconciler_.Apply(V1()).ok());
  const KernelSnapshot before = Kernel();
  routes_.fail_after_messages = 1;  // b's route lands, its rule fails
  absl::Status status =
      reconciler_.ApplyDelta(Delta("v1", "v2", {"b"}, {{"b", 81}}, {{"b", 8081, "10.8.0.9"}}));
  routes_.fail_after_messages.reset();

  EXPECT_THAT(status.message(), HasSubstr("injected failure"));
  EXPECT_THAT(status.message(), HasSubstr("rolled back"));
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(reconciler_.summary().version, "v1");

  // The controller resends the same delta; the index holds no trace of b.
  ASSERT_TRUE(
      reconciler_.ApplyDelta(Delta("v1", "v2", {"b"}, {{"b", 81}}, {{"b", 8081, "10.8.0.9"}}))
          .ok());
  EXPECT_TRUE(nat_.state.dnat.contains(Key(81)));
  EXPECT_EQ(routes_.state.routes.size(), 2u);
  EXPECT_EQ(routes_.state.rules.size(), 2u);
}

TEST_F(ReconcilerRollbackTest, DeltaSysctlFailureRestoresTheKernelAndKeepsTheVersion) {
  ASSERT_TRUE(reconciler_.Apply(V1()).ok());
  const KernelSnapshot before = Kernel();
  ferry::v1::NodeConfigDelta delta = Delta("v1", "v2", {"a", "a6"}, {{"a", 80, "10.8.0.2", 9090}});
  *delta.add_dnat() = testing::Rule({"a6", 80, "2001:db8:1::2", 8080, false, false, "2001:db8::1"});
  delta.set_ipv6_forwarding(true);
  sysctls_.write_errors[kIpv6ForwardingKey] = absl::PermissionDeniedError("read-only /proc/sys");
  absl::Status status = reconciler_.ApplyDelta(delta);
  sysctls_.write_errors.clear();

  EXPECT_THAT(status.message(), HasSubstr("rolled back"));
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(reconciler_.summary().version, "v1");
  ASSERT_TRUE(reconciler_.ApplyDelta(delta).ok());
  EXPECT_EQ(nat_.state.dnat.at(Key(80)).port, 9090);
}

TEST_F(ReconcilerRollbackTest, FailedRollbackIsReportedWithBothErrorsAsPartial) {
  ASSERT_TRUE(reconciler_.Apply(V1()).ok());
  routes_.fail_after_messages = 0;
  nat_.apply_error = absl::InternalError("netlink batch rejected");
  nat_.apply_error_after = nat_.applied.size() + 1;  // the push commits, its undo does not
  absl::Status status = reconciler_.Apply(V2());
  routes_.fail_after_messages.reset();
  nat_.apply_error = absl::OkStatus();

  EXPECT_THAT(status.message(), HasSubstr("injected failure at message 1"));
  EXPECT_THAT(status.message(), HasSubstr("also failed, so the kernel state is partial"));
  // So the agent's next Hello claims no version a controller could adopt.
  EXPECT_TRUE(reconciler_.summary().partial);
  EXPECT_THAT(status.message(), HasSubstr("netlink batch rejected"));
  EXPECT_THAT(status.message(), Not(HasSubstr("rolled back:")));
  EXPECT_EQ(reconciler_.summary().version, "v1");
  // The kernel holds v2's elements, and the intent says so: drift is
  // measured against what is really there.
  EXPECT_TRUE(nat_.state.dnat.contains(Key(81)));
  EXPECT_EQ(reconciler_.intent().nat, nat_.state);
  EXPECT_THAT(reconciler_.ApplyDelta(Delta("v1", "v3", {"c"}, {{"c", 82}})).message(),
              HasSubstr("base version mismatch"));
}

TEST_F(ReconcilerRollbackTest, NatFailureNeedsNoRollback) {
  ASSERT_TRUE(reconciler_.Apply(V1()).ok());
  const KernelSnapshot before = Kernel();
  nat_.apply_error = absl::InternalError("netlink batch rejected");
  absl::Status status = reconciler_.Apply(V2());
  EXPECT_THAT(status.message(), HasSubstr("netlink batch rejected"));
  EXPECT_THAT(status.message(), Not(HasSubstr("rolled back")));
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(routes_.applied.size(), 1u);  // v1's only
}

}  // namespace
}  // namespace ferry::agent
