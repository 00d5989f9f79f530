#include <algorithm>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "api/lib/manifest.h"
#include "controller/cli/describe.h"
#include "controller/cli/printers.h"
#include "controller/cli/table.h"
#include "gmock/gmock.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  ts->set_seconds(absl::ToUnixSeconds(t));
}

void AddCondition(ferry::v1::IPForwardStatus* status, const std::string& type,
                  const std::string& value, const std::string& reason) {
  ferry::v1::Condition* c = status->add_conditions();
  c->set_type(type);
  c->set_status(value);
  c->set_reason(reason);
  c->set_message(type + " message");
  SetTime(c->mutable_last_transition_time(), kNow - absl::Minutes(3));
}

ferry::v1::Object Forward(const std::string& name) {
  ferry::v1::Object object;
  ferry::v1::IPForward* f = object.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name(name);
  f->mutable_metadata()->set_generation(3);
  (*f->mutable_metadata()->mutable_labels())["app"] = name;
  SetTime(f->mutable_metadata()->mutable_creation_timestamp(), kNow - absl::Minutes(5));
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f->mutable_spec()->mutable_backend()->set_node_name("node-b");
  f->mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  ferry::v1::PortMapping* p = f->mutable_spec()->add_ports();
  p->set_protocol(ferry::v1::TCP);
  p->set_port(80);
  p->set_target_port(8080);
  AddCondition(f->mutable_status(), "Accepted", "True", "Valid");
  AddCondition(f->mutable_status(), "Ready", "False", "NodePending");
  f->mutable_status()->set_return_via("10.8.0.1");
  ferry::v1::NodeForwardStatus* n = f->mutable_status()->add_nodes();
  n->set_name("node-a");
  n->set_role("Frontend");
  n->set_state("Applied");
  n->set_applied_generation(3);
  return object;
}

