#include "controller/cli/fields.h"

#include <algorithm>
#include <map>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/port_mapping.h"

namespace ferry::cli {
namespace {

std::string PortRange(uint32_t first, uint64_t last) {
  if (last == first) return absl::StrCat(first);
  return absl::StrCat(first, "-", last);
}

}  // namespace

std::string FormatEndpoint(absl::string_view node, absl::string_view address) {
  if (node.empty()) return std::string(address);
  return absl::StrCat(node, "/", address);
}

std::string FormatFrontend(const ferry::v1::Frontend& frontend) {
  if (!frontend.has_node_selector())
    return FormatEndpoint(frontend.node_name(), frontend.address());
  const ferry::v1::NodeSelector& selector = frontend.node_selector();
  std::vector<std::string> terms;
  for (const ferry::v1::LabelPair& label : selector.match_labels()) {
    terms.push_back(absl::StrCat(label.key(), "=", label.value()));
  }
  for (const ferry::v1::LabelSelectorRequirement& term : selector.match_expressions()) {
    const std::string values = absl::StrJoin(term.values(), ",");
    if (term.operator_() == "In") terms.push_back(absl::StrCat(term.key(), " in (", values, ")"));
    if (term.operator_() == "NotIn") {
      terms.push_back(absl::StrCat(term.key(), " notin (", values, ")"));
    }
    if (term.operator_() == "Exists") terms.push_back(term.key());
    if (term.operator_() == "DoesNotExist") terms.push_back(absl::StrCat("!", term.key()));
  }
  return absl::StrCat("[", absl::StrJoin(terms, ","), "]/",
                      frontend.address().empty() ? frontend.interface() : frontend.address());
}

std::string FormatPorts(const ferry::v1::IPForwardSpec& spec, absl::string_view separator) {
  std::vector<std::string> parts;
  for (const ferry::v1::PortMapping& p : spec.ports()) {
    const std::string protocol = p.protocol() == ferry::v1::UDP ? "UDP" : "TCP";
    const api::PortSpan span = api::ExpandPorts(p);
    std::string text = PortRange(span.first, span.last);
    if (span.target_first != span.first) {
      absl::StrAppend(&text, "→", PortRange(span.target_first, span.target_last));
    }
    parts.push_back(absl::StrCat(text, "/", protocol));
  }
  return parts.empty() ? "<none>" : absl::StrJoin(parts, separator);
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
