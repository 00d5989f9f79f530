// What valid manifests decode to.

#include <string>

#include "absl/strings/str_cat.h"
#include "api/lib/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::ElementsAre;
using ::testing::Pair;
using ::testing::UnorderedElementsAre;

constexpr absl::string_view kWeb = R"(apiVersion: ferry.dev/v1
kind: IPForward
metadata:
  name: web
  labels: {team: web, tier: ""}
  resourceVersion: "12"
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2, returnVia: 10.8.0.1}
  ports:
  - protocol: TCP
    port: 80
    endPort: 90
    targetPort: 8080
  - protocol: UDP
    port: 53
  sourceIP: Masquerade
)";

constexpr absl::string_view kNodeA = R"(apiVersion: ferry.dev/v1
kind: Node
metadata:
  name: node-a
  labels: {zone: fra1}
spec: {}
)";

constexpr absl::string_view kDns6 = R"(apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: dns6}
spec:
  frontend: {nodeName: node-a, address: "2001:db8::1"}
  backend: {nodeName: node-b, address: "fd00::2"}
  ports: [{protocol: UDP, port: 53}]
)";

std::vector<ManifestObject> MustDecode(absl::string_view yaml) {
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(yaml, "m.yaml");
  EXPECT_TRUE(got.ok()) << got.status();
  return got.ok() ? *got : std::vector<ManifestObject>{};
}

TEST(DecodeManifestsTest, DecodesEveryIPForwardField) {
  std::vector<ManifestObject> got = MustDecode(kWeb);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].object.has_ip_forward());
  const v1::IPForward& f = got[0].object.ip_forward();
  EXPECT_EQ(f.api_version(), "ferry.dev/v1");
  EXPECT_EQ(f.kind(), "IPForward");
  EXPECT_EQ(f.metadata().name(), "web");
  EXPECT_THAT(f.metadata().labels(), UnorderedElementsAre(Pair("team", "web"), Pair("tier", "")));
  EXPECT_EQ(f.metadata().resource_version(), "12");
  EXPECT_EQ(f.spec().frontend().node_name(), "node-a");
  EXPECT_EQ(f.spec().frontend().address(), "192.0.2.1");
  EXPECT_EQ(f.spec().backend().node_name(), "node-b");
  EXPECT_EQ(f.spec().backend().address(), "10.8.0.2");
  EXPECT_EQ(f.spec().backend().return_via(), "10.8.0.1");
  ASSERT_EQ(f.spec().ports_size(), 2);
  EXPECT_EQ(f.spec().ports(0).protocol(), v1::TCP);
  EXPECT_EQ(f.spec().ports(0).port(), 80u);
  EXPECT_EQ(f.spec().ports(0).end_port(), 90u);
  EXPECT_EQ(f.spec().ports(0).target_port(), 8080u);
  EXPECT_EQ(f.spec().ports(1).protocol(), v1::UDP);
  EXPECT_EQ(f.spec().ports(1).port(), 53u);
  EXPECT_EQ(f.spec().ports(1).target_port(), 0u);
  EXPECT_EQ(f.spec().source_ip(), v1::MASQUERADE);
}

TEST(DecodeManifestsTest, RecordsSourceAndDocumentLine) {
  std::vector<ManifestObject> got = MustDecode(kWeb);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].source, "m.yaml");
  EXPECT_EQ(got[0].line, 1);
}

TEST(DecodeManifestsTest, LeavesAbsentSourceIPUnspecifiedWhichMeansPreserve) {
  std::vector<ManifestObject> got = MustDecode(kDns6);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().source_ip(), v1::SOURCE_IP_UNSPECIFIED);
}

TEST(DecodeManifestsTest, DecodesDriftPolicy) {
  std::string enforce = absl::StrCat(kDns6, "  driftPolicy: Enforce\n");
  std::string alert = absl::StrCat(kDns6, "  driftPolicy: Alert\n");
  std::vector<ManifestObject> got = MustDecode(enforce);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().drift_policy(), v1::ENFORCE);
  got = MustDecode(alert);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().drift_policy(), v1::ALERT);
}

