#include "controller/planner/incremental_planner.h"

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Node;
using ::testing::IsEmpty;

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
    EXPECT_EQ(got->message(), r.message()) << context << " forward " << name;
    EXPECT_EQ(got->return_via, r.return_via) << context << " forward " << name;
    EXPECT_EQ(NodesOf(fs.at(name), *got), NodesOf(fs.at(name), r))
        << context << " forward " << name;
    EXPECT_EQ(got->return_interface, r.return_interface) << context << " forward " << name;
    EXPECT_EQ(got->frontends(), r.frontends()) << context << " forward " << name;
    EXPECT_EQ(got->skipped(), r.skipped()) << context << " forward " << name;
    EXPECT_EQ(got->route_query_nodes(), r.route_query_nodes()) << context << " forward " << name;
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

// A forward changed twice, or changed and removed, before one Plan leaves
// nothing of its first spec behind (its holders are what it was planned
// with).
TEST(IncrementalPlannerTest, EqualsPlanFleetWhenSeveralChangesComeBetweenPlans) {
  for (uint32_t seed = 1; seed <= 40; ++seed) {
    RandomFleet r(seed);
    IncrementalPlanner planner;
    std::map<std::string, IPForward> forwards;
    std::vector<Node> nodes = r.RandomNodes();
    planner.SetNodes(nodes);
    int64_t generation = 1;
    for (int step = 0; step < 90; ++step) {
      if (r.Pick(10) < 7) {
        std::string name = absl::StrCat("f", r.Pick(6));
        forwards[name] = r.RandomForward(name, ++generation);
        planner.SetForward(forwards[name]);
      } else if (!forwards.empty()) {
        auto it = std::next(forwards.begin(), r.Pick(static_cast<int>(forwards.size())));
        planner.RemoveForward(it->first);
        forwards.erase(it);
      }
      if (r.Pick(4) != 0) continue;
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

// ------------------------------------------------ selectors and rollouts

Node EdgeNode(const std::string& name, int i, bool edge) {
  Node node = MakeNode(name, {{absl::StrCat("192.0.2.", i), 24}, {absl::StrCat("10.8.0.", i), 24}});
  node.mutable_status()->mutable_addresses(0)->set_interface("eth0");
  if (edge) (*node.mutable_metadata()->mutable_labels())["tier"] = "edge";
  return node;
}

IPForward EdgeForward(int64_t generation, uint32_t port, const std::string& max_unavailable) {
  IPForward f;
  f.mutable_metadata()->set_name("edge");
  f.mutable_metadata()->set_generation(generation);
  auto* spec = f.mutable_spec();
  auto* label = spec->mutable_frontend()->mutable_node_selector()->add_match_labels();
  label->set_key("tier");
  label->set_value("edge");
  spec->mutable_frontend()->set_interface("eth0");
  spec->mutable_backend()->set_node_name("b");
  spec->mutable_backend()->set_address("10.8.0.2");
  auto* p = spec->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  if (!max_unavailable.empty()) spec->mutable_rollout()->set_max_unavailable(max_unavailable);
  return f;
}

TEST(IncrementalPlannerTest, ASelectorForwardFollowsLabelsAsPlanFleetDoes) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false),
                             EdgeNode("c", 3, false)};
  IncrementalPlanner planner;
  std::map<std::string, IPForward> forwards = {{"edge", EdgeForward(1, 80, "")}};
  planner.SetForward(forwards.at("edge"));
  planner.SetNodes(nodes);
  planner.Plan();
  ExpectSamePlan(planner, forwards, nodes, "a selected");
  (*nodes[2].mutable_metadata()->mutable_labels())["tier"] = "edge";
  planner.SetNodes(nodes);
  planner.Plan();
  ExpectSamePlan(planner, forwards, nodes, "c labelled");
  EXPECT_EQ(planner.Config("c")->dnat_size(), 1);
  nodes[0].mutable_metadata()->mutable_labels()->clear();
  planner.SetNodes(nodes);
  planner.Plan();
  ExpectSamePlan(planner, forwards, nodes, "a unlabelled");
  EXPECT_EQ(planner.Config("a")->dnat_size(), 0);
}

