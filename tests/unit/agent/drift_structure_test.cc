// Spec: the chains, rules and sets of table inet ferry are part of what
// drift checks compare. Found structure differences are named exactly,
// follow the node-wide policy (repaired by rebuilding the whole table in
// one batch with every element, or left as found when every forward is
// Alert), and Ferry's own table compares equal to itself.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <string>

#include "node-agent/kernel/nft_messages.h"
#include "node-agent/kernel/nft_structure.h"
#include "node-agent/reconcile/diff.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"

namespace ferry::agent {
namespace {

using ::testing::Contains;
using ::testing::Each;
using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;
using ::testing::Field;
using ::testing::IsEmpty;
using ::testing::SizeIs;

IpAddress Ip(absl::string_view text) { return *IpAddress::Parse(text); }
DnatKey Key(uint16_t port) { return DnatKey{Ip("203.0.113.1"), kProtoTcp, port}; }

const StructureDrift kFlushedPrerouting{"rule ferry:dnat4 in chain prerouting", "lookup ...", ""};

ferry::v1::NodeConfig Config(bool alert) {
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  for (uint16_t port : {80, 81}) {
    ferry::v1::DnatRule* rule = config.add_dnat();
    rule->set_forward("web");
    rule->set_frontend_address("203.0.113.1");
    rule->set_protocol(ferry::v1::TCP);
    rule->set_port(port);
    rule->set_backend_address("10.8.0.2");
    rule->set_alert_only(alert);
  }
  return config;
}

// --- the comparison of parsed shapes ---

TEST(TableShapeTest, FerrysOwnTableHasNoStructureDrift) {
  const nft::TableShape& own = nft::ExpectedShape();
  EXPECT_THAT(own.chains, SizeIs(3));
  EXPECT_THAT(own.rules, SizeIs(7));
  EXPECT_THAT(own.sets, SizeIs(4));
  EXPECT_THAT(nft::CompareShape(own), IsEmpty());
}

TEST(TableShapeTest, EveryFerryRuleCarriesItsTag) {
  for (nft::NatSet set : nft::kAllSets) {
    EXPECT_THAT(nft::ExpectedShape().rules,
                Contains(Field(&nft::RuleShape::tag, nft::RuleTag(set))));
  }
}

TEST(TableShapeTest, TheProbesOutputChainIsPartOfTheShape) {
  const nft::TableShape& own = nft::ExpectedShape();
  EXPECT_THAT(own.chains, Contains(Field(&nft::ChainShape::name, "output")));
  for (const std::string& tag :
       {nft::ProbeRuleTag(true), nft::ProbeRuleTag(false), std::string(nft::kProbeDropTag)}) {
    EXPECT_THAT(own.rules, Contains(Field(&nft::RuleShape::tag, tag)));
  }
}

TEST(TableShapeTest, DeletedOutputChainIsDrift) {
  nft::TableShape found = nft::ExpectedShape();
  std::erase_if(found.chains, [](const nft::ChainShape& c) { return c.name == "output"; });
  std::erase_if(found.rules, [](const nft::RuleShape& r) { return r.chain == "output"; });
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "chain output");
  EXPECT_EQ(drift[0].expected, "type nat hook output priority -100 policy accept");
  EXPECT_EQ(drift[0].found, "");
}

TEST(TableShapeTest, ProbeRulesAreComparedByExpressions) {
  nft::TableShape found = nft::ExpectedShape();
  auto drop = std::find_if(found.rules.begin(), found.rules.end(),
                           [](const nft::RuleShape& r) { return r.tag == nft::kProbeDropTag; });
  ASSERT_NE(drop, found.rules.end());
  EXPECT_EQ(drop->expressions, "meta bitwise cmp immediate");
  drop->expressions = "meta bitwise cmp";  // the drop removed
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "rule ferry:probe-drop in chain output");
}

