#include "controller/planner/planner.h"

#include <string>
#include <vector>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

ferry::v1::Node MakeNode(const std::string& name,
                         std::vector<std::pair<std::string, uint32_t>> addresses) {
  ferry::v1::Node node;
  node.mutable_metadata()->set_name(name);
  for (const auto& [address, prefix] : addresses) {
    auto* a = node.mutable_status()->add_addresses();
    a->set_interface("wg0");
    a->set_address(address);
    a->set_prefix_length(prefix);
  }
  return node;
}

ferry::v1::IPForward MakeForward(const std::string& name, const std::string& fe_node,
                                 const std::string& fe_addr, const std::string& be_node,
                                 const std::string& be_addr, uint32_t port = 80) {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name(name);
  f.mutable_metadata()->set_generation(1);
  f.mutable_spec()->mutable_frontend()->set_node_name(fe_node);
  f.mutable_spec()->mutable_frontend()->set_address(fe_addr);
  f.mutable_spec()->mutable_backend()->set_node_name(be_node);
  f.mutable_spec()->mutable_backend()->set_address(be_addr);
  auto* p = f.mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(port);
  return f;
}

// node-a: public 192.0.2.1 plus tunnel 10.8.0.1/24; node-b: tunnel 10.8.0.2/24.
std::vector<ferry::v1::Node> TwoNodes() {
  return {MakeNode("node-a", {{"192.0.2.1", 24}, {"10.8.0.1", 24}}),
          MakeNode("node-b", {{"10.8.0.2", 24}})};
}

ferry::v1::IPForward Web() {
  return MakeForward("web", "node-a", "192.0.2.1", "node-b", "10.8.0.2");
}

TEST(PlannerTest, AcceptsPreserveForwardAndDiscoversReturnViaInBackendNetwork) {
  FleetPlan plan = PlanFleet({Web()}, TwoNodes());
  const ForwardResolution& r = plan.forwards.at("web");
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.return_via, "10.8.0.1");
  EXPECT_EQ(NodesOf(Web(), r),
            (std::vector<InvolvedNode>{{"node-a", kRoleFrontend}, {"node-b", kRoleBackend}}));
}

TEST(PlannerTest, FrontendGetsOneDnatRulePerPortMapping) {
  ferry::v1::IPForward f = Web();
  auto* range = f.mutable_spec()->add_ports();
  range->set_protocol(ferry::v1::UDP);
  range->set_port(5000);
  range->set_end_port(5010);
  range->set_target_port(6000);
  FleetPlan plan = PlanFleet({f}, TwoNodes());
  const ferry::v1::NodeConfig& a = plan.node_configs.at("node-a");
  ASSERT_EQ(a.dnat_size(), 2);
  EXPECT_EQ(a.dnat(0).port(), 80u);
  EXPECT_EQ(a.dnat(0).target_port(), 80u);
  EXPECT_EQ(a.dnat(0).backend_address(), "10.8.0.2");
  EXPECT_EQ(a.dnat(1).protocol(), ferry::v1::UDP);
  EXPECT_EQ(a.dnat(1).end_port(), 5010u);
  EXPECT_EQ(a.dnat(1).target_port(), 6000u);
  EXPECT_FALSE(a.dnat(1).masquerade());
  EXPECT_TRUE(a.ipv4_forwarding());
  EXPECT_FALSE(a.ipv6_forwarding());
}

TEST(PlannerTest, BackendGetsReturnRoutesOnTargetPortsViaReturnHop) {
  ferry::v1::IPForward f = Web();
  auto* p = f.mutable_spec()->mutable_ports(0);
  p->set_end_port(89);
  p->set_target_port(8080);
  FleetPlan plan = PlanFleet({f}, TwoNodes());
  const ferry::v1::NodeConfig& b = plan.node_configs.at("node-b");
  ASSERT_EQ(b.return_routes_size(), 1);
  EXPECT_EQ(b.return_routes(0).source_address(), "10.8.0.2");
  EXPECT_EQ(b.return_routes(0).port(), 8080u);
  EXPECT_EQ(b.return_routes(0).end_port(), 8089u);
  EXPECT_EQ(b.return_routes(0).via(), "10.8.0.1");
  EXPECT_EQ(b.dnat_size(), 0);
  EXPECT_FALSE(b.ipv4_forwarding());
}

