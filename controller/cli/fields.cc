#include "controller/cli/fields.h"

#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace ferry::cli {
namespace {

std::string PortRange(uint32_t first, uint32_t end_port) {
  if (end_port == 0 || end_port == first) return absl::StrCat(first);
  return absl::StrCat(first, "-", end_port);
}

}  // namespace

const ferry::v1::Condition* FindCondition(const Conditions& conditions, absl::string_view type) {
  for (const ferry::v1::Condition& condition : conditions) {
    if (absl::EqualsIgnoreCase(condition.type(), type)) return &condition;
  }
  return nullptr;
}

std::string ConditionStatus(const Conditions& conditions, absl::string_view type) {
  const ferry::v1::Condition* condition = FindCondition(conditions, type);
  if (condition == nullptr || condition->status().empty()) return "Unknown";
  return condition->status();
}

std::string FormatEndpoint(absl::string_view node, absl::string_view address) {
  if (node.empty()) return std::string(address);
  return absl::StrCat(node, "/", address);
}

std::string FormatPorts(const ferry::v1::IPForwardSpec& spec, absl::string_view separator) {
  std::vector<std::string> parts;
  for (const ferry::v1::PortMapping& p : spec.ports()) {
    const std::string protocol = p.protocol() == ferry::v1::UDP ? "UDP" : "TCP";
    std::string text = PortRange(p.port(), p.end_port());
    if (p.target_port() != 0 && p.target_port() != p.port()) {
      const uint32_t target_end =
          p.end_port() > p.port() ? p.target_port() + (p.end_port() - p.port()) : 0;
      absl::StrAppend(&text, "→", PortRange(p.target_port(), target_end));
    }
    parts.push_back(absl::StrCat(text, "/", protocol));
  }
  return parts.empty() ? "<none>" : absl::StrJoin(parts, separator);
}

std::string SourceIPName(ferry::v1::SourceIP source_ip) {
  return source_ip == ferry::v1::MASQUERADE ? "Masquerade" : "Preserve";
}

std::string DriftPolicyName(ferry::v1::DriftPolicy policy) {
  return policy == ferry::v1::ALERT ? "Alert" : "Enforce";
}

std::string FormatLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.empty()) return "<none>";
  const std::map<std::string, std::string> sorted(labels.begin(), labels.end());
  return absl::StrJoin(sorted, ",", absl::PairFormatter("="));
}

std::string FormatAddresses(
    const google::protobuf::RepeatedPtrField<ferry::v1::NodeAddress>& addresses, size_t max_shown) {
  if (addresses.empty()) return "<none>";
  std::vector<std::string> shown;
  for (const ferry::v1::NodeAddress& a : addresses) {
    if (shown.size() == max_shown) break;
    shown.push_back(absl::StrCat(a.address(), "/", a.prefix_length()));
  }
  std::string text = absl::StrJoin(shown, ",");
  const size_t rest = addresses.size() - shown.size();
  if (rest > 0) absl::StrAppend(&text, " +", rest, " more");
  return text;
}

}  // namespace ferry::cli