TEST(DecodeManifestsTest, LeavesAbsentDriftPolicyUnspecifiedWhichMeansEnforce) {
  std::vector<ManifestObject> got = MustDecode(kDns6);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().drift_policy(), v1::DRIFT_POLICY_UNSPECIFIED);
}

TEST(DecodeManifestsTest, AcceptsIPv6Forward) {
  std::vector<ManifestObject> got = MustDecode(kDns6);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().frontend().address(), "2001:db8::1");
}

TEST(DecodeManifestsTest, DecodesNodeWithEmptySpec) {
  std::vector<ManifestObject> got = MustDecode(kNodeA);
  ASSERT_EQ(got.size(), 1u);
  ASSERT_TRUE(got[0].object.has_node());
  EXPECT_EQ(got[0].object.node().kind(), "Node");
  EXPECT_EQ(got[0].object.node().metadata().name(), "node-a");
  EXPECT_THAT(got[0].object.node().metadata().labels(), ElementsAre(Pair("zone", "fra1")));
}

TEST(DecodeManifestsTest, IgnoresStatusLikeKubectl) {
  std::string yaml = std::string(kNodeA) +
                     "status:\n  agentVersion: x\n  addresses: "
                     "[{interface: wg0, address: 10.8.0.1}]\n";
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_FALSE(got[0].object.node().has_status());
}

TEST(DecodeManifestsTest, DecodesDocumentsInOrderWithTheirStartLines) {
  std::string yaml =
      std::string(kNodeA) + "---\n" + std::string(kWeb) + "---\n" + std::string(kDns6);
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].object.node().metadata().name(), "node-a");
  EXPECT_EQ(got[1].object.ip_forward().metadata().name(), "web");
  EXPECT_EQ(got[2].object.ip_forward().metadata().name(), "dns6");
  EXPECT_EQ(got[0].line, 1);
  EXPECT_EQ(got[1].line, 7);  // the "---" before it
  EXPECT_EQ(got[2].line, 25);
}

TEST(DecodeManifestsTest, SkipsEmptyDocuments) {
  std::string yaml = "---\n---\n# only a comment\n---\n" + std::string(kNodeA) + "---\n...\n";
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.node().metadata().name(), "node-a");
}

TEST(DecodeManifestsTest, EmptyInputDecodesToNothing) {
  EXPECT_TRUE(MustDecode("").empty());
  EXPECT_TRUE(MustDecode("# nothing here\n").empty());
}

TEST(DecodeManifestsTest, AllowsTheSameNameForDifferentKinds) {
  std::string yaml =
      "apiVersion: ferry.dev/v1\nkind: Node\nmetadata: {name: web}\n---\n" + std::string(kWeb);
  EXPECT_EQ(MustDecode(yaml).size(), 2u);
}

TEST(DecodeManifestsTest, TreatsNullFieldsAsAbsent) {
  std::string yaml =
      "apiVersion: ferry.dev/v1\nkind: Node\nmetadata:\n  name: "
      "n\n  labels:\nspec:\n";
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(got[0].object.node().metadata().labels().empty());
}

TEST(DecodeManifestsTest, ResolvesSmallAliases) {
  std::string yaml = R"(apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: web}
spec:
  frontend: {nodeName: &n node-a, address: 192.0.2.1}
  backend: {nodeName: *n, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 80}]
)";
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.ip_forward().spec().backend().node_name(), "node-a");
}

TEST(DecodeManifestsTest, AcceptsPlainScalarsAsStrings) {
  // resourceVersion and label values are strings; an unquoted 12 is still "12".
  std::string yaml =
      "apiVersion: ferry.dev/v1\nkind: Node\nmetadata:\n  name: n\n"
      "  resourceVersion: 12\n  labels: {version: 1.10}\n";
  std::vector<ManifestObject> got = MustDecode(yaml);
  ASSERT_EQ(got.size(), 1u);
  EXPECT_EQ(got[0].object.node().metadata().resource_version(), "12");
  EXPECT_EQ(got[0].object.node().metadata().labels().at("version"), "1.10");
}

constexpr absl::string_view kEdge = R"(apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: edge}
spec:
  frontend:
    nodeSelector:
      matchLabels: {tier: edge}
      matchExpressions:
      - {key: region, operator: In, values: [eu, us]}
      - {key: draining, operator: DoesNotExist}
    interface: eth0
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 80, targetPort: 8080}]
  rollout: {maxUnavailable: 25%, progressDeadlineSeconds: 60}
)";