TEST(TableShapeTest, FlushedChainReportsEachMissingRule) {
  nft::TableShape found = nft::ExpectedShape();
  std::erase_if(found.rules, [](const nft::RuleShape& r) { return r.chain == "prerouting"; });
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(2));
  EXPECT_EQ(drift[0].object, "rule ferry:dnat4 in chain prerouting");
  EXPECT_EQ(drift[0].found, "");
  EXPECT_THAT(drift[0].expected, ::testing::HasSubstr("lookup @dnat4"));
  EXPECT_EQ(drift[1].object, "rule ferry:dnat6 in chain prerouting");
}

TEST(TableShapeTest, UntaggedRuleIsExtraAndNamedByHandle) {
  nft::TableShape found = nft::ExpectedShape();
  found.rules.push_back(nft::RuleShape{"prerouting", 9, "", "meta cmp"});
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "rule handle 9 in chain prerouting");
  EXPECT_EQ(drift[0].expected, "");
  EXPECT_EQ(drift[0].found, "meta cmp");
}

TEST(TableShapeTest, TaggedRuleWithOtherExpressionsIsChanged) {
  nft::TableShape found = nft::ExpectedShape();
  found.rules[0].expressions = "counter";
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, absl::StrCat("rule ", found.rules[0].tag, " in chain prerouting"));
  EXPECT_THAT(drift[0].found, ::testing::HasSubstr("counter"));
}

TEST(TableShapeTest, ReorderedRulesAreReported) {
  nft::TableShape found = nft::ExpectedShape();
  std::swap(found.rules[0], found.rules[1]);
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "rule order in chain prerouting");
}

TEST(TableShapeTest, MissingAndExtraChainsAreReported) {
  nft::TableShape found = nft::ExpectedShape();
  std::erase_if(found.chains, [](const nft::ChainShape& c) { return c.name == "postrouting"; });
  std::erase_if(found.rules, [](const nft::RuleShape& r) { return r.chain == "postrouting"; });
  found.chains.push_back(nft::ChainShape{"mine", "", std::nullopt, std::nullopt, std::nullopt});
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(2));
  EXPECT_EQ(drift[0].object, "chain postrouting");
  EXPECT_THAT(drift[0].expected, ::testing::HasSubstr("hook postrouting"));
  EXPECT_EQ(drift[0].found, "");
  EXPECT_EQ(drift[1].object, "chain mine");
  EXPECT_EQ(drift[1].expected, "");
}

TEST(TableShapeTest, ChangedChainPriorityIsReported) {
  nft::TableShape found = nft::ExpectedShape();
  found.chains[0].priority = 0;
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, absl::StrCat("chain ", found.chains[0].name));
  EXPECT_THAT(drift[0].found, ::testing::HasSubstr("priority 0"));
}

TEST(TableShapeTest, SetWithOtherFlagsIsChangedAndItsElementsUnreadable) {
  nft::TableShape found = nft::ExpectedShape();
  auto masq4 = std::find_if(found.sets.begin(), found.sets.end(),
                            [](const nft::SetShape& s) { return s.name == "masq4"; });
  ASSERT_NE(masq4, found.sets.end());
  masq4->flags |= NFT_SET_TIMEOUT;
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "set masq4");
  EXPECT_EQ(drift[0].expected, "type ipv4_addr . inet_proto . inet_service (12 bytes)");
  EXPECT_FALSE(nft::SetReadable(found, "masq4"));
  EXPECT_TRUE(nft::SetReadable(found, "dnat4"));
}

TEST(TableShapeTest, MissingMapIsReported) {
  nft::TableShape found = nft::ExpectedShape();
  std::erase_if(found.sets, [](const nft::SetShape& s) { return s.name == "dnat6"; });
  const std::vector<StructureDrift> drift = nft::CompareShape(found);
  ASSERT_THAT(drift, SizeIs(1));
  EXPECT_EQ(drift[0].object, "map dnat6");
  EXPECT_EQ(drift[0].found, "");
}

// --- the plan that repairs it ---