ferry::v1::Object Node(const std::string& name, int addresses) {
  ferry::v1::Object object;
  ferry::v1::Node* node = object.mutable_node();
  node->set_api_version("ferry.dev/v1");
  node->set_kind("Node");
  node->mutable_metadata()->set_name(name);
  SetTime(node->mutable_metadata()->mutable_creation_timestamp(), kNow - absl::Hours(50));
  for (int i = 0; i < addresses; ++i) {
    ferry::v1::NodeAddress* a = node->mutable_status()->add_addresses();
    a->set_interface("wg0");
    a->set_address("10.8.0." + std::to_string(i + 1));
    a->set_prefix_length(24);
  }
  ferry::v1::Condition* c = node->mutable_status()->add_conditions();
  c->set_type("Connected");
  c->set_status("True");
  node->mutable_status()->set_agent_version("0.1.0");
  node->mutable_status()->set_applied_config_version("3f2a");
  return object;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::vector<std::string> Columns(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

TEST(CliPrintersTest, ApplyLinesSayWhatADryRunWouldDoAndWhetherItWouldBeAccepted) {
  ferry::v1::ApplyResult result;
  result.set_kind("IPForward");
  result.set_name("web");
  result.set_outcome("created");
  EXPECT_EQ(ApplyResultLine(result, false), "ipforward/web created");
  EXPECT_EQ(ApplyResultLine(result, true), "ipforward/web created (dry run)");
  result.mutable_accepted()->set_status("True");
  result.mutable_accepted()->set_reason("Accepted");
  EXPECT_EQ(ApplyResultLine(result, true), "ipforward/web created (dry run): Accepted");
  result.mutable_accepted()->set_status("False");
  result.mutable_accepted()->set_reason("FrontendNodeNotRegistered");
  result.mutable_accepted()->set_message("spec.frontend.nodeName: node node-x is not registered");
  EXPECT_EQ(ApplyResultLine(result, true),
            "ipforward/web created (dry run): not accepted, FrontendNodeNotRegistered: "
            "spec.frontend.nodeName: node node-x is not registered");
}

TEST(CliPrintersTest, ForwardTableHasKubectlColumns) {
  std::string out = PrintObjects(OutputFormat::kTable, ferry::v1::IP_FORWARD, {Forward("web")},
                                 kNow, /*as_list=*/true);
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_THAT(Columns(lines[0]), ElementsAre("NAME", "FRONTEND", "BACKEND", "PORTS", "SOURCEIP",
                                             "READY", "VERIFIED", "DRIFTED", "AGE"));
  EXPECT_THAT(Columns(lines[1]),
              ElementsAre("web", "node-a/192.0.2.1", "node-b/10.8.0.2", "80→8080/TCP", "Preserve",
                          "False", "Unknown", "Unknown", "5m"));
}

TEST(CliPrintersTest, TableColumnsAlignAcrossRows) {
  std::string out = PrintObjects(OutputFormat::kTable, ferry::v1::IP_FORWARD,
                                 {Forward("web"), Forward("a-much-longer-name")}, kNow, true);
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 3u);
  const size_t frontend_column = lines[0].find("FRONTEND");
  EXPECT_EQ(lines[1].find("node-a/"), frontend_column);
  EXPECT_EQ(lines[2].find("node-a/"), frontend_column);
}

TEST(CliPrintersTest, WideForwardTableAddsStatusColumns) {
  std::string out =
      PrintObjects(OutputFormat::kWide, ferry::v1::IP_FORWARD, {Forward("web")}, kNow, true);
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(Columns(lines[0]),
              ElementsAre("NAME", "FRONTEND", "BACKEND", "PORTS", "SOURCEIP", "READY", "VERIFIED",
                          "DRIFTED", "AGE", "ACCEPTED", "REASON", "RETURN-VIA", "GENERATION"));
  EXPECT_THAT(
      Columns(lines[1]),
      ElementsAre("web", "node-a/192.0.2.1", "node-b/10.8.0.2", "80→8080/TCP", "Preserve", "False",
                  "Unknown", "Unknown", "5m", "True", "NodePending", "10.8.0.1", "3"));
}

TEST(CliPrintersTest, ForwardTableShowsTheDriftedCondition) {
  ferry::v1::Object object = Forward("web");
  AddCondition(object.mutable_ip_forward()->mutable_status(), "Drifted", "True", "DriftDetected");
  TableRow header = ForwardHeader(/*wide=*/true);
  TableRow row = ForwardRow(object.ip_forward(), kNow, /*wide=*/true);
  ASSERT_EQ(header.size(), row.size());
  const size_t drifted = std::find(header.begin(), header.end(), "DRIFTED") - header.begin();
  ASSERT_LT(drifted, header.size());
  EXPECT_EQ(row[drifted], "True");
}

TEST(CliPrintersTest, ForwardWithoutConditionsIsUnknown) {
  ferry::v1::Object object = Forward("web");
  object.mutable_ip_forward()->mutable_status()->clear_conditions();
  TableRow row = ForwardRow(object.ip_forward(), kNow, /*wide=*/true);
  EXPECT_EQ(row[5], "Unknown");  // READY
  EXPECT_EQ(row[6], "Unknown");  // VERIFIED
  EXPECT_EQ(row[7], "Unknown");  // DRIFTED
  EXPECT_EQ(row[9], "Unknown");  // ACCEPTED
  EXPECT_EQ(row[10], "<none>");  // REASON
}

TEST(CliPrintersTest, PortsShowRangesProtocolsAndSamePort) {
  ferry::v1::IPForwardSpec spec;
  ferry::v1::PortMapping* same = spec.add_ports();
  same->set_protocol(ferry::v1::TCP);
  same->set_port(443);
  ferry::v1::PortMapping* range = spec.add_ports();
  range->set_protocol(ferry::v1::UDP);
  range->set_port(8000);
  range->set_end_port(8009);
  range->set_target_port(9000);
  ferry::v1::Object object = Forward("web");
  *object.mutable_ip_forward()->mutable_spec()->mutable_ports() = spec.ports();
  EXPECT_EQ(ForwardRow(object.ip_forward(), kNow, false)[3], "443/TCP,8000-8009→9000-9009/UDP");
}

TEST(CliPrintersTest, MasqueradeForwardSaysSo) {
  ferry::v1::Object object = Forward("web");
  object.mutable_ip_forward()->mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  EXPECT_EQ(ForwardRow(object.ip_forward(), kNow, false)[4], "Masquerade");
}

TEST(CliPrintersTest, NodeTableShowsFirstAddressesAndCount) {
  std::string out =
      PrintObjects(OutputFormat::kTable, ferry::v1::NODE, {Node("node-a", 4)}, kNow, true);
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_THAT(Columns(lines[0]), ElementsAre("NAME", "CONNECTED", "ADDRESSES", "AGE"));
  EXPECT_THAT(Columns(lines[1]),
              ElementsAre("node-a", "True", "10.8.0.1/24,10.8.0.2/24", "+2", "more", "2d2h"));
}

TEST(CliPrintersTest, WideNodeTableAddsVersionsAndLabels) {
  ferry::v1::Object object = Node("node-a", 1);
  (*object.mutable_node()->mutable_metadata()->mutable_labels())["zone"] = "eu";
  (*object.mutable_node()->mutable_metadata()->mutable_labels())["role"] = "edge";
  TableRow header = NodeHeader(/*wide=*/true);
  TableRow row = NodeRow(object.node(), kNow, /*wide=*/true);
  EXPECT_THAT(header, ElementsAre("NAME", "CONNECTED", "ADDRESSES", "AGE", "AGENT-VERSION",
                                  "CONFIG-VERSION", "LABELS"));
  EXPECT_THAT(row, ElementsAre("node-a", "True", "10.8.0.1/24", "2d2h", "0.1.0", "3f2a",
                               "role=edge,zone=eu"));
}

TEST(CliPrintersTest, NamesPrintOneRefPerLine) {
  std::string out = PrintObjects(OutputFormat::kName, ferry::v1::IP_FORWARD,
                                 {Forward("a"), Forward("b")}, kNow, true);
  EXPECT_EQ(out, "ipforward/a\nipforward/b\n");
}

TEST(CliPrintersTest, EmptyTablePrintsNothing) {
  EXPECT_EQ(PrintObjects(OutputFormat::kTable, ferry::v1::NODE, {}, kNow, true), "");
}

TEST(CliPrintersTest, YamlSeparatesObjectsWithDocumentMarkers) {
  ferry::v1::Object a = Forward("a");
  ferry::v1::Object b = Forward("b");
  std::string out = PrintObjects(OutputFormat::kYaml, ferry::v1::IP_FORWARD, {a, b}, kNow, true);
  std::string first = api::EncodeYaml(a);
  std::string second = api::EncodeYaml(b);
  if (first.back() != '\n') first += "\n";
  if (second.back() != '\n') second += "\n";
  EXPECT_EQ(out, first + "---\n" + second);
}

TEST(CliPrintersTest, JsonListWrapsItemsInValidJson) {
  std::string out = PrintObjects(OutputFormat::kJson, ferry::v1::IP_FORWARD,
                                 {Forward("a"), Forward("b")}, kNow, /*as_list=*/true);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &parsed).ok()) << out;
  EXPECT_EQ(parsed.fields().at("kind").string_value(), "List");
  const google::protobuf::ListValue& items = parsed.fields().at("items").list_value();
  ASSERT_EQ(items.values_size(), 2);
  EXPECT_EQ(items.values(1)
                .struct_value()
                .fields()
                .at("metadata")
                .struct_value()
                .fields()
                .at("name")
                .string_value(),
            "b");
}