TEST(DecodeManifestsTest, DecodesANodeSelectorFrontendAndEncodesItBack) {
  std::vector<ManifestObject> objects = MustDecode(kEdge);
  ASSERT_EQ(objects.size(), 1u);
  const v1::Frontend& fe = objects[0].object.ip_forward().spec().frontend();
  EXPECT_TRUE(fe.node_name().empty());
  EXPECT_EQ(fe.interface(), "eth0");
  ASSERT_EQ(fe.node_selector().match_labels_size(), 1);
  EXPECT_EQ(fe.node_selector().match_labels(0).key(), "tier");
  EXPECT_EQ(fe.node_selector().match_labels(0).value(), "edge");
  ASSERT_EQ(fe.node_selector().match_expressions_size(), 2);
  EXPECT_EQ(fe.node_selector().match_expressions(0).operator_(), "In");
  EXPECT_THAT(fe.node_selector().match_expressions(0).values(), ElementsAre("eu", "us"));
  EXPECT_EQ(fe.node_selector().match_expressions(1).key(), "draining");
  EXPECT_EQ(objects[0].object.ip_forward().spec().rollout().max_unavailable(), "25%");
  EXPECT_EQ(objects[0].object.ip_forward().spec().rollout().progress_deadline_seconds(), 60u);
  // What get -o yaml writes applies back to the same spec.
  std::vector<ManifestObject> again = MustDecode(EncodeYaml(objects[0].object));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].object.ip_forward().spec().SerializeAsString(),
            objects[0].object.ip_forward().spec().SerializeAsString());
}

TEST(DecodeManifestsTest, ANodeSelectorTermsValuesMustBeAList) {
  std::string yaml(kEdge);
  yaml.replace(yaml.find("[eu, us]"), 8, "eu");
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(yaml, "m.yaml");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()),
              ::testing::HasSubstr("spec.frontend.nodeSelector.matchExpressions[0].values"));
}

TEST(DecodeManifestsTest, DecodesProbeAndRollbackAndEncodesThemBack) {
  std::string yaml(kEdge);
  yaml +=
      "  probe: {periodSeconds: 5, timeoutSeconds: 3, confirmSeconds: 20}\n"
      "  rollback: OnProbeFailure\n";
  std::vector<ManifestObject> objects = MustDecode(yaml);
  ASSERT_EQ(objects.size(), 1u);
  const v1::IPForwardSpec& spec = objects[0].object.ip_forward().spec();
  EXPECT_EQ(spec.probe().period_seconds(), 5u);
  EXPECT_EQ(spec.probe().timeout_seconds(), 3u);
  EXPECT_EQ(spec.probe().confirm_seconds(), 20u);
  EXPECT_EQ(spec.rollback(), v1::ON_PROBE_FAILURE);
  std::vector<ManifestObject> again = MustDecode(EncodeYaml(objects[0].object));
  ASSERT_EQ(again.size(), 1u);
  EXPECT_EQ(again[0].object.ip_forward().spec().SerializeAsString(), spec.SerializeAsString());
}

TEST(DecodeManifestsTest, BadProbeAndRollbackValuesNameTheField) {
  struct Case {
    const char* tail;
    const char* field;
  } cases[] = {
      {"  rollback: Sometimes\n", "spec.rollback"},
      {"  probe: {periodSeconds: 86401}\n", "spec.probe.periodSeconds"},
      {"  probe: {timeoutSeconds: 61}\n", "spec.probe.timeoutSeconds"},
      {"  probe: {confirmSeconds: -1}\n", "spec.probe.confirmSeconds"},
      {"  probe: {intervalSeconds: 5}\n", "spec.probe.intervalSeconds"},
  };
  for (const Case& c : cases) {
    absl::StatusOr<std::vector<ManifestObject>> got =
        DecodeManifests(std::string(kEdge) + c.tail, "m.yaml");
    ASSERT_FALSE(got.ok()) << c.tail;
    EXPECT_THAT(std::string(got.status().message()), ::testing::HasSubstr(c.field)) << c.tail;
  }
}

}  // namespace
}  // namespace ferry::api
