// Spec: the drift comparison names each difference like nft/ip output,
// attributes it to its forward, and the repair targets restore only what
// the policy allows.

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/drift.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }
DnatKey Key(uint16_t port) { return DnatKey{Ip("192.0.2.1"), kProtoTcp, port}; }
DnatTarget Target(absl::string_view forward, uint16_t port) {
  return DnatTarget{Ip("10.8.0.2"), port, ForwardComment(forward)};
}
PolicyRule Rule(uint16_t sport, uint32_t table) {
  return PolicyRule{Ip("10.8.0.2"), kProtoTcp, sport, sport, table, 10000};
}

// Forward "web" (port 80, returns via 10.8.0.1) and "db" (port 5432).
Intent TwoForwards() {
  Intent intent;
  intent.nat.table_present = true;
  intent.nat.dnat[Key(80)] = Target("web", 8080);
  intent.nat.dnat[Key(5432)] = Target("db", 5432);
  intent.returns.push_back(
      DesiredReturn{"web", Ip("10.8.0.2"), kProtoTcp, 8080, 8080, Ip("10.8.0.1"), ""});
  intent.routes.rules.push_back(Rule(8080, 7100));
  intent.routes.routes.push_back(TableRoute{7100, Ip("10.8.0.1")});
  intent.sysctls["net/ipv4/ip_forward"] = "1";
  return intent;
}

Observed Matching(const Intent& intent) {
  return Observed{intent.nat, intent.routes, intent.sysctls};
}

TEST(FindDriftTest, MatchingKernelHasNoDrift) {
  const Intent intent = TwoForwards();
  EXPECT_THAT(FindDrift(intent, Matching(intent)), IsEmpty());
}

TEST(FindDriftTest, MissingElementIsNamedLikeNftAndAttributedToItsForward) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.nat.dnat.erase(Key(80));
  EXPECT_THAT(FindDrift(intent, observed),
              ElementsAre(Drift{"web", "map dnat4 element 192.0.2.1 . tcp . 80", "nftables",
                                "10.8.0.2 . 8080", "", true}));
}

TEST(FindDriftTest, ChangedElementShowsBothValues) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.nat.dnat[Key(80)].port = 9999;
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].expected, "10.8.0.2 . 8080");
  EXPECT_EQ(drift[0].found, "10.8.0.2 . 9999");
}

TEST(FindDriftTest, ExtraElementOfDeletedForwardIsDriftNamedByItsComment) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.nat.dnat[Key(81)] = Target("gone", 81);
  EXPECT_THAT(FindDrift(intent, observed),
              ElementsAre(Drift{"gone", "map dnat4 element 192.0.2.1 . tcp . 81", "nftables", "",
                                "10.8.0.2 . 81", true}));
}

// "web" and "web-c" share backend port 8080 through two tunnels.
Intent TwoFrontends() {
  Intent intent = TwoForwards();
  intent.returns[0].interface = "wg-a";
  intent.returns.push_back(
      DesiredReturn{"web-c", Ip("10.8.0.2"), kProtoTcp, 8080, 8080, Ip("10.78.0.1"), "wg-c"});
  intent.routes.marks = {{"wg-a", 0x01000000}, {"wg-c", 0x02000000}};
  intent.routes.rules[0].fwmark = 0x01000000;
  intent.routes.rules[0].fwmask = kReturnMarkMask;
  PolicyRule c = Rule(8080, 7101);
  c.fwmark = 0x02000000;
  c.fwmask = kReturnMarkMask;
  intent.routes.rules.push_back(c);
  intent.routes.routes.push_back(TableRoute{7101, Ip("10.78.0.1")});
  return intent;
}

TEST(FindDriftTest, MissingReturnMarkIsAttributedToTheForwardsOfItsInterface) {
  const Intent intent = TwoFrontends();
  Observed observed = Matching(intent);
  EXPECT_THAT(FindDrift(intent, observed), IsEmpty());
  observed.routes.marks.erase("wg-c");
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0], (Drift{"web-c", "table inet ferry_return map marks element \"wg-c\"",
                             "nftables", "0x2000000", "", true}));
  EXPECT_TRUE(IsMarkTableObject(drift[0].object));
  // The repair rebuilds the mark table with the rules, not table inet ferry.
  RoutePlan plan = DiffRoutes(observed.routes, RouteTarget(intent, intent, observed.routes));
  ASSERT_TRUE(plan.marks.has_value());
  EXPECT_EQ(*plan.marks, intent.routes.marks);
  EXPECT_TRUE(plan.rules_add.empty());
}

TEST(FindDriftTest, MarkedRuleIsNamedWithItsMarkAndOwnedByItsFrontendsForward) {
  const Intent intent = TwoFrontends();
  Observed observed = Matching(intent);
  observed.routes.rules.pop_back();
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].forward, "web-c");
  EXPECT_EQ(drift[0].object,
            "rule from 10.8.0.2 ipproto tcp sport 8080 fwmark 0x2000000/0xff000000 lookup 7101");
}

TEST(FindDriftTest, MarkTableStructureDriftIsNodeWide) {
  const Intent intent = TwoFrontends();
  Observed observed = Matching(intent);
  observed.routes.marks_drift.push_back(StructureDrift{"chain mark_out", "type route", ""});
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].forward, "");
  EXPECT_EQ(drift[0].object, "table inet ferry_return chain mark_out");
  EXPECT_TRUE(drift[0].repair);
  EXPECT_TRUE(
      DiffRoutes(observed.routes, RouteTarget(intent, intent, observed.routes)).marks.has_value());
}