TEST(CliPrintersTest, EmptyJsonListIsValid) {
  std::string out = PrintObjects(OutputFormat::kJson, ferry::v1::IP_FORWARD, {}, kNow, true);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &parsed).ok()) << out;
  EXPECT_EQ(parsed.fields().at("items").list_value().values_size(), 0);
}

TEST(CliPrintersTest, SingleJsonObjectIsPrintedBare) {
  ferry::v1::Object a = Forward("a");
  std::string out = PrintObjects(OutputFormat::kJson, ferry::v1::IP_FORWARD, {a}, kNow, false);
  google::protobuf::Struct parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(out, &parsed).ok()) << out;
  EXPECT_EQ(parsed.fields().count("items"), 0u);
  EXPECT_EQ(parsed.fields().at("kind").string_value(), "IPForward");
}

TEST(CliPrintersTest, HumanDurationFollowsKubectl) {
  EXPECT_EQ(HumanDuration(absl::Seconds(45)), "45s");
  EXPECT_EQ(HumanDuration(absl::Seconds(330)), "5m30s");
  EXPECT_EQ(HumanDuration(absl::Minutes(17)), "17m");
  EXPECT_EQ(HumanDuration(absl::Minutes(185)), "3h5m");
  EXPECT_EQ(HumanDuration(absl::Hours(20)), "20h");
  EXPECT_EQ(HumanDuration(absl::Hours(51)), "2d3h");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 45)), "45d");
  EXPECT_EQ(HumanDuration(absl::Hours(24 * 365 * 3)), "3y");
}