NodeAckInfo Acked(int64_t generation) {
  NodeAckInfo info;
  info.acked_generation = generation;
  return info;
}

NodeAckInfo Nacked(int64_t acked, const std::string& error) {
  NodeAckInfo info = Acked(acked);
  info.nacked = true;
  info.error = error;
  return info;
}

// What each node ACKed (and probed), as the push tracker would say, read
// when asked: `acks` may change between steps.
IncrementalPlanner::ProgressFn ProgressFrom(std::map<std::string, NodeAckInfo>& acks) {
  return [&acks](const PlanForward&, const std::vector<InvolvedNode>& asked) {
    std::map<std::string, NodeAckInfo> out;
    for (const InvolvedNode& n : asked) out[n.name] = acks[n.name];
    return out;
  };
}

// The frontend generation each node's plan holds for "edge", by node.
std::map<std::string, int64_t> Generations(const IncrementalPlanner& planner) {
  std::map<std::string, int64_t> out;
  for (const std::string node : {"a", "c", "x"}) {
    std::shared_ptr<const ferry::v1::NodeConfig> config = planner.Config(node);
    if (config != nullptr && config->dnat_size() > 0) out[node] = config->dnat(0).generation();
  }
  return out;
}

TEST(IncrementalPlannerTest, ARolloutReleasesOneNodeAtATimeAndStopsAtANack) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false),
                             EdgeNode("c", 3, true), EdgeNode("x", 9, true)};
  IncrementalPlanner planner;
  planner.SetNodes(nodes);
  planner.SetForward(EdgeForward(1, 80, "1"));
  planner.Plan();  // a new forward goes everywhere at once
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 1}, {"c", 1}, {"x", 1}}));

  // What each node ACKed, and which NACKed, as the push tracker says.
  std::map<std::string, NodeAckInfo> acks = {{"a", Acked(1)}, {"c", Acked(1)}, {"x", Acked(1)}};
  const IncrementalPlanner::ProgressFn progress = ProgressFrom(acks);
  absl::Time now = absl::FromUnixSeconds(1000);
  EXPECT_FALSE(planner.AdvanceRollouts(now, progress).changed);  // nothing rolling

  planner.SetForward(EdgeForward(2, 81, "1"));
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 1}, {"c", 1}, {"x", 1}}));
  IncrementalPlanner::RolloutStep step = planner.AdvanceRollouts(now, progress);
  EXPECT_TRUE(step.changed);
  EXPECT_EQ(step.next_deadline, now + absl::Seconds(30));
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 2}, {"c", 1}, {"x", 1}}));
  EXPECT_EQ(planner.Config("a")->dnat(0).port(), 81u);
  EXPECT_EQ(planner.Config("c")->dnat(0).port(), 80u);
  // The backend holds each frontend's return routes at its generation.
  EXPECT_EQ(planner.Config("b")->return_routes_size(), 3);

  // a has not ACKed yet: nothing more is released.
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(1), progress).changed);
  acks["a"] = Acked(2);
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(2), progress).changed);
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 2}, {"c", 2}, {"x", 1}}));
  ASSERT_NE(planner.Resolution("edge")->rollout(), nullptr);
  EXPECT_EQ(planner.Resolution("edge")->rollout()->released, (std::vector<std::string>{"a", "c"}));

  // c rejects generation 2: the rollout stops there, c is planned back to
  // generation 1 (what its agent kept), and x is never reached.
  acks["c"] = Nacked(1, "config has 2 entries, more than the 1 this agent accepts");
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(3), progress).changed);
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 2}, {"c", 1}, {"x", 1}}));
  const RolloutView& view = *planner.Resolution("edge")->rollout();
  EXPECT_EQ(view.stopped_node, "c");
  EXPECT_EQ(view.stopped_reason,
            "node c rejected generation 2: config has 2 entries, more than the 1 this agent "
            "accepts");
  EXPECT_EQ(view.stable_generation, 1);
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(60), progress).changed);

  // The next change starts again from generation 1, the last every node applied.
  planner.SetForward(EdgeForward(3, 82, "100%"));
  planner.Plan();
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(61), progress).changed);
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 3}, {"c", 3}, {"x", 3}}));
  acks = {{"a", Acked(3)}, {"c", Acked(3)}, {"x", Acked(3)}};
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(62), progress).changed);
  planner.Plan();
  EXPECT_EQ(planner.Resolution("edge")->rollout(), nullptr);  // complete
}