TEST(StructureDiffTest, DriftedStructureRebuildsTheTableWithEveryElement) {
  NatState desired;
  desired.table_present = true;
  desired.dnat[Key(80)] = DnatTarget{Ip("10.8.0.2"), 80, "ipforward/web"};
  NatState current = desired;
  current.structure_drift.push_back(kFlushedPrerouting);
  const NatPlan plan = DiffNat(current, desired);
  EXPECT_TRUE(plan.create_table);
  EXPECT_THAT(plan.dnat_add, SizeIs(1));
  EXPECT_THAT(plan.dnat_delete, IsEmpty());
}

TEST(StructureDiffTest, StructureLeftAsFoundNeedsNoPlan) {
  NatState current;
  current.table_present = true;
  current.structure_drift.push_back(kFlushedPrerouting);
  EXPECT_TRUE(DiffNat(current, current).empty());
}

// --- the reconciler over a fake kernel ---

class StructureDriftTest : public ::testing::Test {
 protected:
  void Start(bool alert) {
    ASSERT_TRUE(reconciler_.Adopt().ok());
    ASSERT_TRUE(reconciler_.Apply(Config(alert)).ok());
    nat_.applied.clear();
    nat_.state.structure_drift.push_back(kFlushedPrerouting);
  }

  FakeNatBackend nat_;
  FakeRouteBackend routes_;
  FakeSysctlBackend sysctls_;
  Reconciler reconciler_{&nat_, &routes_, &sysctls_, Reconciler::Options{}};
  DriftChecker checker_{&reconciler_, &nat_, &routes_, &sysctls_};
};

TEST_F(StructureDriftTest, ReportedAsANodeWideItemNamingTheObject) {
  Start(/*alert=*/false);
  const DriftOutcome outcome = checker_.Check(DriftCheck{});
  ASSERT_THAT(outcome.items, SizeIs(1));
  EXPECT_EQ(outcome.items[0].object, "rule ferry:dnat4 in chain prerouting");
  EXPECT_EQ(outcome.items[0].kind, "nftables");
  EXPECT_EQ(outcome.items[0].forward, "");
  EXPECT_EQ(outcome.items[0].expected, kFlushedPrerouting.expected);
}

TEST_F(StructureDriftTest, EnforceRebuildsTheTableInOneBatchKeepingElements) {
  Start(/*alert=*/false);
  const DriftOutcome outcome = checker_.Check(DriftCheck{});
  EXPECT_THAT(outcome.repaired, Each(true));
  EXPECT_TRUE(outcome.in_sync);
  ASSERT_THAT(nat_.applied, SizeIs(1));
  EXPECT_TRUE(nat_.applied[0].create_table);
  EXPECT_THAT(nat_.state.structure_drift, IsEmpty());
  EXPECT_TRUE(nat_.state.dnat.contains(Key(80)));
  EXPECT_TRUE(nat_.state.dnat.contains(Key(81)));
  EXPECT_THAT(checker_.Check(DriftCheck{}).items, IsEmpty());
}

TEST_F(StructureDriftTest, AlertReportsAndLeavesTheTableAsFound) {
  Start(/*alert=*/true);
  const DriftOutcome outcome = checker_.Check(DriftCheck{});
  ASSERT_THAT(outcome.items, SizeIs(1));
  EXPECT_THAT(outcome.repaired, Each(false));
  EXPECT_FALSE(outcome.in_sync);
  EXPECT_THAT(nat_.applied, IsEmpty());
  EXPECT_THAT(nat_.state.structure_drift, SizeIs(1));
}

TEST_F(StructureDriftTest, AlertConfigPushDoesNotRebuildTheTable) {
  Start(/*alert=*/true);
  checker_.Check(DriftCheck{});
  ferry::v1::NodeConfig config = Config(/*alert=*/true);
  config.set_version("v2");
  ASSERT_TRUE(reconciler_.Apply(config).ok());
  EXPECT_THAT(nat_.applied, IsEmpty());
}

}  // namespace
}  // namespace ferry::agent