TEST(PlannerTest, ExplicitReturnViaOverridesDiscovery) {
  ferry::v1::IPForward f = Web();
  f.mutable_spec()->mutable_backend()->set_return_via("10.8.0.254");
  FleetPlan plan = PlanFleet({f}, TwoNodes());
  EXPECT_EQ(plan.forwards.at("web").return_via, "10.8.0.254");
  EXPECT_EQ(plan.node_configs.at("node-b").return_routes(0).via(), "10.8.0.254");
}

TEST(PlannerTest, ReturnsArriveOnTheBackendInterfaceOfTheReturnHop) {
  std::vector<ferry::v1::Node> nodes = TwoNodes();
  nodes[1].mutable_status()->mutable_addresses(0)->set_interface("wg-b");
  FleetPlan plan = PlanFleet({Web()}, nodes);
  EXPECT_EQ(plan.forwards.at("web").return_interface, "wg-b");
  EXPECT_EQ(FrontendsOf(Web(), plan.forwards.at("web")),
            (std::vector<FrontendEnd>{{"node-a", "192.0.2.1", "10.8.0.1", "wg-b"}}));
  EXPECT_EQ(plan.node_configs.at("node-b").return_routes(0).in_interface(), "wg-b");
}

// node-c reaches node-b's 10.8.0.2 over a tunnel of its own (10.78.0.1 ->
// 10.78.0.2), sharing no network with it: its agent's route source is the
// return hop, and both frontends forward to the same backend port.
TEST(PlannerTest, TwoFrontendsShareOneBackendEachWithItsReportedReturnHop) {
  std::vector<ferry::v1::Node> nodes = TwoNodes();
  nodes[1].mutable_status()->mutable_addresses(0)->set_interface("wg-b");
  auto* b2 = nodes[1].mutable_status()->add_addresses();
  b2->set_interface("wg-b2");
  b2->set_address("10.78.0.2");
  b2->set_prefix_length(24);
  nodes.push_back(MakeNode("node-c", {{"192.0.2.3", 24}, {"10.78.0.1", 24}}));
  ferry::v1::IPForward via_c = MakeForward("web-c", "node-c", "192.0.2.3", "node-b", "10.8.0.2");
  FleetPlan without_report = PlanFleet({Web(), via_c}, nodes);
  EXPECT_EQ(without_report.forwards.at("web-c").reason, kReasonNoReturnPath);
  EXPECT_THAT(without_report.forwards.at("web-c").message(), HasSubstr("reported no route"));
  // node-c is asked for its route to the backend, and installs nothing.
  const ferry::v1::NodeConfig& asked = without_report.node_configs.at("node-c");
  ASSERT_EQ(asked.dnat_size(), 1);
  EXPECT_TRUE(asked.dnat(0).route_query());
  EXPECT_EQ(asked.dnat(0).backend_address(), "10.8.0.2");
  EXPECT_FALSE(asked.ipv4_forwarding());
  EXPECT_EQ(without_report.node_configs.at("node-b").return_routes_size(), 1);

  auto* route = nodes[2].mutable_status()->add_route_sources();
  route->set_destination("10.8.0.2");
  route->set_source("10.78.0.1");
  route->set_interface("wg-c");
  FleetPlan plan = PlanFleet({Web(), via_c}, nodes);
  ASSERT_TRUE(plan.forwards.at("web-c").accepted) << plan.forwards.at("web-c").message();
  ASSERT_EQ(plan.node_configs.at("node-c").dnat_size(), 1);
  EXPECT_FALSE(plan.node_configs.at("node-c").dnat(0).route_query());
  EXPECT_EQ(plan.forwards.at("web-c").return_via, "10.78.0.1");
  EXPECT_EQ(plan.forwards.at("web").return_via, "10.8.0.1");
  const ferry::v1::NodeConfig& b = plan.node_configs.at("node-b");
  ASSERT_EQ(b.return_routes_size(), 2);
  EXPECT_EQ(b.return_routes(0).forward(), "web");
  EXPECT_EQ(b.return_routes(0).in_interface(), "wg-b");
  EXPECT_EQ(b.return_routes(1).forward(), "web-c");
  EXPECT_EQ(b.return_routes(1).via(), "10.78.0.1");
  EXPECT_EQ(b.return_routes(1).in_interface(), "wg-b2");
}

