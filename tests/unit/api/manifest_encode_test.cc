// EncodeYaml's layout and its round trip through DecodeManifests; EncodeJson.

#include <string>

#include "api/lib/manifest.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

v1::Object WebForward() {
  v1::Object o;
  v1::IPForward* f = o.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name("web");
  (*f->mutable_metadata()->mutable_labels())["team"] = "web";
  auto* spec = f->mutable_spec();
  spec->mutable_frontend()->set_node_name("node-a");
  spec->mutable_frontend()->set_address("192.0.2.1");
  spec->mutable_backend()->set_node_name("node-b");
  spec->mutable_backend()->set_address("10.8.0.2");
  auto* p = spec->add_ports();
  p->set_protocol(v1::TCP);
  p->set_port(80);
  p->set_target_port(8080);
  spec->set_source_ip(v1::PRESERVE);
  return o;
}

v1::Object RoundTrip(const v1::Object& o) {
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(EncodeYaml(o), "rt");
  EXPECT_TRUE(got.ok()) << got.status() << "\n" << EncodeYaml(o);
  if (!got.ok() || got->size() != 1) return {};
  return (*got)[0].object;
}

TEST(EncodeYamlTest, WritesKubernetesKeyOrderAndOmitsEmptyFields) {
  EXPECT_EQ(EncodeYaml(WebForward()),
            "apiVersion: ferry.dev/v1\n"
            "kind: IPForward\n"
            "metadata:\n"
            "  name: web\n"
            "  labels:\n"
            "    team: web\n"
            "spec:\n"
            "  frontend:\n"
            "    nodeName: node-a\n"
            "    address: 192.0.2.1\n"
            "  backend:\n"
            "    nodeName: node-b\n"
            "    address: 10.8.0.2\n"
            "  ports:\n"
            "    - protocol: TCP\n"
            "      port: 80\n"
            "      targetPort: 8080\n"
            "  sourceIP: Preserve\n");
}

TEST(EncodeYamlTest, WritesServerFieldsAndStatus) {
  v1::Object o = WebForward();
  auto* f = o.mutable_ip_forward();
  f->mutable_metadata()->set_uid("u-1");
  f->mutable_metadata()->set_generation(3);
  f->mutable_metadata()->set_resource_version("12");
  f->mutable_metadata()->mutable_creation_timestamp()->set_seconds(1795608000);
  auto* st = f->mutable_status();
  st->set_observed_generation(3);
  auto* c = st->add_conditions();
  c->set_type("Ready");
  c->set_status("True");
  c->set_reason("Applied");
  c->mutable_last_transition_time()->set_seconds(1795608000);
  auto* n = st->add_nodes();
  n->set_name("node-a");
  n->set_role("Frontend");
  n->set_state("Applied");
  n->set_applied_generation(3);
  st->set_return_via("10.8.0.1");
  std::string yaml = EncodeYaml(o);
  EXPECT_THAT(yaml, HasSubstr("  uid: u-1\n  generation: 3\n  resourceVersion: \"12\"\n"
                              "  creationTimestamp: \"2026-11-25T12:00:00Z\"\n"));
  EXPECT_THAT(yaml, HasSubstr("status:\n  observedGeneration: 3\n  conditions:\n"
                              "    - type: Ready\n      status: \"True\"\n      reason: Applied\n"
                              "      lastTransitionTime: \"2026-11-25T12:00:00Z\"\n"
                              "  nodes:\n    - name: node-a\n      role: Frontend\n"
                              "      state: Applied\n      appliedGeneration: 3\n"
                              "  returnVia: 10.8.0.1\n"));
}

TEST(EncodeYamlTest, WritesNodeStatus) {
  v1::Object o;
  v1::Node* n = o.mutable_node();
  n->set_api_version("ferry.dev/v1");
  n->set_kind("Node");
  n->mutable_metadata()->set_name("node-a");
  auto* a = n->mutable_status()->add_addresses();
  a->set_interface("wg0");
  a->set_address("10.8.0.1");
  a->set_prefix_length(24);
  n->mutable_status()->set_agent_version("0.1.0");
  n->mutable_status()->set_applied_config_version("3f2a");
  EXPECT_EQ(EncodeYaml(o),
            "apiVersion: ferry.dev/v1\n"
            "kind: Node\n"
            "metadata:\n"
            "  name: node-a\n"
            "spec: {}\n"
            "status:\n"
            "  addresses:\n"
            "    - interface: wg0\n"
            "      address: 10.8.0.1\n"
            "      prefixLength: 24\n"
            "  agentVersion: 0.1.0\n"
            "  appliedConfigVersion: 3f2a\n");
}