TEST(IncrementalPlannerTest, ARolloutStopsAtANodeThatDoesNotAckInTime) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false),
                             EdgeNode("c", 3, true)};
  IncrementalPlanner planner;
  planner.SetNodes(nodes);
  planner.SetForward(EdgeForward(1, 80, "1"));
  planner.Plan();
  std::map<std::string, NodeAckInfo> acks = {{"a", Acked(1)}, {"c", Acked(1)}};
  const IncrementalPlanner::ProgressFn progress = ProgressFrom(acks);
  IPForward v2 = EdgeForward(2, 81, "1");
  v2.mutable_spec()->mutable_rollout()->set_progress_deadline_seconds(5);
  planner.SetForward(v2);
  planner.Plan();
  const absl::Time now = absl::FromUnixSeconds(1000);
  planner.AdvanceRollouts(now, progress);
  planner.Plan();
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(4), progress).changed);
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(5), progress).changed);
  planner.Plan();
  EXPECT_EQ(planner.Resolution("edge")->rollout()->stopped_reason,
            "node a did not apply generation 2 within 5s");
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 1}, {"c", 1}}));
}

// An ACK of `generation` from an agent that probes, with its verdict on it.
NodeAckInfo Probed(int64_t generation, DataPathVerdict::Status status,
                   const std::string& message = "") {
  NodeAckInfo info = Acked(generation);
  info.probes = true;
  info.data_path = DataPathVerdict{status, generation, "", message, absl::Time()};
  return info;
}

IPForward Confirmed(int64_t generation, uint32_t port) {
  IPForward f = EdgeForward(generation, port, "");
  f.mutable_spec()->set_rollback(ferry::v1::ON_PROBE_FAILURE);
  return f;
}

TEST(IncrementalPlannerTest, AFailedProbeRollsEveryNodeBackToTheLastConfirmedGeneration) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false),
                             EdgeNode("c", 3, true)};
  IncrementalPlanner planner;
  planner.SetNodes(nodes);
  planner.SetForward(Confirmed(1, 80));
  planner.Plan();  // a new forward has nothing to go back to: no rollout
  EXPECT_EQ(planner.Resolution("edge")->rollout(), nullptr);
  std::map<std::string, NodeAckInfo> acks = {{"a", Probed(1, DataPathVerdict::Status::kTrue)},
                                             {"c", Probed(1, DataPathVerdict::Status::kTrue)}};
  const IncrementalPlanner::ProgressFn progress = ProgressFrom(acks);
  const absl::Time now = absl::FromUnixSeconds(1000);

  // A change goes to every node at once (no spec.rollout).
  planner.SetForward(Confirmed(2, 81));
  planner.Plan();
  IncrementalPlanner::RolloutStep step = planner.AdvanceRollouts(now, progress);
  EXPECT_TRUE(step.changed);
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 2}, {"c", 2}}));

  // Both ACK; a's probe passes, c's has not come yet: not done, and the
  // confirm deadline (10 s from the ACK) is the next wake-up.
  acks["a"] = Probed(2, DataPathVerdict::Status::kTrue);
  acks["c"] = Acked(2);
  acks["c"].probes = true;
  step = planner.AdvanceRollouts(now + absl::Seconds(1), progress);
  EXPECT_FALSE(step.changed);
  EXPECT_EQ(step.next_deadline, now + absl::Seconds(11));
  EXPECT_THAT(step.rolled_back, IsEmpty());

  // c's probe fails: every node goes back to generation 1, a included.
  acks["c"] = Probed(2, DataPathVerdict::Status::kFalse, "connection refused by 10.8.0.2:81");
  step = planner.AdvanceRollouts(now + absl::Seconds(2), progress);
  EXPECT_TRUE(step.changed);
  ASSERT_EQ(step.rolled_back.size(), 1u);
  EXPECT_EQ(step.rolled_back[0].first, "edge");
  EXPECT_EQ(step.rolled_back[0].second,
            "generation 2 rolled back to generation 1: node c: connection refused by "
            "10.8.0.2:81");
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 1}, {"c", 1}}));
  EXPECT_EQ(planner.Config("a")->dnat(0).port(), 80u);
  const RolloutView& view = *planner.Resolution("edge")->rollout();
  EXPECT_TRUE(view.rolled_back);
  EXPECT_EQ(view.stable_generation, 1);
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(60), progress).changed);

  // The next change is tried again, and completes once every probe passed.
  planner.SetForward(Confirmed(3, 82));
  planner.Plan();
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(61), progress).changed);
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 3}, {"c", 3}}));
  EXPECT_FALSE(planner.Resolution("edge")->rollout()->rolled_back);
  acks = {{"a", Probed(3, DataPathVerdict::Status::kTrue)},
          {"c", Probed(3, DataPathVerdict::Status::kUnknown, "no reply")}};  // Unknown confirms
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(62), progress).changed);
  planner.Plan();
  EXPECT_EQ(planner.Resolution("edge")->rollout(), nullptr);
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 3}, {"c", 3}}));
}