TEST(PlannerTest, ReportedRouteSourceComesBeforeTheSharedNetwork) {
  std::vector<ferry::v1::Node> nodes = TwoNodes();
  auto* route = nodes[0].mutable_status()->add_route_sources();
  route->set_destination("10.8.0.2");
  route->set_source("10.8.0.7");
  EXPECT_EQ(PlanFleet({Web()}, nodes).forwards.at("web").return_via, "10.8.0.7");
}

TEST(PlannerTest, DiscoversIPv6ReturnVia) {
  std::vector<ferry::v1::Node> nodes = {
      MakeNode("node-a", {{"2001:db8:1::1", 64}, {"fd00:8::1", 64}}),
      MakeNode("node-b", {{"fd00:8::2", 64}})};
  FleetPlan plan =
      PlanFleet({MakeForward("web6", "node-a", "2001:db8:1::1", "node-b", "fd00:8::2")}, nodes);
  EXPECT_TRUE(plan.forwards.at("web6").accepted);
  EXPECT_EQ(plan.forwards.at("web6").return_via, "fd00:8::1");
  EXPECT_TRUE(plan.node_configs.at("node-a").ipv6_forwarding());
  EXPECT_FALSE(plan.node_configs.at("node-a").ipv4_forwarding());
}

TEST(PlannerTest, MasqueradeNeedsNoBackendNodeAndGivesBackendNoConfig) {
  ferry::v1::IPForward f = MakeForward("web", "node-a", "192.0.2.1", "", "198.51.100.7");
  f.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  FleetPlan plan = PlanFleet({f}, TwoNodes());
  const ForwardResolution& r = plan.forwards.at("web");
  EXPECT_TRUE(r.accepted);
  EXPECT_EQ(r.return_via, "");
  EXPECT_EQ(NodesOf(f, r), (std::vector<InvolvedNode>{{"node-a", kRoleFrontend}}));
  EXPECT_TRUE(plan.node_configs.at("node-a").dnat(0).masquerade());
  EXPECT_EQ(plan.node_configs.at("node-b").return_routes_size(), 0);
}

TEST(PlannerTest, RejectsUnregisteredFrontendNode) {
  const ferry::v1::IPForward f = MakeForward("web", "node-x", "192.0.2.1", "node-b", "10.8.0.2");
  FleetPlan plan = PlanFleet({f}, TwoNodes());
  const ForwardResolution& r = plan.forwards.at("web");
  EXPECT_FALSE(r.accepted);
  EXPECT_EQ(r.reason, kReasonFrontendNodeNotRegistered);
  EXPECT_THAT(r.message(), HasSubstr("node node-x is not registered"));
  EXPECT_TRUE(NodesOf(f, r).empty());
}

TEST(PlannerTest, RejectsFrontendAddressTheNodeDoesNotHave) {
  FleetPlan plan =
      PlanFleet({MakeForward("web", "node-a", "203.0.113.9", "node-b", "10.8.0.2")}, TwoNodes());
  EXPECT_EQ(plan.forwards.at("web").reason, kReasonAddressNotOnNode);
  EXPECT_THAT(plan.forwards.at("web").message(), HasSubstr("203.0.113.9"));
  EXPECT_EQ(plan.node_configs.at("node-a").dnat_size(), 0);
}

TEST(PlannerTest, RejectsPreserveWithUnregisteredBackendNode) {
  FleetPlan plan =
      PlanFleet({MakeForward("web", "node-a", "192.0.2.1", "node-y", "10.8.0.2")}, TwoNodes());
  EXPECT_EQ(plan.forwards.at("web").reason, kReasonBackendNodeNotRegistered);
  EXPECT_THAT(plan.forwards.at("web").message(), HasSubstr("node node-y is not registered"));
}

