// ValidateObject on protos, as the server sees them from any client.

#include "api/lib/validation.h"

#include <functional>
#include <initializer_list>
#include <string>
#include <tuple>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::HasSubstr;

v1::Object Forward() {
  v1::Object o;
  v1::IPForward* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name("web");
  auto* spec = f->mutable_spec();
  spec->mutable_frontend()->set_node_name("node-a");
  spec->mutable_frontend()->set_address("192.0.2.1");
  spec->mutable_backend()->set_node_name("node-b");
  spec->mutable_backend()->set_address("10.8.0.2");
  auto* p = spec->add_ports();
  p->set_protocol(v1::TCP);
  p->set_port(80);
  return o;
}

v1::IPForwardSpec& Spec(v1::Object& o) { return *o.mutable_ip_forward()->mutable_spec(); }

v1::PortMapping& AddPort(v1::Object& o, v1::Protocol proto, uint32_t port, uint32_t end = 0) {
  v1::PortMapping* p = Spec(o).add_ports();
  p->set_protocol(proto);
  p->set_port(port);
  p->set_end_port(end);
  return *p;
}

std::string Error(const v1::Object& o) {
  absl::Status s = ValidateObject(o);
  if (s.ok()) return "OK";
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.message());
}

TEST(ValidateObjectTest, AcceptsAValidForward) { EXPECT_EQ(Error(Forward()), "OK"); }

TEST(ValidateObjectTest, AcceptsMasqueradeWithoutBackendNode) {
  v1::Object o = Forward();
  Spec(o).mutable_backend()->clear_node_name();
  Spec(o).set_source_ip(v1::MASQUERADE);
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, RequiresBackendNodeForPreserve) {
  v1::Object o = Forward();
  Spec(o).mutable_backend()->clear_node_name();
  Spec(o).set_source_ip(v1::PRESERVE);
  EXPECT_THAT(Error(o), HasSubstr("spec.backend.nodeName: required when sourceIP is Preserve"));
}

TEST(ValidateObjectTest, RejectsObjectWithoutKind) {
  EXPECT_EQ(Error(v1::Object()), "kind: required; expected IPForward or Node");
}

TEST(ValidateObjectTest, RejectsKindFieldThatDisagreesWithTheOneof) {
  v1::Object o = Forward();
  o.mutable_ip_forward()->set_kind("Node");
  EXPECT_EQ(Error(o), "kind: must be IPForward for this object, got \"Node\"");
}

TEST(ValidateObjectTest, RejectsUnknownEnumValuesFromTheWire) {
  v1::Object o = Forward();
  Spec(o).set_source_ip(static_cast<v1::SourceIP>(9));
  EXPECT_EQ(Error(o), "spec.sourceIP: must be Preserve or Masquerade, got 9");
  o = Forward();
  Spec(o).mutable_ports(0)->set_protocol(static_cast<v1::Protocol>(7));
  EXPECT_EQ(Error(o), "spec.ports[0].protocol: must be TCP or UDP, got 7");
}

TEST(ValidateObjectTest, AcceptsBothDriftPolicies) {
  v1::Object o = Forward();
  Spec(o).set_drift_policy(v1::ENFORCE);
  EXPECT_EQ(Error(o), "OK");
  Spec(o).set_drift_policy(v1::ALERT);
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, RejectsUnknownDriftPolicyFromTheWire) {
  v1::Object o = Forward();
  Spec(o).set_drift_policy(static_cast<v1::DriftPolicy>(5));
  EXPECT_EQ(Error(o), "spec.driftPolicy: must be Enforce or Alert, got 5");
}

TEST(ValidateObjectTest, RejectsEventsBecauseOnlyTheControllerWritesThem) {
  v1::Object o;
  o.mutable_event()->set_api_version("ferry.dev/v1");
  o.mutable_event()->set_kind("Event");
  o.mutable_event()->mutable_metadata()->set_name("web.drift");
  EXPECT_THAT(Error(o), HasSubstr("events are written by the controller"));
}

TEST(KindNameTest, NamesEvents) {
  v1::Object o;
  o.mutable_event()->mutable_metadata()->set_name("web.drift");
  EXPECT_EQ(KindName(o), "Event");
  EXPECT_EQ(ObjectName(o), "web.drift");
}