TEST(IncrementalPlannerTest, AProbeThatDoesNotPassInTimeRollsBack) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false)};
  IncrementalPlanner planner;
  planner.SetNodes(nodes);
  planner.SetForward(Confirmed(1, 80));
  planner.Plan();
  std::map<std::string, NodeAckInfo> acks;
  const IncrementalPlanner::ProgressFn progress = ProgressFrom(acks);
  IPForward v2 = Confirmed(2, 81);
  v2.mutable_spec()->mutable_probe()->set_confirm_seconds(5);
  planner.SetForward(v2);
  planner.Plan();
  const absl::Time now = absl::FromUnixSeconds(1000);
  planner.AdvanceRollouts(now, progress);
  planner.Plan();
  // ACKed at +1 s, with the previous generation's verdict only.
  acks["a"] = Acked(2);
  acks["a"].probes = true;
  acks["a"].data_path = DataPathVerdict{DataPathVerdict::Status::kTrue, 1, "", "", absl::Time()};
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(1), progress).changed);
  EXPECT_FALSE(planner.AdvanceRollouts(now + absl::Seconds(5), progress).changed);
  IncrementalPlanner::RolloutStep step = planner.AdvanceRollouts(now + absl::Seconds(6), progress);
  EXPECT_TRUE(step.changed);
  ASSERT_EQ(step.rolled_back.size(), 1u);
  EXPECT_EQ(step.rolled_back[0].second,
            "generation 2 rolled back to generation 1: node a: the probe of generation 2 did not "
            "pass within 5s");
  planner.Plan();
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 1}}));
}

TEST(IncrementalPlannerTest, AnAgentThatDoesNotProbeConfirmsByItsAck) {
  std::vector<Node> nodes = {EdgeNode("a", 1, true), EdgeNode("b", 2, false)};
  IncrementalPlanner planner;
  planner.SetNodes(nodes);
  planner.SetForward(Confirmed(1, 80));
  planner.Plan();
  std::map<std::string, NodeAckInfo> acks;
  const IncrementalPlanner::ProgressFn progress = ProgressFrom(acks);
  planner.SetForward(Confirmed(2, 81));
  planner.Plan();
  const absl::Time now = absl::FromUnixSeconds(1000);
  planner.AdvanceRollouts(now, progress);
  planner.Plan();
  acks["a"] = Acked(2);  // probes stays false: an older agent
  EXPECT_TRUE(planner.AdvanceRollouts(now + absl::Seconds(1), progress).changed);
  planner.Plan();
  EXPECT_EQ(planner.Resolution("edge")->rollout(), nullptr);
  EXPECT_EQ(Generations(planner), (std::map<std::string, int64_t>{{"a", 2}}));
}

}  // namespace
}  // namespace ferry::controller
