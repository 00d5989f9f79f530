// Every way a manifest can be rejected, with the exact position and field
// path the user sees.

#include <string>

#include "absl/strings/str_cat.h"
#include "api/lib/manifest.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::HasSubstr;

// Lines 1-5; spec fields start on line 6.
constexpr absl::string_view kHead =
    "apiVersion: ferry.dev/v1\n"
    "kind: IPForward\n"
    "metadata:\n"
    "  name: web\n"
    "spec:\n";
// Lines 6-7.
constexpr absl::string_view kEnds =
    "  frontend: {nodeName: node-a, address: 192.0.2.1}\n"
    "  backend: {nodeName: node-b, address: 10.8.0.2}\n";

// A forward whose spec is `spec` (starting on line 6).
std::string Spec(absl::string_view spec) { return absl::StrCat(kHead, spec); }
// A forward with valid endpoints and the given port entries (line 9 on).
std::string Ports(absl::string_view items) {
  return absl::StrCat(kHead, kEnds, "  ports:\n", items);
}
// A forward with the given metadata body (line 4 on) and a valid spec.
std::string Meta(absl::string_view meta) {
  return absl::StrCat("apiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n", meta, "spec:\n",
                      kEnds, "  ports: [{protocol: TCP, port: 80}]\n");
}
std::string Valid() { return Ports("  - {protocol: TCP, port: 80}\n"); }

std::string AliasBomb() {
  std::string y = "apiVersion: ferry.dev/v1\nkind: Node\nmetadata: {name: n}\nstatus:\n";
  absl::StrAppend(&y, "  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
  for (char c = 'b'; c <= 'f'; ++c) {
    absl::StrAppend(&y, "  ", std::string(1, c), ": &", std::string(1, c), " [");
    for (int i = 0; i < 10; ++i) absl::StrAppend(&y, i ? ", " : "", "*", std::string(1, c - 1));
    absl::StrAppend(&y, "]\n");
  }
  return y;
}

struct Case {
  std::string name;
  std::string yaml;
  std::string want;  // a fragment of the message, with position and path
};

void PrintTo(const Case& c, std::ostream* os) { *os << c.name; }

class RejectedManifestTest : public ::testing::TestWithParam<Case> {};

TEST_P(RejectedManifestTest, ReportsPositionFieldAndProblem) {
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(GetParam().yaml, "t.yaml");
  ASSERT_FALSE(got.ok()) << "accepted:\n" << GetParam().yaml;
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(got.status().message()), HasSubstr(GetParam().want));
}