TEST(ValidateObjectTest, AllowsTheSamePortForTcpAndUdp) {
  v1::Object o = Forward();
  AddPort(o, v1::UDP, 80);
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, AllowsAdjacentRanges) {
  v1::Object o = Forward();
  AddPort(o, v1::TCP, 81, 89);
  AddPort(o, v1::TCP, 90, 99);
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, FindsOverlapHiddenBehindAWideRange) {
  v1::Object o = Forward();  // ports[0] is TCP 80
  Spec(o).mutable_ports(0)->set_end_port(100);
  AddPort(o, v1::TCP, 85, 86);
  AddPort(o, v1::TCP, 95);
  EXPECT_EQ(Error(o),
            "spec.ports[1]: TCP 85-86 overlaps spec.ports[0] (TCP "
            "80-100); each protocol and "
            "port may be forwarded once");
}

TEST(ValidateObjectTest, AcceptsTheLongestAllowedRange) {
  v1::Object o = Forward();
  Spec(o).mutable_ports(0)->set_end_port(80 + kMaxPortRange - 1);
  EXPECT_EQ(Error(o), "OK");
  Spec(o).mutable_ports(0)->set_end_port(80 + kMaxPortRange);
  EXPECT_THAT(Error(o), HasSubstr("spec.ports[0].endPort: range 80-1104 has 1025 ports"));
}

TEST(ValidateObjectTest, AcceptsTargetRangeEndingAt65535) {
  v1::Object o = Forward();
  Spec(o).mutable_ports(0)->set_end_port(90);
  Spec(o).mutable_ports(0)->set_target_port(65525);
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, RejectsTooManyPortEntries) {
  v1::Object o = Forward();
  for (uint32_t i = 0; i < kMaxPortMappings; ++i) AddPort(o, v1::UDP, 1000 + i);
  EXPECT_EQ(Error(o), "spec.ports: at most 256 entries, got 257");
}

TEST(ValidateObjectTest, RejectsIPv6SpecialAddresses) {
  for (const char* addr : {"::1", "::", "ff02::1"}) {
    v1::Object o = Forward();
    Spec(o).mutable_frontend()->set_address(addr);
    EXPECT_THAT(Error(o), HasSubstr(std::string("spec.frontend.address: ") + addr + " is "));
  }
}

TEST(ValidateObjectTest, RejectsInvalidReturnVia) {
  v1::Object o = Forward();
  Spec(o).mutable_backend()->set_return_via("10.8.0");
  EXPECT_EQ(Error(o), "spec.backend.returnVia: \"10.8.0\" is not an IPv4 or IPv6 address");
}

TEST(ValidateObjectTest, AcceptsPrefixedLabelKeysAndEmptyValues) {
  v1::Object o = Forward();
  auto& labels = *o.mutable_ip_forward()->mutable_metadata()->mutable_labels();
  labels["example.com/team"] = "web";
  labels["tier"] = "";
  labels["A_b.c-d"] = "X_y.z-1";
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, ReportsTheFirstBadLabelInKeyOrder) {
  v1::Object o = Forward();
  auto& labels = *o.mutable_ip_forward()->mutable_metadata()->mutable_labels();
  labels["z"] = "-bad";
  labels["a"] = "bad-";
  EXPECT_THAT(Error(o), HasSubstr("metadata.labels.a: label value \"bad-\" is invalid"));
}

TEST(ValidateObjectTest, RejectsUppercaseLabelKeyPrefix) {
  v1::Object o = Forward();
  (*o.mutable_ip_forward()->mutable_metadata()->mutable_labels())["Example.com/x"] = "y";
  EXPECT_THAT(Error(o), HasSubstr("metadata.labels.Example.com/x: label key \"Example.com/x\" "
                                  "has an invalid prefix \"Example.com\""));
}

TEST(ValidateNameTest, AcceptsDnsSubdomainNamesUpTo63Characters) {
  EXPECT_TRUE(ValidateName("web").ok());
  EXPECT_TRUE(ValidateName("web.example-1").ok());
  EXPECT_TRUE(ValidateName(std::string(63, 'a')).ok());
  EXPECT_FALSE(ValidateName(std::string(64, 'a')).ok());
  EXPECT_FALSE(ValidateName("-web").ok());
  EXPECT_FALSE(ValidateName("web.").ok());
  EXPECT_FALSE(ValidateName("we_b").ok());
  EXPECT_FALSE(ValidateName("").ok());
}

TEST(ValidateObjectTest, ValidatesNodes) {
  v1::Object o;
  o.mutable_node()->set_api_version("ferry.dev/v1");
  o.mutable_node()->set_kind("Node");
  o.mutable_node()->mutable_metadata()->set_name("node-a");
  EXPECT_EQ(Error(o), "OK");
  o.mutable_node()->mutable_metadata()->set_name("Node A");
  EXPECT_THAT(Error(o), HasSubstr("metadata.name: \"Node A\" is not a valid name"));
}

