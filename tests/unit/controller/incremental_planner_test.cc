#include "controller/planner/incremental_planner.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Node;

Node MakeNode(const std::string& name, const std::vector<std::pair<std::string, int>>& addrs) {
  Node node;
  node.mutable_metadata()->set_name(name);
  for (const auto& [address, prefix] : addrs) {
    auto* a = node.mutable_status()->add_addresses();
    a->set_address(address);
    a->set_prefix_length(prefix);
  }
  return node;
}

// The incremental plan must be PlanFleet's, byte for byte.
void ExpectSamePlan(const IncrementalPlanner& planner, const std::map<std::string, IPForward>& fs,
                    const std::vector<Node>& nodes, const std::string& context) {
  std::vector<IPForward> forwards;
  for (const auto& [name, f] : fs) forwards.push_back(f);
  FleetPlan want = PlanFleet(forwards, nodes);
  ASSERT_EQ(planner.node_count(), want.node_configs.size()) << context;
  for (const auto& [node, config] : want.node_configs) {
    auto got = planner.Config(node);
    ASSERT_NE(got, nullptr) << context << " node " << node;
    EXPECT_EQ(got->SerializeAsString(), config.SerializeAsString()) << context << " node " << node;
  }
  ASSERT_EQ(planner.forward_count(), want.forwards.size()) << context;
  for (const auto& [name, r] : want.forwards) {
    const ForwardResolution* got = planner.Resolution(name);
    ASSERT_NE(got, nullptr) << context << " forward " << name;
    EXPECT_EQ(got->accepted, r.accepted) << context << " forward " << name;
    EXPECT_EQ(got->reason, r.reason) << context << " forward " << name;
    EXPECT_EQ(got->message, r.message) << context << " forward " << name;
    EXPECT_EQ(got->return_via, r.return_via) << context << " forward " << name;
    EXPECT_EQ(got->nodes, r.nodes) << context << " forward " << name;
  }
}

// Small address and port spaces, so random histories hit conflicts,
// unregistered nodes, missing addresses and missing return paths often.
class RandomFleet {
 public:
  explicit RandomFleet(uint32_t seed) : rng_(seed) {}

  IPForward RandomForward(const std::string& name, int64_t generation) {
    IPForward f;
    f.mutable_metadata()->set_name(name);
    f.mutable_metadata()->set_generation(generation);
    auto* spec = f.mutable_spec();
    spec->mutable_frontend()->set_node_name(absl::StrCat("n", Pick(4)));
    spec->mutable_frontend()->set_address(absl::StrCat("192.0.2.", 1 + Pick(3)));
    spec->mutable_backend()->set_node_name(absl::StrCat("n", Pick(4)));
    spec->mutable_backend()->set_address(absl::StrCat("10.8.0.", 1 + Pick(4)));
    spec->set_source_ip(Pick(2) == 0 ? ferry::v1::PRESERVE : ferry::v1::MASQUERADE);
    auto* p = spec->add_ports();
    p->set_protocol(Pick(2) == 0 ? ferry::v1::TCP : ferry::v1::UDP);
    p->set_port(80 + Pick(6));
    if (Pick(4) == 0) p->set_end_port(p->port() + Pick(3));
    p->set_target_port(8080 + Pick(3));
    return f;
  }

  std::vector<Node> RandomNodes() {
    std::vector<Node> nodes;
    for (int i = 0; i < 4; ++i) {
      if (Pick(5) == 0) continue;  // not registered
      std::vector<std::pair<std::string, int>> addrs;
      for (int a = 1; a <= 3; ++a) {
        if (Pick(2) == 0) addrs.push_back({absl::StrCat("192.0.2.", a), 24});
      }
      for (int a = 1; a <= 4; ++a) {
        if (Pick(3) == 0) addrs.push_back({absl::StrCat("10.8.0.", a), 24});
      }
      nodes.push_back(MakeNode(absl::StrCat("n", i), addrs));
    }
    return nodes;
  }

  int Pick(int n) { return std::uniform_int_distribution<int>(0, n - 1)(rng_); }

 private:
  std::mt19937 rng_;
};

TEST(IncrementalPlannerTest, EqualsPlanFleetAfterEveryStepOfRandomHistories) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    RandomFleet r(seed);
    IncrementalPlanner planner;
    std::map<std::string, IPForward> forwards;
    std::vector<Node> nodes = r.RandomNodes();
    planner.SetNodes(nodes);
    int64_t generation = 1;
    for (int step = 0; step < 60; ++step) {
      int action = r.Pick(10);
      if (action < 5) {
        std::string name = absl::StrCat("f", r.Pick(12));
        forwards[name] = r.RandomForward(name, ++generation);
        planner.SetForward(forwards[name]);
      } else if (action < 7 && !forwards.empty()) {
        auto it = std::next(forwards.begin(), r.Pick(static_cast<int>(forwards.size())));
        planner.RemoveForward(it->first);
        forwards.erase(it);
      } else if (action < 9) {
        nodes = r.RandomNodes();
        planner.SetNodes(nodes);
      } else {
        planner.Invalidate();
      }
      planner.Plan();
      ExpectSamePlan(planner, forwards, nodes, absl::StrCat("seed ", seed, " step ", step));
      if (::testing::Test::HasFailure()) return;
    }
  }
}