TEST(PlannerTest, RejectsPreserveWithBackendAddressNotOnBackendNode) {
  FleetPlan plan =
      PlanFleet({MakeForward("web", "node-a", "192.0.2.1", "node-b", "10.8.0.3")}, TwoNodes());
  EXPECT_EQ(plan.forwards.at("web").reason, kReasonBackendAddressNotOnNode);
}

TEST(PlannerTest, RejectsPreserveWithoutReturnPath) {
  std::vector<ferry::v1::Node> nodes = {MakeNode("node-a", {{"192.0.2.1", 24}}),
                                        MakeNode("node-b", {{"10.8.0.2", 24}})};
  FleetPlan plan = PlanFleet({Web()}, nodes);
  EXPECT_EQ(plan.forwards.at("web").reason, kReasonNoReturnPath);
  EXPECT_THAT(plan.forwards.at("web").message(), HasSubstr("returnVia"));
  // node-a installs nothing; it is only asked for its route to 10.8.0.2.
  ASSERT_EQ(plan.node_configs.at("node-a").dnat_size(), 1);
  EXPECT_TRUE(plan.node_configs.at("node-a").dnat(0).route_query());
  EXPECT_EQ(plan.node_configs.at("node-a").dnat(0).generation(), 0);
  EXPECT_FALSE(plan.node_configs.at("node-a").ipv4_forwarding());
  EXPECT_EQ(plan.node_configs.at("node-b").return_routes_size(), 0);
}

TEST(PlannerTest, RejectsLaterForwardInNameOrderOnConflict) {
  ferry::v1::IPForward first = Web();
  ferry::v1::IPForward second = Web();
  second.mutable_metadata()->set_name("zz-web");
  FleetPlan plan = PlanFleet({second, first}, TwoNodes());
  EXPECT_TRUE(plan.forwards.at("web").accepted);
  EXPECT_EQ(plan.forwards.at("zz-web").reason, kReasonConflict);
  EXPECT_THAT(plan.forwards.at("zz-web").message(), HasSubstr("ipforward/web"));
  EXPECT_EQ(plan.node_configs.at("node-a").dnat_size(), 1);
}

TEST(PlannerTest, EveryKnownNodeGetsAConfigEvenWithoutWork) {
  FleetPlan plan = PlanFleet({}, TwoNodes());
  ASSERT_EQ(plan.node_configs.size(), 2u);
  EXPECT_FALSE(plan.node_configs.at("node-a").version().empty());
  EXPECT_EQ(plan.node_configs.at("node-a").dnat_size(), 0);
}

TEST(PlannerTest, EqualInputsInAnyOrderGiveByteEqualConfigs) {
  ferry::v1::IPForward other = MakeForward("api", "node-a", "192.0.2.1", "node-b", "10.8.0.2", 443);
  std::vector<ferry::v1::Node> nodes = TwoNodes();
  std::vector<ferry::v1::Node> reversed(nodes.rbegin(), nodes.rend());
  FleetPlan one = PlanFleet({Web(), other}, nodes);
  FleetPlan two = PlanFleet({other, Web()}, reversed);
  for (const char* node : {"node-a", "node-b"}) {
    EXPECT_EQ(one.node_configs.at(node).SerializeAsString(),
              two.node_configs.at(node).SerializeAsString());
    EXPECT_EQ(one.node_configs.at(node).version(), two.node_configs.at(node).version());
  }
  EXPECT_EQ(one.node_configs.at("node-a").dnat(0).forward(), "api");
}

TEST(PlannerTest, VersionChangesWithContent) {
  FleetPlan before = PlanFleet({Web()}, TwoNodes());
  ferry::v1::IPForward changed = Web();
  changed.mutable_metadata()->set_generation(2);
  FleetPlan after = PlanFleet({changed}, TwoNodes());
  EXPECT_NE(before.node_configs.at("node-a").version(), after.node_configs.at("node-a").version());
  EXPECT_EQ(ConfigVersion(after.node_configs.at("node-a")),
            after.node_configs.at("node-a").version());
}