TEST(CliPrintersTest, DescribeForwardShowsSpecAndStatusTables) {
  std::string out = DescribeForward(Forward("web").ip_forward(), {}, kNow);
  EXPECT_THAT(out, HasSubstr("Name:         web\n"));
  EXPECT_THAT(out, HasSubstr("Labels:       app=web\n"));
  EXPECT_THAT(out, HasSubstr("Generation:   3\n"));
  EXPECT_THAT(out, HasSubstr("(5m ago)"));
  EXPECT_THAT(out, HasSubstr("  Frontend:     node-a/192.0.2.1\n"));
  EXPECT_THAT(out, HasSubstr("  Backend:      node-b/10.8.0.2\n"));
  EXPECT_THAT(out, HasSubstr("  Ports:        80→8080/TCP\n"));
  EXPECT_THAT(out, HasSubstr("  Source IP:    Preserve\n"));
  EXPECT_THAT(out, HasSubstr("  Drift policy: Enforce\n"));
  std::vector<std::string> lines = absl::StrSplit(out, '\n');
  auto find_line = [&](absl::string_view prefix) {
    for (const std::string& line : lines) {
      if (absl::StartsWith(line, prefix)) return line;
    }
    return std::string();
  };
  EXPECT_THAT(Columns(find_line("    TYPE")),
              ElementsAre("TYPE", "STATUS", "REASON", "MESSAGE", "AGE"));
  EXPECT_THAT(Columns(find_line("    Ready")),
              ElementsAre("Ready", "False", "NodePending", "Ready", "message", "3m"));
  EXPECT_THAT(Columns(find_line("    NAME")),
              ElementsAre("NAME", "ROLE", "STATE", "APPLIED-GENERATION", "DATA-PATH", "MESSAGE"));
  EXPECT_THAT(Columns(find_line("    node-a")),
              ElementsAre("node-a", "Frontend", "Applied", "3", "<none>", "<none>"));
  EXPECT_THAT(out, HasSubstr("  Return via: 10.8.0.1\n"));
}

TEST(CliPrintersTest, DescribeNodeShowsAddressesConditionsAndVersions) {
  std::string out = DescribeNode(Node("node-a", 2).node(), {}, kNow);
  EXPECT_THAT(out, HasSubstr("Name:         node-a\n"));
  EXPECT_THAT(out, HasSubstr("wg0         10.8.0.2/24\n"));
  EXPECT_THAT(out, HasSubstr("Connected"));
  EXPECT_THAT(out, HasSubstr("Agent Version:          0.1.0\n"));
  EXPECT_THAT(out, HasSubstr("Applied Config Version: 3f2a\n"));
}

}  // namespace
}  // namespace ferry::cli
