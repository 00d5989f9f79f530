#include "controller/cli/describe.h"

#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/cli/events.h"
#include "controller/cli/fields.h"
#include "controller/cli/table.h"

namespace ferry::cli {
namespace {

// "Key:" padded so values start at column `width` (counting the indent),
// as kubectl describe lines them up.
void Field(std::string& out, absl::string_view indent, absl::string_view key,
           absl::string_view value, size_t width = 14) {
  std::string line = absl::StrCat(indent, key, ":");
  line.append(line.size() < width ? width - line.size() : 1, ' ');
  absl::StrAppend(&out, line, value, "\n");
}

std::string Created(const ferry::v1::ObjectMeta& meta, absl::Time now) {
  const std::string when = FormatTimestamp(meta.creation_timestamp());
  if (!meta.has_creation_timestamp()) return when;
  return absl::StrCat(when, " (", Age(meta.creation_timestamp(), now), " ago)");
}

void Metadata(std::string& out, const ferry::v1::ObjectMeta& meta, absl::Time now) {
  Field(out, "", "Name", meta.name());
  Field(out, "", "Labels", FormatLabels(meta.labels()));
  Field(out, "", "Generation", absl::StrCat(meta.generation()));
  Field(out, "", "Created", Created(meta, now));
}

void ConditionsTable(std::string& out, absl::string_view indent, const Conditions& conditions,
                     absl::Time now) {
  if (conditions.empty()) {
    absl::StrAppend(&out, indent, "<none>\n");
    return;
  }
  std::vector<TableRow> rows = {{"TYPE", "STATUS", "REASON", "MESSAGE", "AGE"}};
  for (const ferry::v1::Condition& c : conditions) {
    rows.push_back({c.type(), c.status().empty() ? "Unknown" : c.status(), OrNone(c.reason()),
                    OrNone(c.message()), Age(c.last_transition_time(), now)});
  }
  absl::StrAppend(&out, FormatTable(rows, indent));
}

}  // namespace

std::string DescribeForward(const ferry::v1::IPForward& forward,
                            const std::vector<ferry::v1::Event>& events, absl::Time now) {
  const ferry::v1::IPForwardSpec& spec = forward.spec();
  const ferry::v1::IPForwardStatus& status = forward.status();
  std::string out;
  Metadata(out, forward.metadata(), now);
  absl::StrAppend(&out, "Spec:\n");
  constexpr size_t kSpecWidth = 16;  // fits "  Drift policy:"
  Field(out, "  ", "Frontend", FormatFrontend(spec.frontend()), kSpecWidth);
  Field(out, "  ", "Backend", FormatEndpoint(spec.backend().node_name(), spec.backend().address()),
        kSpecWidth);
  Field(out, "  ", "Ports", FormatPorts(spec, ", "), kSpecWidth);
  Field(out, "  ", "Source IP", SourceIPName(spec.source_ip()), kSpecWidth);
  Field(out, "  ", "Drift policy", DriftPolicyName(spec.drift_policy()), kSpecWidth);
  if (!spec.backend().return_via().empty()) {
    Field(out, "  ", "Return via", spec.backend().return_via(), kSpecWidth);
  }
  Field(out, "  ", "Rollback", api::RollbackPolicyName(spec.rollback()), kSpecWidth);
  absl::StrAppend(&out, "Status:\n");
  Field(out, "  ", "Observed Generation", absl::StrCat(status.observed_generation()), 24);
  absl::StrAppend(&out, "  Conditions:\n");
  ConditionsTable(out, "    ", status.conditions(), now);
  absl::StrAppend(&out, "  Nodes:\n");
  if (status.nodes().empty()) {
    absl::StrAppend(&out, "    <none>\n");
  } else {
    std::vector<TableRow> rows = {
        {"NAME", "ROLE", "STATE", "APPLIED-GENERATION", "DATA-PATH", "MESSAGE"}};
    for (const ferry::v1::NodeForwardStatus& n : status.nodes()) {
      const std::string& message = n.message().empty() ? n.data_path_message() : n.message();
      rows.push_back({n.name(), n.role(), n.state(), absl::StrCat(n.applied_generation()),
                      OrNone(n.data_path()), OrNone(message)});
    }
    absl::StrAppend(&out, FormatTable(rows, "    "));
  }
  Field(out, "  ", "Return via", OrNone(status.return_via()));
  if (status.rolled_back_to_generation() != 0) {
    Field(out, "  ", "Rolled back to generation", absl::StrCat(status.rolled_back_to_generation()));
  }
  absl::StrAppend(&out, DescribeEvents(events, now));
  return out;
}

std::string DescribeNode(const ferry::v1::Node& node, const std::vector<ferry::v1::Event>& events,
                         absl::Time now) {
  const ferry::v1::NodeStatus& status = node.status();
  std::string out;
  Metadata(out, node.metadata(), now);
  absl::StrAppend(&out, "Status:\n");
  absl::StrAppend(&out, "  Addresses:\n");
  if (status.addresses().empty()) {
    absl::StrAppend(&out, "    <none>\n");
  } else {
    std::vector<TableRow> rows = {{"INTERFACE", "ADDRESS"}};
    for (const ferry::v1::NodeAddress& a : status.addresses()) {
      rows.push_back({OrNone(a.interface()), absl::StrCat(a.address(), "/", a.prefix_length())});
    }
    absl::StrAppend(&out, FormatTable(rows, "    "));
  }
  absl::StrAppend(&out, "  Conditions:\n");
  ConditionsTable(out, "    ", status.conditions(), now);
  Field(out, "  ", "Agent Version", OrNone(status.agent_version()), 26);
  Field(out, "  ", "Applied Config Version", OrNone(status.applied_config_version()), 26);
  std::string last_seen = FormatTimestamp(status.last_seen());
  if (status.has_last_seen())
    absl::StrAppend(&last_seen, " (", Age(status.last_seen(), now), " ago)");
  Field(out, "  ", "Last Seen", last_seen, 26);
  absl::StrAppend(&out, DescribeEvents(events, now));
  return out;
}

std::string DescribeObject(const ferry::v1::Object& object,
                           const std::vector<ferry::v1::Event>& events, absl::Time now) {
  if (object.has_node()) return DescribeNode(object.node(), events, now);
  return DescribeForward(object.ip_forward(), events, now);
}

}  // namespace ferry::cli