TEST(IncrementalPlannerTest, OneChangedForwardIsResolvedAloneAndRebuildsOnlyItsNodes) {
  IncrementalPlanner planner;
  std::vector<Node> nodes;
  for (int i = 0; i < 10; ++i) {
    nodes.push_back(MakeNode(absl::StrCat("n", i), {{absl::StrCat("192.0.2.", i + 1), 24}}));
  }
  planner.SetNodes(nodes);
  for (int i = 0; i < 1000; ++i) {
    IPForward f;
    f.mutable_metadata()->set_name(absl::StrCat("f", i));
    f.mutable_metadata()->set_generation(1);
    f.mutable_spec()->mutable_frontend()->set_node_name(absl::StrCat("n", i % 10));
    f.mutable_spec()->mutable_frontend()->set_address(absl::StrCat("192.0.2.", i % 10 + 1));
    f.mutable_spec()->mutable_backend()->set_address("10.9.0.1");
    f.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
    auto* p = f.mutable_spec()->add_ports();
    p->set_protocol(ferry::v1::TCP);
    p->set_port(1000 + i);
    planner.SetForward(f);
  }
  IncrementalPlanner::Update first = planner.Plan();
  EXPECT_TRUE(first.full);
  EXPECT_EQ(first.forwards.size(), 1000u);
  std::string n3_version = planner.Config("n3")->version();

  IPForward changed;
  changed.mutable_metadata()->set_name("f7");
  changed.mutable_metadata()->set_generation(2);
  changed.mutable_spec()->mutable_frontend()->set_node_name("n7");
  changed.mutable_spec()->mutable_frontend()->set_address("192.0.2.8");
  changed.mutable_spec()->mutable_backend()->set_address("10.9.0.1");
  changed.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  auto* p = changed.mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(1007);
  p->set_target_port(9000);
  planner.SetForward(changed);
  IncrementalPlanner::Update second = planner.Plan();
  EXPECT_FALSE(second.full);
  EXPECT_EQ(second.forwards, std::vector<std::string>{"f7"});
  EXPECT_EQ(second.nodes, std::vector<std::string>{"n7"});
  EXPECT_EQ(planner.Config("n3")->version(), n3_version);

  // Nothing changed: nothing to do.
  planner.SetForward(changed);
  planner.SetNodes(nodes);
  IncrementalPlanner::Update third = planner.Plan();
  EXPECT_TRUE(third.forwards.empty());
  EXPECT_TRUE(third.nodes.empty());
}

TEST(IncrementalPlannerTest, ForEachForwardOfVisitsTheDeclaredNamesInOrderByLookupOrByWalk) {
  IncrementalPlanner planner;
  planner.SetNodes({MakeNode("n0", {{"192.0.2.1", 24}})});
  for (int i = 0; i < 100; ++i) {
    IPForward f;
    f.mutable_metadata()->set_name(absl::StrCat("f", 100 + i));  // f100..f199, in order
    f.mutable_metadata()->set_generation(1);
    f.mutable_spec()->mutable_frontend()->set_node_name("n0");
    f.mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
    f.mutable_spec()->mutable_backend()->set_address("10.9.0.1");
    f.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
    f.mutable_spec()->add_ports()->set_port(1000 + i);
    planner.SetForward(f);
  }
  planner.Plan();
  auto visit = [&](const std::set<std::string>& names) {
    std::vector<std::string> seen;
    planner.ForEachForwardOf(names, [&](const PlanForward& f, const ForwardResolution& r) {
      EXPECT_EQ(&r, planner.Resolution(f.name));
      seen.push_back(f.name);
    });
    return seen;
  };
  // Few names: looked up one by one; an undeclared one is skipped.
  EXPECT_EQ(visit({"f150", "f9", "f101"}), (std::vector<std::string>{"f101", "f150"}));
  // Many: merged with the forwards, undeclared ones before, between and
  // after them skipped.
  std::set<std::string> many = {"a", "f1000", "zz"};
  for (int i = 100; i < 200; i += 2) many.insert(absl::StrCat("f", i));
  std::vector<std::string> want;
  for (int i = 100; i < 200; i += 2) want.push_back(absl::StrCat("f", i));
  EXPECT_EQ(visit(many), want);
  std::vector<std::string> all;
  planner.ForEachForward(
      [&](const PlanForward& f, const ForwardResolution&) { all.push_back(f.name); });
  EXPECT_EQ(all.size(), 100u);
  EXPECT_TRUE(std::is_sorted(all.begin(), all.end()));
}

}  // namespace
}  // namespace ferry::controller