const Case kCases[] = {
    // Syntax, reported with yaml-cpp's own message.
    {"UnclosedFlowList", "a: [1, 2\nb: 3\n", "t.yaml:2:2: end of sequence flow not found"},
    {"MapValueInPlainScalar", "a: b: c\n", "t.yaml:1:5: illegal map value"},
    {"UndefinedAlias", "a: *nope\n", "t.yaml:1:4: the referenced anchor is not defined"},
    {"TabIndentation", "a:\n\tb: 1\n", "t.yaml:2:3: illegal map value"},
    // Document shape.
    {"RootIsList", "- a\n- b\n", "t.yaml:1:1: a manifest must be a map with apiVersion, kind"},
    {"RootIsScalar", "hello\n", "t.yaml:1:1: a manifest must be a map"},
    {"MissingKind", "apiVersion: ferry.dev/v1\nmetadata: {name: a}\n",
     "t.yaml:1:1: kind: required; expected IPForward or Node"},
    {"UnknownKind", "apiVersion: ferry.dev/v1\nkind: Service\n",
     "t.yaml:2:7: kind: unknown kind \"Service\"; expected IPForward or Node"},
    {"KindIsMap", "kind: {a: b}\n", "t.yaml:1:7: kind: must be a string, got map"},
    {"WrongApiVersion", "apiVersion: v1\nkind: Node\nmetadata: {name: a}\n",
     "t.yaml:1:13: apiVersion: must be ferry.dev/v1, got \"v1\""},
    {"BadNodeSpecLabel",
     "apiVersion: ferry.dev/v1\nkind: Node\nmetadata: {name: a}\nspec:\n  labels: {tier: -x}\n",
     "t.yaml:5:18: spec.labels.tier: label value \"-x\" is invalid"},
    {"MissingApiVersion", "kind: Node\nmetadata: {name: a}\n",
     "t.yaml:1:1: apiVersion: required; set it to ferry.dev/v1"},
    // Unknown fields, at the key.
    {"UnknownTopLevelField", absl::StrCat(Valid(), "specs: {}\n"),
     "t.yaml:10:1: specs: unknown field \"specs\"; expected one of: "
     "apiVersion, kind, metadata, "
     "spec, status"},
    {"UnknownMetadataField", Meta("  name: web\n  namespace: x\n"),
     "t.yaml:5:3: metadata.namespace: unknown field \"namespace\""},
    {"UnknownSpecField", Spec("  frontnd: {}\n"),
     "t.yaml:6:3: spec.frontnd: unknown field \"frontnd\"; expected one of: "
     "frontend, backend, "
     "ports, sourceIP"},
    {"UnknownPortField", Ports("  - {protocol: TCP, port: 80, proto: UDP}\n"),
     "t.yaml:9:31: spec.ports[0].proto: unknown field \"proto\"; expected one "
     "of: protocol, "
     "port, endPort, targetPort"},
    {"NodeSpecField",
     "apiVersion: ferry.dev/v1\nkind: Node\nmetadata: {name: a}\nspec: {x: "
     "1}\n",
     "t.yaml:4:8: spec.x: unknown field \"x\"; expected one of: labels"},
    // Duplicate keys, which yaml-cpp itself would merge silently.
    {"DuplicateTopLevelKey", absl::StrCat(Valid(), "kind: Node\n"),
     "t.yaml:10:1: kind: duplicate key; first defined at line 2, column 1"},
    {"DuplicateLabelKey", Meta("  name: web\n  labels:\n    team: a\n    team: b\n"),
     "t.yaml:7:5: metadata.labels.team: duplicate key; first defined at line "
     "6, column 5"},
    {"DuplicatePortField", Ports("  - protocol: TCP\n    port: 80\n    port: 81\n"),
     "t.yaml:11:5: spec.ports[0].port: duplicate key; first defined at line "
     "10, column 5"},
    {"ComplexKey", "? [a]\n: b\n", "t.yaml:1:3: map keys must be non-empty strings"},
    // Wrong types, at the value.
    {"PortIsQuotedWord", Ports("  - {protocol: TCP, port: \"eighty\"}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be an integer, got string "
     "\"eighty\""},
    {"PortIsQuotedNumber", Ports("  - {protocol: TCP, port: \"80\"}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be an integer, got string \"80\""},
    {"PortIsPlainWord", Ports("  - {protocol: TCP, port: eighty}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be an integer, got string "
     "\"eighty\""},
    {"PortIsNegative", Ports("  - {protocol: TCP, port: -1}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be 1..65535, got -1"},
    {"PortIsFraction", Ports("  - {protocol: TCP, port: 1.5}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be an integer, got number \"1.5\""},
    {"LabelsIsList", Meta("  name: web\n  labels: [a]\n"),
     "t.yaml:5:11: metadata.labels: must be a map of strings, got list"},
    {"LabelValueIsMap", Meta("  name: web\n  labels: {team: {a: b}}\n"),
     "t.yaml:5:18: metadata.labels.team: must be a string, got map"},
    {"LabelValueIsNull", Meta("  name: web\n  labels:\n    team:\n"),
     "t.yaml:6:5: metadata.labels.team: must be a string, got null; write \"\" "
     "for empty"},
    {"PortsIsScalar", Spec(absl::StrCat(kEnds, "  ports: 80\n")),
     "t.yaml:8:10: spec.ports: must be a list, got number"},
    {"PortEntryIsScalar", Ports("  - 80\n"),
     "t.yaml:9:5: spec.ports[0]: must be a map, got number \"80\""},
    {"MetadataIsString", "apiVersion: ferry.dev/v1\nkind: Node\nmetadata: web\n",
     "t.yaml:3:11: metadata: must be a map, got string \"web\""},
    {"FrontendIsList", Spec("  frontend: [node-a]\n"),
     "t.yaml:6:13: spec.frontend: must be a map, got list"},
    {"NameIsMap", Meta("  name: {a: b}\n"), "t.yaml:4:9: metadata.name: must be a string, got map"},
    {"ProtocolLowercase", Ports("  - {protocol: tcp, port: 80}\n"),
     "t.yaml:9:16: spec.ports[0].protocol: must be TCP or UDP, got string "
     "\"tcp\""},
    {"SourceIPLowercase", Ports("  - {protocol: TCP, port: 80}\n  sourceIP: preserve\n"),
     "t.yaml:10:13: spec.sourceIP: must be Preserve or Masquerade, got string "
     "\"preserve\""},
    {"DriftPolicyLowercase", Ports("  - {protocol: TCP, port: 80}\n  driftPolicy: enforce\n"),
     "t.yaml:10:16: spec.driftPolicy: must be Enforce or Alert, got string "
     "\"enforce\""},
    {"DriftPolicyIsList", Ports("  - {protocol: TCP, port: 80}\n  driftPolicy: [Alert]\n"),
     "t.yaml:10:16: spec.driftPolicy: must be Enforce or Alert, got list"},
    {"EventIsNotApplied", "apiVersion: ferry.dev/v1\nkind: Event\nmetadata: {name: e}\n",
     "t.yaml:2:7: kind: Event is written by the controller; it cannot be "
     "applied"},
    {"StatusIsList", absl::StrCat(Valid(), "status: [a]\n"),
     "t.yaml:10:9: status: must be a map, got list"},
    {"UnsupportedTag", Ports("  - {protocol: TCP, port: !!int 80}\n"),
     "t.yaml:9:27: unsupported YAML tag \"tag:yaml.org,2002:int\""},
    {"BadCreationTimestamp", Meta("  name: web\n  creationTimestamp: yesterday\n"),
     "t.yaml:5:22: metadata.creationTimestamp: must be an RFC 3339 time"},
    // Missing required fields, at the nearest enclosing node.
    {"MissingMetadata", "apiVersion: ferry.dev/v1\nkind: Node\n",
     "t.yaml:1:1: metadata.name: required"},
    {"MissingName", Meta("  labels: {a: b}\n"), "t.yaml:4:3: metadata.name: required"},
    {"MissingFrontendNodeName", Spec("  frontend: {address: 192.0.2.1}\n"),
     "t.yaml:6:13: spec.frontend.nodeName: required"},
    {"MissingFrontendAddress", Spec("  frontend: {nodeName: node-a}\n"),
     "t.yaml:6:13: spec.frontend.address: required"},
    {"MissingBackendAddress",
     Spec("  frontend: {nodeName: node-a, address: 192.0.2.1}\n  backend: "
          "{nodeName: b}\n"),
     "t.yaml:7:12: spec.backend.address: required"},
    {"MissingBackendNodeForPreserve",
     Spec("  frontend: {nodeName: node-a, address: 192.0.2.1}\n  backend: "
          "{address: 10.8.0.2}\n"),
     "t.yaml:7:12: spec.backend.nodeName: required when sourceIP is Preserve"},
    {"MissingPorts", Spec(kEnds), "t.yaml:6:3: spec.ports: at least one port is required"},
    {"MissingProtocol", Ports("  - {port: 80}\n"), "t.yaml:9:5: spec.ports[0].protocol: required"},
    {"MissingPort", Ports("  - {protocol: UDP}\n"),
     "t.yaml:9:5: spec.ports[0].port: required; must be 1..65535, got 0 or nothing"},
    // Invalid values.
    {"UppercaseName", Meta("  name: Web\n"),
     "t.yaml:4:9: metadata.name: \"Web\" is not a valid name"},
    {"LongName", Meta(absl::StrCat("  name: ", std::string(64, 'a'), "\n")),
     "t.yaml:4:9: metadata.name: name must be at most 63 characters, got 64"},
    {"BadLabelKey", Meta("  name: web\n  labels: {\"a b\": x}\n"),
     "t.yaml:5:12: metadata.labels.a b: label key \"a b\" is invalid"},
    {"LongLabelValue",
     Meta(absl::StrCat("  name: web\n  labels: {a: ", std::string(64, 'v'), "}\n")),
     "t.yaml:5:12: metadata.labels.a: label value"},
    {"PortTooLarge", Ports("  - {protocol: TCP, port: 70000}\n"),
     "t.yaml:9:27: spec.ports[0].port: must be 1..65535, got 70000"},
    {"EndPortBelowPort", Ports("  - {protocol: TCP, port: 80, endPort: 70}\n"),
     "t.yaml:9:40: spec.ports[0].endPort: must be 0 (single port) or "
     "port..65535 (80..65535), "
     "got 70"},
    {"RangeTooLong", Ports("  - {protocol: TCP, port: 1000, endPort: 3000}\n"),
     "t.yaml:9:42: spec.ports[0].endPort: range 1000-3000 has 2001 ports; at "
     "most 1024"},
    {"TargetRangePast65535",
     Ports("  - {protocol: TCP, port: 80, endPort: 90, targetPort: 65530}\n"),
     "t.yaml:9:56: spec.ports[0].targetPort: range 65530-65540 ends past "
     "65535"},
    {"TargetPortTooLarge", Ports("  - {protocol: TCP, port: 80, targetPort: 65536}\n"),
     "t.yaml:9:43: spec.ports[0].targetPort: must be 0 (same as port) or "
     "1..65535, got 65536"},
    {"OverlappingPorts",
     Ports("  - {protocol: TCP, port: 80, endPort: 90}\n  - {protocol: TCP, "
           "port: 85}\n"),
     "t.yaml:10:5: spec.ports[1]: TCP 85 overlaps spec.ports[0] (TCP 80-90)"},
    {"InvalidAddress", Spec("  frontend: {nodeName: node-a, address: 192.0.2}\n"),
     "t.yaml:6:41: spec.frontend.address: \"192.0.2\" is not an IPv4 or IPv6 "
     "address"},
    {"MixedFamilies",
     Spec("  frontend: {nodeName: node-a, address: 192.0.2.1}\n"
          "  backend: {nodeName: node-b, address: 2001:db8::2}\n"),
     "t.yaml:7:40: spec.backend.address: 2001:db8::2 is IPv6 but "
     "spec.frontend.address 192.0.2.1 "
     "is IPv4; both must be the same family"},
    {"ReturnViaOtherFamily",
     Spec("  frontend: {nodeName: node-a, address: 192.0.2.1}\n"
          "  backend: {nodeName: node-b, address: 10.8.0.2, returnVia: "
          "\"fe80::1\"}\n"),
     "t.yaml:7:61: spec.backend.returnVia: fe80::1 is IPv6 but "
     "spec.backend.address 10.8.0.2 is "
     "IPv4"},
    {"LoopbackFrontend", Spec("  frontend: {nodeName: node-a, address: 127.0.0.1}\n"),
     "t.yaml:6:41: spec.frontend.address: 127.0.0.1 is a loopback address"},
    {"UnspecifiedBackend",
     Spec("  frontend: {nodeName: node-a, address: 192.0.2.1}\n  backend: "
          "{nodeName: b, address: 0.0.0.0}\n"),
     "t.yaml:7:35: spec.backend.address: 0.0.0.0 is the unspecified address"},
    {"MulticastFrontend", Spec("  frontend: {nodeName: node-a, address: 239.1.1.1}\n"),
     "t.yaml:6:41: spec.frontend.address: 239.1.1.1 is a multicast address"},
    {"InvalidNodeName", Spec("  frontend: {nodeName: Node_A, address: 192.0.2.1}\n"),
     "t.yaml:6:24: spec.frontend.nodeName: \"Node_A\" is not a valid name"},
    // Whole-stream checks.
    {"DuplicateNames", absl::StrCat(Valid(), "---\n", Valid()),
     "t.yaml:14:9: metadata.name: IPForward \"web\" is defined twice in this "
     "stream, at line 4 "
     "and at line 14"},
    {"ErrorInSecondDocument", absl::StrCat(Valid(), "---\nkind: Nod\n"),
     "t.yaml:11:7: kind: unknown kind \"Nod\""},
    {"InvalidUtf8", "kind: Node\nmetadata: {name: \xc3\x28}\n",
     "t.yaml:2:18: invalid UTF-8 (byte 0xc3)"},
    {"Utf16Bom", "\xff\xfek\x00", "t.yaml:1:1: invalid UTF-8 (byte 0xff)"},
    // Columns count characters: the two-byte é before the bad byte is one.
    {"InvalidUtf8AfterMultibyte", "kind: Node\nmetadata: {name: \"\xc3\xa9\", x: \xe2\x28}\n",
     "t.yaml:2:26: invalid UTF-8 (byte 0xe2)"},
    {"AliasBomb", AliasBomb(), "document expands to more than 100000 nodes"},
    {"AliasCycle", "a: &a [*a]\n", "t.yaml:1:8: an alias may not refer to a node that contains it"},
    {"DeepNesting", absl::StrCat("a: ", std::string(70, '['), std::string(70, ']'), "\n"),
     "t.yaml:1:67: nesting deeper than 64 levels"},
    {"OversizeDocument",
     absl::StrCat("kind: Node\nmetadata: {name: a, labels: {a: ", std::string(1100000, 'x'),
                  "}}\n"),
     "t.yaml:1:1: document is larger than 1048576 bytes"},
};

INSTANTIATE_TEST_SUITE_P(Manifests, RejectedManifestTest, ::testing::ValuesIn(kCases),
                         [](const auto& info) { return info.param.name; });

TEST(DecodeManifestsLimitsTest, RejectsInputOver32MiB) {
  std::string yaml(33u << 20, '#');
  absl::StatusOr<std::vector<ManifestObject>> got = DecodeManifests(yaml, "big.yaml");
  ASSERT_FALSE(got.ok());
  EXPECT_THAT(std::string(got.status().message()),
              HasSubstr("big.yaml:1:1: input is 34603008 bytes; the limit is 33554432"));
}

TEST(DecodeManifestsLimitsTest, ValidBaseManifestIsAccepted) {
  // The cases above each break one thing in these valid manifests.
  EXPECT_TRUE(DecodeManifests(Valid(), "t.yaml").ok());
  EXPECT_TRUE(DecodeManifests(Meta("  name: web\n"), "t.yaml").ok());
}

}  // namespace
}  // namespace ferry::api
