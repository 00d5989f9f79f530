// Spec: Reconciler::Preview says what Apply of a config would change in the
// kernel as it is, and changes nothing: not the kernel, not what the next
// push diffs from.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node-agent/kernel/plan_lines.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"
#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using testing::Config;
using ::testing::ElementsAre;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::HasSubstr;
using testing::Ip;
using ::testing::IsEmpty;
using testing::Key;
using ::testing::Not;

class ReconcilerPreviewTest : public ::testing::Test {
 protected:
  ReconcilerPreviewTest() {
    sysctls_.values[kIpv4ForwardingKey] = "0\n";
    sysctls_.values[kIpv6ForwardingKey] = "0\n";
  }

  std::vector<std::string> Lines(const ferry::v1::NodeConfig& config) {
    absl::StatusOr<KernelChanges> changes = reconciler_.Preview(config);
    EXPECT_TRUE(changes.ok()) << changes.status();
    return changes.ok() ? PlanLines(*changes) : std::vector<std::string>{"error"};
  }

  // The kernel and the sysctls as the fakes hold them, and whether
  // anything was written to them.
  void ExpectNothingWritten() {
    EXPECT_THAT(nat_.applied, IsEmpty());
    EXPECT_THAT(routes_.applied, IsEmpty());
    EXPECT_THAT(sysctls_.writes, IsEmpty());
  }

  FakeNatBackend nat_;
  FakeRouteBackend routes_;
  FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
};

TEST_F(ReconcilerPreviewTest, PreviewBeforeAdoptFails) {
  EXPECT_EQ(reconciler_.Preview(ferry::v1::NodeConfig()).status().code(),
            absl::StatusCode::kFailedPrecondition);
}

TEST_F(ReconcilerPreviewTest, AFirstConfigShowsEverythingApplyWouldThenDoAndChangesNothing) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  const ferry::v1::NodeConfig config = Config("v1", {{"web", 80}}, {{"web", 8080}});
  EXPECT_THAT(Lines(config),
              ElementsAre("+ table inet ferry",
                          "+ map dnat4 element 203.0.113.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/web\"",
                          "+ rule from 10.8.0.2 ipproto tcp sport 8080 lookup 7100 priority 10000",
                          "+ route default via 10.8.0.1 table 7100",
                          "- sysctl net/ipv4/ip_forward = 0", "+ sysctl net/ipv4/ip_forward = 1"));
  ExpectNothingWritten();
  EXPECT_FALSE(nat_.state.table_present);
  EXPECT_EQ(reconciler_.summary().version, "");
  EXPECT_FALSE(reconciler_.intent().nat.table_present);

  // Apply then does what the preview said, and a preview of the same
  // config has nothing left to change.
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  ASSERT_EQ(nat_.applied.size(), 1u);
  EXPECT_TRUE(nat_.applied[0].create_table);
  ASSERT_EQ(nat_.applied[0].dnat_add.size(), 1u);
  EXPECT_EQ(nat_.applied[0].dnat_add[0].first, Key(80));
  ASSERT_EQ(routes_.applied.size(), 1u);
  EXPECT_EQ(routes_.applied[0].rules_add.size(), 1u);
  EXPECT_EQ(routes_.applied[0].routes_add.size(), 1u);
  EXPECT_THAT(sysctls_.writes, ElementsAre(::testing::Pair(kIpv4ForwardingKey, "1")));
  EXPECT_THAT(Lines(config), IsEmpty());
}

TEST_F(ReconcilerPreviewTest, AChangeShowsOnlyTheDifferenceAndTheNextPushStillMakesIt) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ASSERT_TRUE(reconciler_.Apply(Config("v1", {{"web", 80}, {"api", 81}})).ok());
  nat_.applied.clear();
  sysctls_.writes.clear();
  const NatState committed = reconciler_.intent().nat;

  ferry::v1::NodeConfig next = Config("v2", {{"web", 80, "10.8.0.2", 9090}, {"new", 82}});
  EXPECT_THAT(Lines(next),
              ElementsAre("- map dnat4 element 203.0.113.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/web\"",
                          "+ map dnat4 element 203.0.113.1 . tcp . 80 : 10.8.0.2 . 9090 comment "
                          "\"ipforward/web\"",
                          "- map dnat4 element 203.0.113.1 . tcp . 81 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/api\"",
                          "+ map dnat4 element 203.0.113.1 . tcp . 82 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/new\""));
  ExpectNothingWritten();
  EXPECT_EQ(reconciler_.intent().nat, committed);
  EXPECT_EQ(reconciler_.summary().version, "v1");

  ASSERT_TRUE(reconciler_.Apply(next).ok());
  ASSERT_EQ(nat_.applied.size(), 1u);
  EXPECT_THAT(nat_.applied[0].dnat_delete, ElementsAre(Key(81)));
  EXPECT_EQ(nat_.applied[0].dnat_add.size(), 2u);
}

TEST_F(ReconcilerPreviewTest, DriftIsReadFromTheKernelEnforceRepairedAlertKept) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  const ferry::v1::NodeConfig config =
      Config("v1", {{"web", 80}, {.forward = "watch", .port = 81, .alert = true}});
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  nat_.applied.clear();
  sysctls_.writes.clear();
  // Someone deletes both elements behind the agent's back.
  nat_.state.dnat.clear();

  EXPECT_THAT(Lines(config),
              ElementsAre("+ map dnat4 element 203.0.113.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/web\""));
  ExpectNothingWritten();
  EXPECT_TRUE(nat_.state.dnat.empty());
}

TEST_F(ReconcilerPreviewTest, IPv6ForwardsAreLeftOutWhereIPv6DoesNotWorkAsApplyLeavesThemOut) {
  sysctls_.values["net/ipv6/conf/all/disable_ipv6"] = "1\n";
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config = Config(
      "v1",
      {{"web", 80},
       {.forward = "web6", .port = 80, .backend = "2001:db8:8::2", .frontend = "2001:db8::1"}});
  config.set_ipv6_forwarding(true);
  const std::vector<std::string> lines = Lines(config);
  EXPECT_THAT(lines, Not(::testing::Contains(HasSubstr("dnat6"))));
  EXPECT_THAT(lines, Not(::testing::Contains(HasSubstr("ipv6"))));
  EXPECT_THAT(lines, ::testing::Contains(HasSubstr("map dnat4 element 203.0.113.1")));
}

TEST_F(ReconcilerPreviewTest, AConfigApplyWouldRefuseIsItsError) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  ferry::v1::NodeConfig config = Config("v1", {{"web", 80}});
  config.mutable_dnat(0)->set_backend_address("not-an-address");
  absl::StatusOr<KernelChanges> changes = reconciler_.Preview(config);
  EXPECT_EQ(changes.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(changes.status().message(), HasSubstr("forward \"web\""));
  ExpectNothingWritten();
}

TEST_F(ReconcilerPreviewTest, AKernelThatCannotBeReadIsTheError) {
  ASSERT_TRUE(reconciler_.Adopt().ok());
  nat_.load_error = absl::PermissionDeniedError("operation not permitted");
  absl::StatusOr<KernelChanges> changes = reconciler_.Preview(Config("v1", {{"web", 80}}));
  EXPECT_THAT(changes.status().message(), HasSubstr("reading nftables table inet ferry"));
}

}  // namespace
}  // namespace ferry::agent
