// Spec: plans hold exactly the difference between two kernel states.

#include "node-agent/reconcile/diff.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using ::testing::IsEmpty;
using ::testing::Pair;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }

DnatKey Key(uint16_t port) { return DnatKey{Ip("203.0.113.1"), kProtoTcp, port}; }
DnatTarget Target(uint16_t port) { return DnatTarget{Ip("10.8.0.2"), port, "ipforward/web"}; }

NatState Nat(std::map<DnatKey, DnatTarget> dnat) {
  NatState state;
  state.table_present = true;
  state.dnat = std::move(dnat);
  return state;
}

TEST(DiffNatTest, MissingTableIsCreatedWithAllElements) {
  NatPlan plan = DiffNat(NatState(), Nat({{Key(80), Target(80)}}));
  EXPECT_TRUE(plan.create_table);
  EXPECT_THAT(plan.dnat_add, ElementsAre(Pair(Key(80), Target(80))));
}

TEST(DiffNatTest, EqualStatesGiveEmptyPlan) {
  NatState state = Nat({{Key(80), Target(80)}});
  state.masq[MasqKey{Ip("10.8.0.2"), kProtoTcp, 80}] = "ipforward/web";
  EXPECT_TRUE(DiffNat(state, state).empty());
}

TEST(DiffNatTest, AddsNewAndDeletesRemovedOnly) {
  NatPlan plan = DiffNat(Nat({{Key(80), Target(80)}, {Key(81), Target(81)}}),
                         Nat({{Key(80), Target(80)}, {Key(82), Target(82)}}));
  EXPECT_FALSE(plan.create_table);
  EXPECT_THAT(plan.dnat_add, ElementsAre(Pair(Key(82), Target(82))));
  EXPECT_THAT(plan.dnat_delete, ElementsAre(Key(81)));
}

TEST(DiffNatTest, ChangedTargetIsAnAddNotADelete) {
  NatPlan plan = DiffNat(Nat({{Key(80), Target(80)}}), Nat({{Key(80), Target(8080)}}));
  EXPECT_THAT(plan.dnat_add, ElementsAre(Pair(Key(80), Target(8080))));
  EXPECT_THAT(plan.dnat_delete, IsEmpty());
}

TEST(DiffNatTest, MasqueradeKeysAreDiffedToo) {
  MasqKey old_key{Ip("10.8.0.2"), kProtoTcp, 80};
  MasqKey new_key{Ip("10.8.0.2"), kProtoTcp, 443};
  NatState current = Nat({});
  current.masq[old_key] = "ipforward/a";
  NatState desired = Nat({});
  desired.masq[new_key] = "ipforward/b";
  NatPlan plan = DiffNat(current, desired);
  EXPECT_THAT(plan.masq_add, ElementsAre(Pair(new_key, "ipforward/b")));
  EXPECT_THAT(plan.masq_delete, ElementsAre(old_key));
}

PolicyRule Rule(uint16_t port, uint32_t table) {
  return PolicyRule{Ip("10.8.0.2"), kProtoTcp, port, port, table, 10000};
}

TEST(DiffRoutesTest, EqualStatesGiveEmptyPlan) {
  RouteState state{{Rule(80, 7100)}, {{7100, Ip("10.8.0.1")}}, {}, {}};
  EXPECT_TRUE(DiffRoutes(state, state).empty());
}

TEST(DiffRoutesTest, AddsAndDeletesRulesAndRoutes) {
  RouteState current{{Rule(80, 7100)}, {{7100, Ip("10.8.0.1")}}, {}, {}};
  RouteState desired{{Rule(22, 7101)}, {{7101, Ip("10.9.0.1")}}, {}, {}};
  RoutePlan plan = DiffRoutes(current, desired);
  EXPECT_THAT(plan.rules_add, ElementsAre(Rule(22, 7101)));
  EXPECT_THAT(plan.rules_delete, ElementsAre(Rule(80, 7100)));
  EXPECT_THAT(plan.routes_add, ElementsAre(TableRoute{7101, Ip("10.9.0.1")}));
  EXPECT_THAT(plan.routes_delete, ElementsAre(TableRoute{7100, Ip("10.8.0.1")}));
}

TEST(DiffRoutesTest, TableWithNewViaIsReplacedNotDeleted) {
  RouteState current{{Rule(80, 7100)}, {{7100, Ip("10.8.0.1")}}, {}, {}};
  RouteState desired{{Rule(80, 7100)}, {{7100, Ip("10.9.0.1")}}, {}, {}};
  RoutePlan plan = DiffRoutes(current, desired);
  EXPECT_THAT(plan.routes_add, ElementsAre(TableRoute{7100, Ip("10.9.0.1")}));
  EXPECT_THAT(plan.routes_delete, IsEmpty());
  EXPECT_THAT(plan.rules_add, IsEmpty());
}

// UndoNat: whatever a committed plan did, its undo brings the elements back.
TEST(UndoNatTest, AddsReplacesAndDeletesAreTakenBack) {
  NatState before = Nat({{Key(80), Target(80)}, {Key(81), Target(81)}});
  before.masq[MasqKey{Ip("10.8.0.2"), kProtoTcp, 80}] = "ipforward/web";
  NatState after = Nat({{Key(80), Target(8080)}, {Key(82), Target(82)}});
  after.masq[MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}] = "ipforward/web";
  const NatPlan applied = DiffNat(before, after);
  ASSERT_EQ(NatStateAfter(before, applied), after);

  const NatPlan undo = UndoNat(before, applied);
  EXPECT_FALSE(undo.create_table);
  EXPECT_EQ(NatStateAfter(after, undo), before);
  // Only what the push touched is in the undo.
  EXPECT_EQ(undo.dnat_add.size() + undo.dnat_delete.size(), 3u);
}

TEST(UndoNatTest, RebuiltTableGetsEveryElementBack) {
  NatState before = Nat({{Key(80), Target(80)}, {Key(81), Target(81)}});
  before.structure_drift.push_back({"chain mine", "", "type filter hook input"});
  const NatState after = Nat({{Key(80), Target(80)}});
  const NatPlan applied = DiffNat(before, after);
  ASSERT_TRUE(applied.create_table);

  const NatPlan undo = UndoNat(before, applied);
  EXPECT_TRUE(undo.create_table);
  // The elements come back; the foreign chain does not.
  EXPECT_EQ(NatStateAfter(after, undo), Nat(before.dnat));
}

TEST(UndoNatTest, TableCreatedFromNothingIsLeftEmpty) {
  const NatState after = Nat({{Key(80), Target(80)}});
  const NatPlan applied = DiffNat(NatState(), after);
  const NatPlan undo = UndoNat(NatState(), applied);
  EXPECT_FALSE(undo.create_table);
  EXPECT_THAT(undo.dnat_delete, ElementsAre(Key(80)));
  EXPECT_EQ(NatStateAfter(after, undo), Nat({}));
}

TEST(UndoNatTest, EmptyPlanHasEmptyUndo) {
  const NatState state = Nat({{Key(80), Target(80)}});
  EXPECT_TRUE(UndoNat(state, NatPlan()).empty());
}

}  // namespace
}  // namespace ferry::agent