v1::Object NodeWithRouteSources() {
  v1::Object o;
  v1::Node* n = o.mutable_node();
  n->set_api_version("ferry.dev/v1");
  n->set_kind("Node");
  n->mutable_metadata()->set_name("node-a");
  (*n->mutable_spec()->mutable_labels())["zone"] = "fra1";
  n->mutable_status()->set_agent_version("0.2.0");
  for (const auto& [destination, source] :
       {std::pair{"10.8.0.2", "10.8.0.1"}, std::pair{"fd00:8::2", "fd00:8::1"}}) {
    auto* r = n->mutable_status()->add_route_sources();
    r->set_destination(destination);
    r->set_source(source);
    r->set_interface("wg0");
  }
  return o;
}

TEST(EncodeYamlTest, WritesNodeRouteSourcesAfterTheAgentLabels) {
  EXPECT_EQ(EncodeYaml(NodeWithRouteSources()),
            "apiVersion: ferry.dev/v1\n"
            "kind: Node\n"
            "metadata:\n"
            "  name: node-a\n"
            "spec:\n"
            "  labels:\n"
            "    zone: fra1\n"
            "status:\n"
            "  agentVersion: 0.2.0\n"
            "  routeSources:\n"
            "    - destination: 10.8.0.2\n"
            "      source: 10.8.0.1\n"
            "      interface: wg0\n"
            "    - destination: fd00:8::2\n"
            "      source: fd00:8::1\n"
            "      interface: wg0\n");
}

TEST(EncodeYamlTest, RoundTripOfANodeWithRouteSourcesKeepsMetadataAndSpec) {
  v1::Object o = NodeWithRouteSources();
  v1::Object back = RoundTrip(o);
  // Status is the controller's: the decoder drops it, routeSources too.
  o.mutable_node()->clear_status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, o))
      << back.DebugString() << "\nvs\n"
      << o.DebugString();
}

TEST(EncodeJsonTest, WritesNodeRouteSources) {
  const std::string json = EncodeJson(NodeWithRouteSources());
  EXPECT_THAT(json, HasSubstr("\"routeSources\": [\n   {\n    \"destination\": \"10.8.0.2\",\n"
                              "    \"source\": \"10.8.0.1\",\n    \"interface\": \"wg0\"\n"));
}

TEST(EncodeYamlTest, QuotesStringsOtherReadersWouldRetype) {
  v1::Object o = WebForward();
  auto& labels = *o.mutable_ip_forward()->mutable_metadata()->mutable_labels();
  labels["num"] = "123";
  labels["bool"] = "true";
  labels["word"] = "yes";
  labels["empty"] = "";
  labels["y"] = "x";  // a YAML 1.1 boolean as a key
  std::string yaml = EncodeYaml(o);
  EXPECT_THAT(yaml, HasSubstr("num: \"123\"\n"));
  EXPECT_THAT(yaml, HasSubstr("bool: \"true\"\n"));
  EXPECT_THAT(yaml, HasSubstr("word: \"yes\"\n"));
  EXPECT_THAT(yaml, HasSubstr("empty: \"\"\n"));
  EXPECT_THAT(yaml, HasSubstr("\"y\": x\n"));
  EXPECT_THAT(yaml, Not(HasSubstr("\"192.0.2.1\"")));
}

TEST(EncodeYamlTest, RoundTripKeepsMetadataAndSpec) {
  v1::Object o = WebForward();
  auto* f = o.mutable_ip_forward();
  (*f->mutable_metadata()->mutable_labels())["empty"] = "";
  f->mutable_metadata()->set_resource_version("7");
  f->mutable_metadata()->mutable_creation_timestamp()->set_seconds(1795608000);
  f->mutable_spec()->mutable_backend()->set_return_via("10.8.0.1");
  auto* p = f->mutable_spec()->add_ports();
  p->set_protocol(v1::UDP);
  p->set_port(1000);
  p->set_end_port(1010);
  f->mutable_spec()->set_source_ip(v1::MASQUERADE);
  f->mutable_status()->set_observed_generation(1);  // dropped: status is read-only

  v1::Object back = RoundTrip(o);
  f->clear_status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, o))
      << back.DebugString() << "\nvs\n"
      << o.DebugString();
}

TEST(EncodeYamlTest, RoundTripKeepsNode) {
  v1::Object o;
  o.mutable_node()->set_api_version("ferry.dev/v1");
  o.mutable_node()->set_kind("Node");
  o.mutable_node()->mutable_metadata()->set_name("node-b");
  (*o.mutable_node()->mutable_metadata()->mutable_labels())["example.com/zone"] = "fra1";
  v1::Object back = RoundTrip(o);
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, o)) << back.DebugString();
}

