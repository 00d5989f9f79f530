// Spec: what a push would change in the kernel reads as +/- lines in nft's
// and ip's notations, in a fixed order, old before new.

#include "node-agent/kernel/plan_lines.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;
using testing::Ip;
using ::testing::IsEmpty;

DnatKey Dnat(absl::string_view address, uint16_t port) {
  return DnatKey{Ip(address), kProtoTcp, port};
}

DnatTarget To(absl::string_view address, uint16_t port, absl::string_view forward = "web") {
  return DnatTarget{Ip(address), port, absl::StrCat("ipforward/", forward)};
}

NatState Table() {
  NatState nat;
  nat.table_present = true;
  return nat;
}

TEST(PlanLinesTest, NothingToChangeIsNoLines) {
  KernelChanges changes;
  changes.nat_before = Table();
  changes.nat_before.dnat[Dnat("192.0.2.1", 80)] = To("10.8.0.2", 8080);
  changes.nat_after = changes.nat_before;
  EXPECT_TRUE(changes.empty());
  EXPECT_THAT(PlanLines(changes), IsEmpty());
}

TEST(PlanLinesTest, ANewTableComesFirstThenItsElementsBySetThenKey) {
  KernelChanges changes;
  changes.nat_after = Table();
  changes.nat_after.dnat[Dnat("192.0.2.1", 443)] = To("10.8.0.2", 8443);
  changes.nat_after.dnat[Dnat("2001:db8::1", 80)] = To("2001:db8:8::2", 8080, "web6");
  changes.nat_after.dnat[Dnat("192.0.2.1", 80)] = To("10.8.0.2", 8080);
  changes.nat_after.masq[MasqKey{Ip("10.8.0.2"), kProtoUdp, 53}] = "ipforward/dns";
  EXPECT_THAT(
      PlanLines(changes),
      ElementsAre("+ table inet ferry",
                  "+ map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                  "\"ipforward/web\"",
                  "+ map dnat4 element 192.0.2.1 . tcp . 443 : 10.8.0.2 . 8443 comment "
                  "\"ipforward/web\"",
                  "+ map dnat6 element 2001:db8::1 . tcp . 80 : 2001:db8:8::2 . 8080 comment "
                  "\"ipforward/web6\"",
                  "+ set masq4 element 10.8.0.2 . udp . 53 comment \"ipforward/dns\""));
}

TEST(PlanLinesTest, AChangedElementIsItsOldLineThenItsNewOne) {
  KernelChanges changes;
  changes.nat_before = Table();
  changes.nat_before.dnat[Dnat("192.0.2.1", 80)] = To("10.8.0.2", 8080);
  changes.nat_before.dnat[Dnat("192.0.2.1", 81)] = To("10.8.0.2", 8081, "old");
  changes.nat_after = Table();
  changes.nat_after.dnat[Dnat("192.0.2.1", 80)] = To("10.8.0.2", 9090);
  EXPECT_THAT(PlanLines(changes),
              ElementsAre("- map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/web\"",
                          "+ map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 9090 comment "
                          "\"ipforward/web\"",
                          "- map dnat4 element 192.0.2.1 . tcp . 81 : 10.8.0.2 . 8081 comment "
                          "\"ipforward/old\""));
}

TEST(PlanLinesTest, ATableNotAsFerryMakesItIsRebuiltAndSaysWhy) {
  KernelChanges changes;
  changes.nat_before = Table();
  changes.nat_before.structure_drift.push_back(
      StructureDrift{"chain prerouting", "type nat hook prerouting priority -100", ""});
  changes.nat_after = Table();
  changes.nat_after.dnat[Dnat("192.0.2.1", 80)] = To("10.8.0.2", 8080);
  EXPECT_THAT(PlanLines(changes),
              ElementsAre("+ table inet ferry rebuilt whole, in one batch (not as Ferry makes it: "
                          "chain prerouting)",
                          "+ map dnat4 element 192.0.2.1 . tcp . 80 : 10.8.0.2 . 8080 comment "
                          "\"ipforward/web\""));
}

TEST(PlanLinesTest, ReturnPathsAreMarksThenRulesThenRoutesByTable) {
  KernelChanges changes;
  const PolicyRule old_rule{Ip("10.8.0.2"), kProtoTcp, 8080, 8080, 7100, 10000, 0, 0};
  changes.routes_before.rules = {old_rule};
  changes.routes_before.routes = {TableRoute{7100, Ip("10.8.0.1")}};
  PolicyRule rule_a = old_rule;
  rule_a.fwmark = 0x01000000;
  rule_a.fwmask = kReturnMarkMask;
  PolicyRule rule_c = rule_a;
  rule_c.fwmark = 0x02000000;
  rule_c.table = 7101;
  changes.routes_after.rules = {rule_a, rule_c};
  changes.routes_after.routes = {TableRoute{7100, Ip("10.8.0.9")},
                                 TableRoute{7101, Ip("10.78.0.1")}};
  changes.routes_after.marks = {{"wg-a", 0x01000000}, {"wg-c", 0x02000000}};
  EXPECT_THAT(PlanLines(changes),
              ElementsAre("+ table inet ferry_return",
                          "+ table inet ferry_return map marks element \"wg-a\" : 0x01000000",
                          "+ table inet ferry_return map marks element \"wg-c\" : 0x02000000",
                          "- rule from 10.8.0.2 ipproto tcp sport 8080 lookup 7100 priority 10000",
                          "+ rule from 10.8.0.2 ipproto tcp sport 8080 fwmark 0x1000000/0xff000000 "
                          "lookup 7100 priority 10000",
                          "+ rule from 10.8.0.2 ipproto tcp sport 8080 fwmark 0x2000000/0xff000000 "
                          "lookup 7101 priority 10000",
                          "- route default via 10.8.0.1 table 7100",
                          "+ route default via 10.8.0.9 table 7100",
                          "+ route default via 10.78.0.1 table 7101"));
}

TEST(PlanLinesTest, TheLastMarkGoneRemovesTheMarkTable) {
  KernelChanges changes;
  changes.routes_before.marks = {{"wg-a", 0x01000000}};
  EXPECT_THAT(PlanLines(changes),
              ElementsAre("- table inet ferry_return map marks element \"wg-a\" : 0x01000000",
                          "- table inet ferry_return"));
}

TEST(PlanLinesTest, ASysctlWriteShowsTheValueItReplaces) {
  KernelChanges changes;
  changes.sysctls = {{"net/ipv4/ip_forward", "0", "1"}, {"net/ipv6/conf/all/forwarding", "", "0"}};
  EXPECT_THAT(PlanLines(changes),
              ElementsAre("- sysctl net/ipv4/ip_forward = 0", "+ sysctl net/ipv4/ip_forward = 1",
                          "+ sysctl net/ipv6/conf/all/forwarding = 0"));
}

TEST(PlanLinesTest, LinesBeyondTheLimitAreCountedInALastLine) {
  KernelChanges changes;
  changes.nat_before = Table();
  changes.nat_after = Table();
  for (uint16_t port = 1; port <= 5; ++port) {
    changes.nat_after.dnat[Dnat("192.0.2.1", port)] = To("10.8.0.2", port);
  }
  const std::vector<std::string> lines = PlanLines(changes, /*max_lines=*/2);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(lines[2], "... 3 more lines not shown");
}

}  // namespace
}  // namespace ferry::agent