TEST(FindFieldErrorTest, KeepsPathApartFromMessage) {
  v1::Object o = Forward();
  Spec(o).mutable_ports(0)->set_port(70000);
  std::optional<FieldError> e = FindFieldError(o);
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->path, "spec.ports[0].port");
  EXPECT_EQ(e->message, "must be 1..65535, got 70000");
  EXPECT_FALSE(FindFieldError(Forward()).has_value());
}

TEST(KindHelpersTest, NameKindAndObject) {
  v1::Object o = Forward();
  EXPECT_EQ(KindName(o), "IPForward");
  EXPECT_EQ(ObjectName(o), "web");
  EXPECT_EQ(KindName(v1::Object()), "");
}

google::protobuf::RepeatedPtrField<v1::RouteSource> RouteSources(
    std::initializer_list<std::tuple<std::string, std::string, std::string>> list) {
  google::protobuf::RepeatedPtrField<v1::RouteSource> out;
  for (const auto& [destination, source, interface] : list) {
    v1::RouteSource* r = out.Add();
    r->set_destination(destination);
    r->set_source(source);
    r->set_interface(interface);
  }
  return out;
}

TEST(ValidateRouteSourcesTest, AcceptsAddressesOfOneFamilyAndAnInterfaceName) {
  EXPECT_TRUE(ValidateRouteSources(RouteSources({{"10.8.0.2", "10.8.0.1", "wg0"},
                                                 {"fd00:8::2", "fd00:8::1", "wg0"}}),
                                   "addresses.routeSources")
                  .ok());
  EXPECT_TRUE(ValidateRouteSources(RouteSources({}), "addresses.routeSources").ok());
}

TEST(ValidateRouteSourcesTest, NamesTheFieldThatIsWrong) {
  absl::Status s = ValidateRouteSources(
      RouteSources({{"10.8.0.2", "10.8.0.1", "wg0"}, {"10.8.0.3", "nope", "wg0"}}),
      "addresses.routeSources");
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "addresses.routeSources[1].source: \"nope\" is not an IP address");
  s = ValidateRouteSources(RouteSources({{"", "10.8.0.1", "wg0"}}), "r");
  EXPECT_THAT(s.message(), HasSubstr("r[0].destination: \"\" is not an IP address"));
  s = ValidateRouteSources(RouteSources({{"10.8.0.2", "fd00:8::1", "wg0"}}), "r");
  EXPECT_THAT(s.message(), HasSubstr("r[0].source: fd00:8::1 is not of the family"));
  s = ValidateRouteSources(RouteSources({{"10.8.0.2", "10.8.0.1", "a-much-too-long-name"}}), "r");
  EXPECT_THAT(s.message(), HasSubstr("r[0].interface: must be 1 to 15 characters"));
  s = ValidateRouteSources(RouteSources({{"10.8.0.2", "10.8.0.1", ""}}), "r");
  EXPECT_THAT(s.message(), HasSubstr("r[0].interface"));
}

TEST(ValidateRouteSourcesTest, BoundsTheList) {
  google::protobuf::RepeatedPtrField<v1::RouteSource> many;
  for (size_t i = 0; i <= kMaxRouteSources; ++i) {
    v1::RouteSource* r = many.Add();
    r->set_destination("10.8.0.2");
    r->set_source("10.8.0.1");
    r->set_interface("wg0");
  }
  EXPECT_THAT(ValidateRouteSources(many, "r").message(), HasSubstr("route sources; at most 16384"));
}

v1::Object SelectorForward() {
  v1::Object o = Forward();
  v1::Frontend& fe = *Spec(o).mutable_frontend();
  fe.clear_node_name();
  {
    auto* label = fe.mutable_node_selector()->add_match_labels();
    label->set_key("tier");
    label->set_value("edge");
  }
  return o;
}

TEST(ValidateObjectTest, AcceptsANodeSelectorWithAnAddressOrAnInterface) {
  v1::Object o = SelectorForward();
  EXPECT_EQ(Error(o), "OK");
  Spec(o).mutable_frontend()->clear_address();
  Spec(o).mutable_frontend()->set_interface("eth0");
  EXPECT_EQ(Error(o), "OK");
}