TEST(EncodeYamlTest, EncodedStreamOfSeveralObjectsDecodes) {
  v1::Object a = WebForward(), b = WebForward();
  b.mutable_ip_forward()->mutable_metadata()->set_name("web2");
  std::string yaml = EncodeYaml(a) + "---\n" + EncodeYaml(b);
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(yaml, "s");
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), 2u);
  EXPECT_EQ((*got)[1].object.ip_forward().metadata().name(), "web2");
}

TEST(EncodeYamlTest, WritesDriftPolicyWhenSet) {
  v1::Object o = WebForward();
  EXPECT_THAT(EncodeYaml(o), Not(HasSubstr("driftPolicy")));
  o.mutable_ip_forward()->mutable_spec()->set_drift_policy(v1::ALERT);
  EXPECT_THAT(EncodeYaml(o), HasSubstr("  sourceIP: Preserve\n  driftPolicy: Alert\n"));
  o.mutable_ip_forward()->mutable_spec()->set_drift_policy(v1::ENFORCE);
  EXPECT_THAT(EncodeYaml(o), HasSubstr("  driftPolicy: Enforce\n"));
}

TEST(EncodeYamlTest, RoundTripKeepsDriftPolicy) {
  v1::Object o = WebForward();
  o.mutable_ip_forward()->mutable_spec()->set_drift_policy(v1::ALERT);
  v1::Object back = RoundTrip(o);
  EXPECT_EQ(back.ip_forward().spec().drift_policy(), v1::ALERT);
}

v1::Object DriftEvent() {
  v1::Object o;
  v1::Event* e = o.mutable_event();
  e->set_api_version("ferry.dev/v1");
  e->set_kind("Event");
  e->mutable_metadata()->set_name("web.drift-detected.node-a");
  e->mutable_involved_object()->set_kind("IPForward");
  e->mutable_involved_object()->set_name("web");
  e->set_reason("DriftDetected");
  e->set_message("map dnat4 element 192.0.2.1 . tcp . 80 missing");
  e->set_type("Warning");
  e->set_node("node-a");
  e->set_count(3);
  e->mutable_first_timestamp()->set_seconds(1795608000);
  e->mutable_last_timestamp()->set_seconds(1795608060);
  return o;
}

TEST(EncodeYamlTest, WritesEventFieldsAtTheTopLevel) {
  EXPECT_EQ(EncodeYaml(DriftEvent()),
            "apiVersion: ferry.dev/v1\n"
            "kind: Event\n"
            "metadata:\n"
            "  name: web.drift-detected.node-a\n"
            "involvedObject:\n"
            "  kind: IPForward\n"
            "  name: web\n"
            "reason: DriftDetected\n"
            "message: map dnat4 element 192.0.2.1 . tcp . 80 missing\n"
            "type: Warning\n"
            "node: node-a\n"
            "count: 3\n"
            "firstTimestamp: \"2026-11-25T12:00:00Z\"\n"
            "lastTimestamp: \"2026-11-25T12:01:00Z\"\n");
}

TEST(EncodeJsonTest, EncodesEventsWithCamelCaseFields) {
  std::string json = EncodeJson(DriftEvent());
  EXPECT_THAT(json, HasSubstr("\"involvedObject\": {"));
  EXPECT_THAT(json, HasSubstr("\"reason\": \"DriftDetected\""));
  EXPECT_THAT(json, HasSubstr("\"lastTimestamp\": \"2026-11-25T12:01:00Z\""));
  v1::Event back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, DriftEvent().event()));
}

TEST(EncodeJsonTest, NamesDriftPolicyByItsProtoEnum) {
  v1::Object o = WebForward();
  o.mutable_ip_forward()->mutable_spec()->set_drift_policy(v1::ALERT);
  EXPECT_THAT(EncodeJson(o), HasSubstr("\"driftPolicy\": \"ALERT\""));
}

TEST(EncodeJsonTest, UsesProtobufJsonMappingOfTheResource) {
  std::string json = EncodeJson(WebForward());
  // camelCase field names and proto enum names, not the YAML spellings.
  EXPECT_THAT(json, HasSubstr("\"apiVersion\": \"ferry.dev/v1\""));
  EXPECT_THAT(json, HasSubstr("\"nodeName\": \"node-a\""));
  EXPECT_THAT(json, HasSubstr("\"protocol\": \"TCP\""));
  EXPECT_THAT(json, HasSubstr("\"sourceIP\": \"PRESERVE\""));
  EXPECT_THAT(json, Not(HasSubstr("ipForward")));

  v1::IPForward back;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(json, &back).ok());
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(back, WebForward().ip_forward()));
}

}  // namespace
}  // namespace ferry::api