TEST(PlannerTest, ChangingOneForwardLeavesUnaffectedNodeConfigUnchanged) {
  std::vector<ferry::v1::Node> nodes = TwoNodes();
  nodes.push_back(MakeNode("node-c", {{"192.0.2.3", 24}}));
  ferry::v1::IPForward on_c = MakeForward("cache", "node-c", "192.0.2.3", "", "198.51.100.7");
  on_c.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  FleetPlan before = PlanFleet({Web(), on_c}, nodes);
  ferry::v1::IPForward changed = Web();
  changed.mutable_metadata()->set_generation(2);
  changed.mutable_spec()->mutable_ports(0)->set_target_port(8080);
  FleetPlan after = PlanFleet({changed, on_c}, nodes);
  EXPECT_EQ(before.node_configs.at("node-c").version(), after.node_configs.at("node-c").version());
  EXPECT_NE(before.node_configs.at("node-a").version(), after.node_configs.at("node-a").version());
}

TEST(PlannerTest, AlertDriftPolicyMarksEveryEntryOfTheForwardAlertOnly) {
  ferry::v1::IPForward web = Web();
  web.mutable_spec()->set_drift_policy(ferry::v1::ALERT);
  FleetPlan plan = PlanFleet({web}, TwoNodes());
  ASSERT_EQ(plan.node_configs.at("node-a").dnat_size(), 1);
  EXPECT_TRUE(plan.node_configs.at("node-a").dnat(0).alert_only());
  ASSERT_EQ(plan.node_configs.at("node-b").return_routes_size(), 1);
  EXPECT_TRUE(plan.node_configs.at("node-b").return_routes(0).alert_only());
}

TEST(PlannerTest, UnspecifiedDriftPolicyEnforces) {
  FleetPlan plan = PlanFleet({Web()}, TwoNodes());
  EXPECT_FALSE(plan.node_configs.at("node-a").dnat(0).alert_only());
  EXPECT_FALSE(plan.node_configs.at("node-b").return_routes(0).alert_only());
}

TEST(PlannerTest, SwitchingDriftPolicyChangesTheConfigVersion) {
  ferry::v1::IPForward alert = Web();
  alert.mutable_spec()->set_drift_policy(ferry::v1::ALERT);
  EXPECT_NE(PlanFleet({Web()}, TwoNodes()).node_configs.at("node-a").version(),
            PlanFleet({alert}, TwoNodes()).node_configs.at("node-a").version());
}

// -------------------------------------------------------- node selectors

ferry::v1::Node Labeled(ferry::v1::Node node, const std::string& key, const std::string& value) {
  (*node.mutable_metadata()->mutable_labels())[key] = value;
  return node;
}

// node-a and node-c are edge nodes, each with its own eth0 address and a
// tunnel to node-b; node-x is not an edge node.
std::vector<ferry::v1::Node> EdgeFleet() {
  ferry::v1::Node a = MakeNode("node-a", {{"192.0.2.1", 24}, {"10.8.0.1", 24}});
  a.mutable_status()->mutable_addresses(0)->set_interface("eth0");
  ferry::v1::Node c = MakeNode("node-c", {{"192.0.2.3", 24}, {"10.8.0.3", 24}});
  c.mutable_status()->mutable_addresses(0)->set_interface("eth0");
  ferry::v1::Node x = MakeNode("node-x", {{"192.0.2.9", 24}, {"10.8.0.9", 24}});
  x.mutable_status()->mutable_addresses(0)->set_interface("eth0");
  return {Labeled(a, "tier", "edge"), MakeNode("node-b", {{"10.8.0.2", 24}}),
          Labeled(c, "tier", "edge"), x};
}

ferry::v1::IPForward EdgeForward() {
  ferry::v1::IPForward f = MakeForward("edge", "", "", "node-b", "10.8.0.2");
  ferry::v1::Frontend& fe = *f.mutable_spec()->mutable_frontend();
  {
    auto* label = fe.mutable_node_selector()->add_match_labels();
    label->set_key("tier");
    label->set_value("edge");
  }
  fe.set_interface("eth0");
  return f;
}

