#include "controller/planner/conflicts.h"

#include <map>
#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ferry::v1::IPForward Forward(const std::string& name, const std::string& fe_addr, uint32_t port,
                             uint32_t end_port = 0, ferry::v1::Protocol protocol = ferry::v1::TCP) {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name(name);
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address(fe_addr);
  f.mutable_spec()->mutable_backend()->set_node_name("node-b");
  f.mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  auto* p = f.mutable_spec()->add_ports();
  p->set_protocol(protocol);
  p->set_port(port);
  p->set_end_port(end_port);
  return f;
}

TEST(ConflictsTest, SamePortOnSameFrontendAddressIsAlreadyExistsNamingBoth) {
  absl::Status s =
      CheckConflicts(Forward("new", "192.0.2.1", 80), {Forward("web", "192.0.2.1", 80)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("spec.ports[0]"), HasSubstr("TCP 192.0.2.1:80"), HasSubstr("node-a"),
                    HasSubstr("ipforward/web"), HasSubstr("ipforward/new")));
}

TEST(ConflictsTest, OverlappingRangesConflict) {
  absl::Status s =
      CheckConflicts(Forward("new", "192.0.2.1", 85, 95), {Forward("web", "192.0.2.1", 80, 90)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
}

TEST(ConflictsTest, AdjacentRangesDoNotConflict) {
  EXPECT_TRUE(
      CheckConflicts(Forward("new", "192.0.2.1", 91, 95), {Forward("web", "192.0.2.1", 80, 90)})
          .ok());
}

TEST(ConflictsTest, DifferentProtocolDoesNotConflict) {
  EXPECT_TRUE(CheckConflicts(Forward("new", "192.0.2.1", 80, 0, ferry::v1::UDP),
                             {Forward("web", "192.0.2.1", 80)})
                  .ok());
}

TEST(ConflictsTest, DifferentFrontendAddressDoesNotConflict) {
  EXPECT_TRUE(
      CheckConflicts(Forward("new", "192.0.2.2", 80), {Forward("web", "192.0.2.1", 80)}).ok());
}

TEST(ConflictsTest, DifferentFrontendNodeDoesNotConflict) {
  ferry::v1::IPForward other = Forward("web", "192.0.2.1", 80);
  other.mutable_spec()->mutable_frontend()->set_node_name("node-c");
  EXPECT_TRUE(CheckConflicts(Forward("new", "192.0.2.1", 80), {other}).ok());
}

TEST(ConflictsTest, IPv6AddressesCompareAsValues) {
  absl::Status s =
      CheckConflicts(Forward("new", "2001:db8:0::1", 80), {Forward("web", "2001:DB8::1", 80)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
}

TEST(ConflictsTest, ForwardDoesNotConflictWithItself) {
  EXPECT_TRUE(
      CheckConflicts(Forward("web", "192.0.2.1", 80), {Forward("web", "192.0.2.1", 80)}).ok());
}

TEST(ConflictsTest, SameBackendTupleThroughOneNodeWithDifferentSourceIPModesConflicts) {
  // Different frontend addresses, so only the backend tuple is shared.
  ferry::v1::IPForward masq = Forward("new", "192.0.2.2", 8080);
  masq.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  absl::Status s = CheckConflicts(masq, {Forward("web", "192.0.2.1", 8080)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("spec.sourceIP"), HasSubstr("ipforward/web"),
                                 HasSubstr("ipforward/new"), HasSubstr("10.8.0.2:8080")));
}

TEST(ConflictsTest, UnspecifiedSourceIPCountsAsPreserve) {
  ferry::v1::IPForward preserve = Forward("new", "192.0.2.2", 8080);
  preserve.mutable_spec()->set_source_ip(ferry::v1::PRESERVE);
  EXPECT_TRUE(CheckConflicts(preserve, {Forward("web", "192.0.2.1", 8080)}).ok());
}

TEST(ConflictsTest, SameBackendAddressOnOtherTargetPortsDoesNotConflict) {
  ferry::v1::IPForward masq = Forward("new", "192.0.2.2", 9090);
  masq.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  EXPECT_TRUE(CheckConflicts(masq, {Forward("web", "192.0.2.1", 8080)}).ok());
}

TEST(ConflictIndexTest, ReplacedForwardNoLongerClaimsItsOldPorts) {
  ConflictIndex index;
  index.Put(Forward("web", "192.0.2.1", 80));
  index.Put(Forward("web", "192.0.2.1", 81));
  EXPECT_TRUE(index.Check(Forward("new", "192.0.2.1", 80)).ok());
  EXPECT_EQ(index.Check(Forward("new", "192.0.2.1", 81)).code(), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(index.size(), 1u);
}

TEST(ConflictIndexTest, RemovedForwardClaimsNothing) {
  ConflictIndex index;
  index.Put(Forward("web", "192.0.2.1", 80, 90));
  EXPECT_TRUE(index.Remove("web"));
  EXPECT_FALSE(index.Remove("web"));
  EXPECT_TRUE(index.Check(Forward("new", "192.0.2.1", 85)).ok());
  EXPECT_FALSE(index.Contains("web"));
  EXPECT_FALSE(index.Find("web").has_value());
}

TEST(ConflictIndexTest, ErrorNamesTheFirstConflictingForwardByNameWhateverTheOrderAdded) {
  ConflictIndex index;
  index.Put(Forward("zeta", "192.0.2.1", 80));
  index.Put(Forward("alpha", "192.0.2.1", 80));
  absl::Status s = index.Check(Forward("new", "192.0.2.1", 80));
  EXPECT_THAT(s.message(), HasSubstr("already claimed by ipforward/alpha"));
}

// A random forward among few nodes, addresses and ports, so that claims
// overlap often; port ranges and both sourceIP modes included.
ferry::v1::IPForward RandomForward(std::mt19937* rng, const std::string& name) {
  auto pick = [rng](int n) { return std::uniform_int_distribution<int>(0, n - 1)(*rng); };
  ferry::v1::IPForward f = Forward(name, absl::StrCat("192.0.2.", 1 + pick(2)), 80 + pick(12), 0,
                                   pick(4) == 0 ? ferry::v1::UDP : ferry::v1::TCP);
  f.mutable_spec()->mutable_frontend()->set_node_name(pick(3) == 0 ? "node-c" : "node-a");
  auto* first = f.mutable_spec()->mutable_ports(0);
  if (pick(3) == 0) first->set_end_port(first->port() + pick(6));
  if (pick(2) == 0) first->set_target_port(8000 + pick(8));
  if (pick(3) == 0) {
    auto* second = f.mutable_spec()->add_ports();
    second->set_protocol(ferry::v1::TCP);
    second->set_port(200 + pick(8));
  }
  if (pick(2) == 0) f.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  return f;
}

// The index after any sequence of puts, replacements and removals answers
// exactly what the list-everything check answers over the same forwards.
TEST(ConflictIndexTest, RandomPutsReplacementsAndRemovalsMatchTheFullCheck) {
  std::mt19937 rng(20261204);
  ConflictIndex index;
  std::map<std::string, ferry::v1::IPForward> held;  // the oracle's copy, name order
  int conflicts = 0;
  for (int step = 0; step < 3000; ++step) {
    const std::string name = absl::StrCat("f", std::uniform_int_distribution<int>(0, 39)(rng));
    const int action = std::uniform_int_distribution<int>(0, 9)(rng);
    if (action < 5) {
      ferry::v1::IPForward f = RandomForward(&rng, name);
      index.Put(f);
      held[name] = f;
    } else if (action < 7) {
      EXPECT_EQ(index.Remove(name), held.erase(name) == 1);
    }
    ferry::v1::IPForward candidate =
        RandomForward(&rng, absl::StrCat("f", std::uniform_int_distribution<int>(0, 49)(rng)));
    std::vector<ferry::v1::IPForward> all;
    for (const auto& [n, f] : held) all.push_back(f);
    absl::Status want = CheckConflicts(candidate, all);
    absl::Status got = index.Check(candidate);
    ASSERT_EQ(got, want) << "step " << step;
    conflicts += want.ok() ? 0 : 1;
    ASSERT_EQ(index.size(), held.size());
  }
  // The sequence exercised both answers.
  EXPECT_GT(conflicts, 300);
  EXPECT_LT(conflicts, 2700);
}

}  // namespace
}  // namespace ferry::controller