TEST(FindDriftTest, MissingTableIsOneNodeWideItemPlusOnePerForward) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.nat = NatState{};
  EXPECT_THAT(FindDrift(intent, observed),
              ElementsAre(Drift{"", "table inet ferry", "nftables", "present", "", true},
                          Field(&Drift::forward, "db"), Field(&Drift::forward, "web")));
}

TEST(FindDriftTest, MissingRuleAndRouteAreNamedLikeIp) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.routes = RouteState{};
  EXPECT_THAT(
      FindDrift(intent, observed),
      ElementsAre(Drift{"web", "rule from 10.8.0.2 ipproto tcp sport 8080 lookup 7100", "rule",
                        "from 10.8.0.2 ipproto tcp sport 8080 lookup 7100 pref 10000", "", true},
                  Drift{"web", "route default via 10.8.0.1 table 7100", "route",
                        "default via 10.8.0.1 table 7100", "", true}));
}

TEST(FindDriftTest, RuleWithOtherTableIsOneChangedItem) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.routes.rules = {Rule(8080, 7101)};
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].found, "from 10.8.0.2 ipproto tcp sport 8080 lookup 7101 pref 10000");
}

TEST(FindDriftTest, ExtraRuleWithOurProtocolIsDrift) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.routes.rules.push_back(Rule(9000, 7100));
  EXPECT_THAT(
      FindDrift(intent, observed),
      ElementsAre(Drift{"", "rule from 10.8.0.2 ipproto tcp sport 9000 lookup 7100", "rule", "",
                        "from 10.8.0.2 ipproto tcp sport 9000 lookup 7100 pref 10000", true}));
}

TEST(FindDriftTest, ResetSysctlIsNodeWideDrift) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.sysctls["net/ipv4/ip_forward"] = "0";
  EXPECT_THAT(FindDrift(intent, observed),
              ElementsAre(Drift{"", "sysctl net/ipv4/ip_forward", "sysctl", "1", "0", true}));
}

TEST(FindDriftTest, AlertForwardsDriftIsNotMarkedForRepair) {
  Intent intent = TwoForwards();
  intent.alert_forwards = {"web"};
  Observed observed = Matching(intent);
  observed.nat.dnat.erase(Key(80));
  observed.routes = RouteState{};
  std::vector<Drift> drift = FindDrift(intent, observed);
  ASSERT_THAT(drift, SizeIs(3));
  for (const Drift& d : drift) EXPECT_FALSE(d.repair) << d.object;
}

TEST(RepairTargetTest, EnforceRestoresCommittedElementsAndDeletesLeftovers) {
  const Intent intent = TwoForwards();
  Observed observed = Matching(intent);
  observed.nat.dnat.erase(Key(80));
  observed.nat.dnat[Key(81)] = Target("gone", 81);
  NatPlan plan = DiffNat(observed.nat, NatTarget(intent, intent, observed.nat));
  ASSERT_THAT(plan.dnat_add, SizeIs(1));
  EXPECT_EQ(plan.dnat_add[0].first, Key(80));
  EXPECT_THAT(plan.dnat_delete, ElementsAre(Key(81)));
}

TEST(RepairTargetTest, AlertLeavesTheKernelAsFound) {
  Intent intent = TwoForwards();
  intent.alert_forwards = {"web", "db"};
  Observed observed = Matching(intent);
  observed.nat.dnat.erase(Key(80));
  observed.routes = RouteState{};
  EXPECT_TRUE(DiffNat(observed.nat, NatTarget(intent, intent, observed.nat)).empty());
  EXPECT_TRUE(DiffRoutes(observed.routes, RouteTarget(intent, intent, observed.routes)).empty());
}

TEST(RepairTargetTest, MissingTableWithMixedPoliciesRestoresOnlyEnforceElements) {
  Intent intent = TwoForwards();
  intent.alert_forwards = {"web"};
  NatState flushed;
  NatPlan plan = DiffNat(flushed, NatTarget(intent, intent, flushed));
  EXPECT_TRUE(plan.create_table);
  ASSERT_THAT(plan.dnat_add, SizeIs(1));
  EXPECT_EQ(plan.dnat_add[0].first, Key(5432));
}

TEST(RepairTargetTest, MissingTableWithOnlyAlertForwardsStaysMissing) {
  Intent intent = TwoForwards();
  intent.alert_forwards = {"web", "db"};
  NatState flushed;
  EXPECT_FALSE(NatTarget(intent, intent, flushed).table_present);
  EXPECT_FALSE(RepairsNodeWide(intent));
}

TEST(RepairTargetTest, ConfigChangeForOneForwardKeepsAnotherForwardsAlertDrift) {
  Intent previous = TwoForwards();
  previous.alert_forwards = {"web"};
  NatState kernel = previous.nat;
  kernel.dnat.erase(Key(80));  // web's drift, left in place
  Intent next = previous;
  next.nat.dnat[Key(5433)] = Target("db", 5433);
  NatPlan plan = DiffNat(kernel, NatTarget(next, previous, kernel));
  ASSERT_THAT(plan.dnat_add, SizeIs(1));
  EXPECT_EQ(plan.dnat_add[0].first, Key(5433));
  EXPECT_THAT(plan.dnat_delete, IsEmpty());
}

TEST(CapDriftTest, FoldsTheRestIntoOneSummaryItem) {
  std::vector<Drift> drift(10, Drift{"web", "x", "nftables", "", "", true});
  std::vector<Drift> capped = CapDrift(drift, 4);
  ASSERT_THAT(capped, SizeIs(4));
  EXPECT_EQ(capped.back().object, "and 7 more objects (7 repaired)");
}

}  // namespace
}  // namespace ferry::agent