TEST(ValidateObjectTest, RejectsBadNodeSelectorsByFieldPath) {
  struct Case {
    std::function<void(v1::Frontend&)> change;
    std::string error;
  };
  const std::vector<Case> cases = {
      {[](v1::Frontend& fe) { fe.set_node_name("node-a"); },
       "spec.frontend.nodeSelector: give nodeName or nodeSelector, not both"},
      {[](v1::Frontend& fe) { fe.mutable_node_selector()->clear_match_labels(); },
       "spec.frontend.nodeSelector: give at least one of matchLabels and matchExpressions"},
      {[](v1::Frontend& fe) {
         {
           auto* label = fe.mutable_node_selector()->add_match_labels();
           label->set_key("Bad Key");
           label->set_value("x");
         }
       },
       "spec.frontend.nodeSelector.matchLabels.Bad Key: "},
      {[](v1::Frontend& fe) {
         auto* t = fe.mutable_node_selector()->add_match_expressions();
         t->set_key("region");
         t->set_operator_("Equals");
       },
       "spec.frontend.nodeSelector.matchExpressions[0].operator: must be In, NotIn, Exists or "
       "DoesNotExist, got \"Equals\""},
      {[](v1::Frontend& fe) {
         auto* t = fe.mutable_node_selector()->add_match_expressions();
         t->set_key("region");
         t->set_operator_("In");
       },
       "spec.frontend.nodeSelector.matchExpressions[0].values: at least one value is required "
       "with In"},
      {[](v1::Frontend& fe) {
         auto* t = fe.mutable_node_selector()->add_match_expressions();
         t->set_key("region");
         t->set_operator_("Exists");
         t->add_values("eu");
       },
       "spec.frontend.nodeSelector.matchExpressions[0].values: must be empty with Exists"},
      {[](v1::Frontend& fe) { fe.set_interface("eth0"); },
       "spec.frontend.interface: give address (held by every selected node) or interface"},
      {[](v1::Frontend& fe) { fe.clear_address(); },
       "spec.frontend.address: required with nodeSelector, unless spec.frontend.interface"},
      {[](v1::Frontend& fe) {
         fe.clear_address();
         fe.set_interface("a/b");
       },
       "spec.frontend.interface: \"a/b\" is not an interface name"},
  };
  for (const Case& c : cases) {
    v1::Object o = SelectorForward();
    c.change(*Spec(o).mutable_frontend());
    EXPECT_THAT(Error(o), HasSubstr(c.error));
  }
  v1::Object with_via = SelectorForward();
  Spec(with_via).mutable_backend()->set_return_via("10.8.0.1");
  EXPECT_THAT(Error(with_via), HasSubstr("spec.backend.returnVia: not with spec.frontend."));
  v1::Object named = Forward();
  Spec(named).mutable_frontend()->set_interface("eth0");
  EXPECT_THAT(Error(named), HasSubstr("spec.frontend.interface: only with nodeSelector"));
}

TEST(ValidateObjectTest, ProbeTimesAndRollbackAreBounded) {
  v1::Object o = Forward();
  Spec(o).set_rollback(v1::ON_PROBE_FAILURE);
  Spec(o).mutable_probe()->set_period_seconds(5);
  EXPECT_EQ(Error(o), "OK");
  Spec(o).mutable_probe()->set_timeout_seconds(61);
  EXPECT_THAT(Error(o), HasSubstr("spec.probe.timeoutSeconds: must be 0 (2 s) or 1..60"));
  o = Forward();
  Spec(o).mutable_probe()->set_confirm_seconds(3601);
  EXPECT_THAT(Error(o), HasSubstr("spec.probe.confirmSeconds"));
  o = Forward();
  Spec(o).mutable_probe()->set_period_seconds(86401);
  EXPECT_THAT(Error(o), HasSubstr("spec.probe.periodSeconds"));
  o = Forward();
  Spec(o).set_rollback(static_cast<v1::RollbackPolicy>(7));
  EXPECT_THAT(Error(o), HasSubstr("spec.rollback: must be Never or OnProbeFailure"));
}

TEST(ValidateObjectTest, RolloutTakesACountOrAPercentageOfNodes) {
  for (const char* ok : {"", "1", "3", "25%", "100%"}) {
    v1::Object o = Forward();
    Spec(o).mutable_rollout()->set_max_unavailable(ok);
    EXPECT_EQ(Error(o), "OK") << ok;
  }
  for (const char* bad : {"0", "-1", "0%", "101%", "x", "1.5", "%"}) {
    v1::Object o = Forward();
    Spec(o).mutable_rollout()->set_max_unavailable(bad);
    EXPECT_THAT(Error(o), HasSubstr("spec.rollout.maxUnavailable: must be a count of nodes"))
        << bad;
  }
  v1::Object o = Forward();
  Spec(o).mutable_rollout()->set_progress_deadline_seconds(86401);
  EXPECT_THAT(Error(o), HasSubstr("spec.rollout.progressDeadlineSeconds: must be 0 (30 s) or"));
  EXPECT_EQ(ParseMaxUnavailable("25%")->Of(10), 2u);
  EXPECT_EQ(ParseMaxUnavailable("25%")->Of(3), 1u);  // never below one node
  EXPECT_EQ(ParseMaxUnavailable("")->Of(10), 1u);
}

}  // namespace
}  // namespace ferry::api