TEST(PlannerSelectorTest, EverySelectedNodeServesOnItsOwnAddressWithItsOwnReturnHop) {
  FleetPlan plan = PlanFleet({EdgeForward()}, EdgeFleet());
  const ForwardResolution& r = plan.forwards.at("edge");
  ASSERT_TRUE(r.accepted) << r.message();
  EXPECT_EQ(r.frontends(), (std::vector<FrontendEnd>{{"node-a", "192.0.2.1", "10.8.0.1", "wg0"},
                                                     {"node-c", "192.0.2.3", "10.8.0.3", "wg0"}}));
  EXPECT_EQ(r.return_via, "10.8.0.1,10.8.0.3");
  EXPECT_EQ(plan.node_configs.at("node-a").dnat(0).frontend_address(), "192.0.2.1");
  EXPECT_EQ(plan.node_configs.at("node-c").dnat(0).frontend_address(), "192.0.2.3");
  EXPECT_EQ(plan.node_configs.at("node-x").dnat_size(), 0);
  const ferry::v1::NodeConfig& b = plan.node_configs.at("node-b");
  ASSERT_EQ(b.return_routes_size(), 2);
  EXPECT_EQ(b.return_routes(0).via(), "10.8.0.1");
  EXPECT_EQ(b.return_routes(1).via(), "10.8.0.3");
}

TEST(PlannerSelectorTest, FollowsLabelsBothWays) {
  std::vector<ferry::v1::Node> nodes = EdgeFleet();
  nodes[3] = Labeled(nodes[3], "tier", "edge");
  EXPECT_EQ(PlanFleet({EdgeForward()}, nodes).node_configs.at("node-x").dnat_size(), 1);
  for (ferry::v1::Node& n : nodes) n.mutable_metadata()->mutable_labels()->erase("tier");
  const ForwardResolution r = PlanFleet({EdgeForward()}, nodes).forwards.at("edge");
  EXPECT_EQ(r.reason, kReasonNoNodeSelected);
}

TEST(PlannerSelectorTest, AVipServesOnlyWhereItIsAndTheOthersSayWhy) {
  std::vector<ferry::v1::Node> nodes = EdgeFleet();
  auto* vip = nodes[0].mutable_status()->add_addresses();
  vip->set_interface("lo");
  vip->set_address("198.51.100.7");
  vip->set_prefix_length(32);
  ferry::v1::IPForward f = EdgeForward();
  f.mutable_spec()->mutable_frontend()->clear_interface();
  f.mutable_spec()->mutable_frontend()->set_address("198.51.100.7");
  const ForwardResolution r = PlanFleet({f}, nodes).forwards.at("edge");
  ASSERT_TRUE(r.accepted) << r.message();
  ASSERT_EQ(r.frontends().size(), 1u);
  EXPECT_EQ(r.frontends()[0].node, "node-a");
  ASSERT_EQ(r.skipped().size(), 1u);
  EXPECT_EQ(r.skipped()[0].node, "node-c");
  EXPECT_EQ(r.skipped()[0].reason, kReasonAddressNotOnNode);
  EXPECT_THAT(r.skipped()[0].message, HasSubstr("198.51.100.7 is not an address of node node-c"));
}

TEST(PlannerSelectorTest, AFrontendWithoutAReturnHopIsAskedAndTheOthersServe) {
  std::vector<ferry::v1::Node> nodes = EdgeFleet();
  nodes[2].mutable_status()->mutable_addresses()->RemoveLast();  // node-c: no tunnel address
  FleetPlan plan = PlanFleet({EdgeForward()}, nodes);
  const ForwardResolution& r = plan.forwards.at("edge");
  ASSERT_TRUE(r.accepted);
  EXPECT_EQ(r.route_query_nodes(), std::vector<std::string>{"node-c"});
  const ferry::v1::NodeConfig& c = plan.node_configs.at("node-c");
  ASSERT_EQ(c.dnat_size(), 1);
  EXPECT_TRUE(c.dnat(0).route_query());
  EXPECT_EQ(plan.node_configs.at("node-b").return_routes_size(), 1);
}

}  // namespace
}  // namespace ferry::controller
