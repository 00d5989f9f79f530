#include "api/lib/validation.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/strip.h"
#include "api/lib/ip_address.h"
#include "api/lib/port_mapping.h"

namespace ferry::api {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::Object;
using ferry::v1::ObjectMeta;
using ferry::v1::PortMapping;

constexpr uint32_t kMaxPort = 65535;
// DNS subdomain limit, for the optional "prefix/" of a label key.
constexpr size_t kMaxLabelPrefixLength = 253;

using Result = std::optional<FieldError>;

Result Fail(std::string path, std::string message) {
  return FieldError{std::move(path), std::move(message)};
}

Result FromStatus(std::string path, const absl::Status& s) {
  if (s.ok()) return std::nullopt;
  return Fail(std::move(path), std::string(s.message()));
}

bool IsAlnum(char c) { return absl::ascii_isdigit(c) || absl::ascii_isalpha(c); }
bool IsLowerAlnum(char c) { return absl::ascii_isdigit(c) || absl::ascii_islower(c); }

// Lowercase letters, digits, '-' and '.', starting and ending alphanumeric.
bool IsDnsSubdomain(absl::string_view s) {
  if (s.empty() || !IsLowerAlnum(s.front()) || !IsLowerAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsLowerAlnum(c) || c == '-' || c == '.'; });
}

// Letters, digits, '-', '_' and '.', starting and ending alphanumeric.
bool IsLabelToken(absl::string_view s) {
  if (s.empty() || !IsAlnum(s.front()) || !IsAlnum(s.back())) return false;
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return IsAlnum(c) || c == '-' || c == '_' || c == '.'; });
}

absl::Status TooLong(absl::string_view what, size_t max, size_t got) {
  return absl::InvalidArgumentError(
      absl::StrCat(what, " must be at most ", max, " characters, got ", got));
}

std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

std::string FamilyName(const IpAddress& a) { return a.is_v4() ? "IPv4" : "IPv6"; }

// What makes `a` unusable as a forwarding endpoint, or "" if nothing.
std::string EndpointProblem(const IpAddress& a) {
  const uint8_t* b = a.data();
  bool all_zero = std::all_of(b, b + a.size(), [](uint8_t x) { return x == 0; });
  if (all_zero) return "the unspecified address";
  if (a.is_v4()) {
    if (b[0] == 127) return "a loopback address";
    if ((b[0] & 0xf0) == 0xe0) return "a multicast address";
    if (b[0] == 255 && b[1] == 255 && b[2] == 255 && b[3] == 255) return "the broadcast address";
    return "";
  }
  if (b[0] == 0xff) return "a multicast address";
  bool loopback = std::all_of(b, b + 15, [](uint8_t x) { return x == 0; }) && b[15] == 1;
  if (loopback) return "a loopback address";
  return "";
}

// Parses a required unicast address; `what` explains the field when absent.
Result CheckEndpoint(const std::string& path, const std::string& text, absl::string_view what,
                     IpAddress* out) {
  if (text.empty()) return Fail(path, absl::StrCat("required; ", what));
  absl::StatusOr<IpAddress> a = IpAddress::Parse(text);
  if (!a.ok()) return Fail(path, std::string(a.status().message()));
  if (std::string problem = EndpointProblem(*a); !problem.empty()) {
    return Fail(path, absl::StrCat(text, " is ", problem, "; use a unicast address"));
  }
  *out = *a;
  return std::nullopt;
}

Result SameFamily(const std::string& path, const std::string& text, const IpAddress& a,
                  const std::string& other_path, const std::string& other_text,
                  const IpAddress& other) {
  if (a.family() == other.family()) return std::nullopt;
  return Fail(path, absl::StrCat(text, " is ", FamilyName(a), " but ", other_path, " ", other_text,
                                 " is ", FamilyName(other), "; both must be the same family"));
}

Result CheckNodeName(const std::string& path, const std::string& name, absl::string_view what) {
  if (name.empty()) return Fail(path, absl::StrCat("required; ", what));
  return FromStatus(path, ValidateName(name));
}

Result CheckLabels(absl::string_view at,
                   const google::protobuf::Map<std::string, std::string>& map) {
  // Sorted, so the reported label does not depend on map iteration order.
  std::vector<std::pair<std::string, std::string>> labels(map.begin(), map.end());
  std::sort(labels.begin(), labels.end());
  for (const auto& [key, value] : labels) {
    std::string path = absl::StrCat(at, ".", key);
    if (Result r = FromStatus(path, ValidateLabelKey(key))) return r;
    if (Result r = FromStatus(path, ValidateLabelValue(value))) return r;
  }
  return std::nullopt;
}

Result CheckMeta(const ObjectMeta& meta) {
  if (meta.name().empty()) {
    return Fail("metadata.name", "required; a lowercase name such as \"web\"");
  }
  if (Result r = FromStatus("metadata.name", ValidateName(meta.name()))) return r;
  return CheckLabels("metadata.labels", meta.labels());
}

Result CheckTypeMeta(const std::string& api_version, const std::string& kind,
                     absl::string_view want_kind) {
  if (api_version.empty()) {
    return Fail("apiVersion", absl::StrCat("required; set it to ", kApiVersion));
  }
  if (api_version != kApiVersion) {
    return Fail("apiVersion", absl::StrCat("must be ", kApiVersion, ", got ", Quote(api_version)));
  }
  if (kind != want_kind) {
    return Fail("kind", absl::StrCat("must be ", want_kind, " for this object, got ", Quote(kind)));
  }
  return std::nullopt;
}

std::string RangeText(const PortMapping& p) {
  std::string proto = v1::Protocol_Name(p.protocol());
  const PortSpan span = ExpandPorts(p);
  if (!span.is_range()) return absl::StrCat(proto, " ", span.first);
  return absl::StrCat(proto, " ", span.first, "-", span.last);
}

Result CheckPort(const std::string& path, const PortMapping& p) {
  if (p.protocol() == v1::PROTOCOL_UNSPECIFIED) {
    return Fail(path + ".protocol", "required; TCP or UDP");
  }
  if (p.protocol() != v1::TCP && p.protocol() != v1::UDP) {
    return Fail(path + ".protocol", absl::StrCat("must be TCP or UDP, got ", p.protocol()));
  }
  if (p.port() < 1 || p.port() > kMaxPort) {
    // 0 is also what a missing port decodes to.
    return Fail(path + ".port", p.port() == 0 ? "required; must be 1..65535, got 0 or nothing"
                                              : absl::StrCat("must be 1..65535, got ", p.port()));
  }
  if (p.end_port() != 0) {
    if (p.end_port() < p.port() || p.end_port() > kMaxPort) {
      return Fail(path + ".endPort", absl::StrCat("must be 0 (single port) or port..65535 (",
                                                  p.port(), "..65535), got ", p.end_port()));
    }
    uint32_t count = p.end_port() - p.port() + 1;
    if (count > kMaxPortRange) {
      return Fail(path + ".endPort",
                  absl::StrCat("range ", p.port(), "-", p.end_port(), " has ", count,
                               " ports; at most ", kMaxPortRange, " are allowed"));
    }
  }
  if (p.target_port() != 0) {
    if (p.target_port() > kMaxPort) {
      return Fail(path + ".targetPort",
                  absl::StrCat("must be 0 (same as port) or 1..65535, got ", p.target_port()));
    }
    const uint64_t target_last = ExpandPorts(p).target_last;
    if (target_last > kMaxPort) {
      return Fail(path + ".targetPort",
                  absl::StrCat("range ", p.target_port(), "-", target_last,
                               " ends past 65535; lower targetPort or shorten the range"));
    }
  }
  return std::nullopt;
}

// Two entries for the same protocol and port would make the kernel map
// ambiguous. Sorting keeps this O(n log n) for requests from the wire.
Result CheckOverlaps(const google::protobuf::RepeatedPtrField<PortMapping>& ports) {
  struct Span {
    int protocol;
    uint32_t first, last;
    int index;
  };
  std::vector<Span> spans;
  for (int i = 0; i < ports.size(); ++i) {
    const PortMapping& p = ports[i];
    spans.push_back({p.protocol(), p.port(), LastPort(p.port(), p.end_port()), i});
  }
  std::sort(spans.begin(), spans.end(), [](const Span& a, const Span& b) {
    return std::tie(a.protocol, a.first, a.index) < std::tie(b.protocol, b.first, b.index);
  });
  for (size_t i = 1, widest = 0; i < spans.size(); ++i) {
    const Span& prev = spans[widest];
    const Span& cur = spans[i];
    if (prev.protocol == cur.protocol && cur.first <= prev.last) {
      int later = std::max(prev.index, cur.index), earlier = std::min(prev.index, cur.index);
      return Fail(absl::StrCat("spec.ports[", later, "]"),
                  absl::StrCat(RangeText(ports[later]), " overlaps spec.ports[", earlier, "] (",
                               RangeText(ports[earlier]),
                               "); each protocol and port may be forwarded once"));
    }
    if (prev.protocol != cur.protocol || cur.last > prev.last) widest = i;
  }
  return std::nullopt;
}

Result CheckNodeSelector(const v1::NodeSelector& selector) {
  const std::string at = "spec.frontend.nodeSelector";
  if (selector.match_labels().empty() && selector.match_expressions().empty()) {
    return Fail(at,
                "give at least one of matchLabels and matchExpressions (an empty selector "
                "would select every node)");
  }
  for (int i = 0; i < selector.match_labels_size(); ++i) {
    const v1::LabelPair& label = selector.match_labels(i);
    const std::string path = absl::StrCat(at, ".matchLabels.", label.key());
    if (Result r = FromStatus(path, ValidateLabelKey(label.key()))) return r;
    if (Result r = FromStatus(path, ValidateLabelValue(label.value()))) return r;
    if (i > 0 && selector.match_labels(i - 1).key() >= label.key()) {
      return Fail(path, "keys must be unique and in order (as a YAML manifest decodes them)");
    }
  }
  for (int i = 0; i < selector.match_expressions_size(); ++i) {
    const v1::LabelSelectorRequirement& term = selector.match_expressions(i);
    const std::string path = absl::StrCat(at, ".matchExpressions[", i, "]");
    if (term.key().empty()) return Fail(path + ".key", "required; the label key to test");
    if (Result r = FromStatus(path + ".key", ValidateLabelKey(term.key()))) return r;
    const std::string& op = term.operator_();
    const bool with_values = op == "In" || op == "NotIn";
    if (!with_values && op != "Exists" && op != "DoesNotExist") {
      return Fail(path + ".operator",
                  absl::StrCat("must be In, NotIn, Exists or DoesNotExist, got ", Quote(op)));
    }
    if (with_values && term.values().empty()) {
      return Fail(path + ".values", absl::StrCat("at least one value is required with ", op));
    }
    if (!with_values && !term.values().empty()) {
      return Fail(path + ".values", absl::StrCat("must be empty with ", op));
    }
    for (int j = 0; j < term.values_size(); ++j) {
      if (Result r = FromStatus(absl::StrCat(path, ".values[", j, "]"),
                                ValidateLabelValue(term.values(j)))) {
        return r;
      }
    }
  }
  return std::nullopt;
}

// The frontend's nodes (a name or a selector) and its address (given, or
// with a selector, taken from each node's `interface`). Sets *fe_addr when
// an address is given.
Result CheckFrontend(const v1::Frontend& fe, IpAddress* fe_addr, bool* has_addr) {
  *has_addr = false;
  if (fe.has_node_selector()) {
    if (!fe.node_name().empty()) {
      return Fail("spec.frontend.nodeSelector", "give nodeName or nodeSelector, not both");
    }
    if (Result r = CheckNodeSelector(fe.node_selector())) return r;
    if (!fe.address().empty() && !fe.interface().empty()) {
      return Fail("spec.frontend.interface",
                  "give address (held by every selected node) or interface (each node's own "
                  "address on it), not both");
    }
    if (fe.address().empty()) {
      if (fe.interface().empty()) {
        return Fail("spec.frontend.address",
                    "required with nodeSelector, unless spec.frontend.interface names the "
                    "interface whose address each selected node serves on");
      }
      if (fe.interface().size() > 15 ||
          fe.interface().find_first_of("/ \t\n") != std::string::npos) {
        return Fail("spec.frontend.interface",
                    absl::StrCat(Quote(fe.interface()),
                                 " is not an interface name (at most 15 characters, no '/' "
                                 "or spaces)"));
      }
      return std::nullopt;
    }
  } else {
    if (Result r = CheckNodeName("spec.frontend.nodeName", fe.node_name(),
                                 "the node whose address clients connect to (or give "
                                 "nodeSelector)")) {
      return r;
    }
    if (!fe.interface().empty()) {
      return Fail("spec.frontend.interface",
                  "only with nodeSelector; with nodeName, give the address");
    }
  }
  if (Result r = CheckEndpoint("spec.frontend.address", fe.address(),
                               "the frontend node's address that clients connect to", fe_addr)) {
    return r;
  }
  *has_addr = true;
  return std::nullopt;
}

Result CheckForward(const IPForward& f) {
  if (Result r = CheckTypeMeta(f.api_version(), f.kind(), "IPForward")) return r;
  if (Result r = CheckMeta(f.metadata())) return r;
  const auto& spec = f.spec();
  const auto& fe = spec.frontend();
  const auto& be = spec.backend();
  IpAddress fe_addr, be_addr;
  bool has_fe_addr = false;
  if (Result r = CheckFrontend(fe, &fe_addr, &has_fe_addr)) return r;
  if (spec.source_ip() != v1::SOURCE_IP_UNSPECIFIED && spec.source_ip() != v1::PRESERVE &&
      spec.source_ip() != v1::MASQUERADE) {
    return Fail("spec.sourceIP",
                absl::StrCat("must be Preserve or Masquerade, got ", spec.source_ip()));
  }
  if (spec.drift_policy() != v1::DRIFT_POLICY_UNSPECIFIED && spec.drift_policy() != v1::ENFORCE &&
      spec.drift_policy() != v1::ALERT) {
    return Fail("spec.driftPolicy",
                absl::StrCat("must be Enforce or Alert, got ", spec.drift_policy()));
  }
  bool preserve = spec.source_ip() != v1::MASQUERADE;
  if (preserve && be.node_name().empty()) {
    return Fail("spec.backend.nodeName",
                "required when sourceIP is Preserve, "
                "because the backend node must route "
                "replies back through the frontend; "
                "set it, or use sourceIP: Masquerade");
  }
  if (!be.node_name().empty()) {
    if (Result r = FromStatus("spec.backend.nodeName", ValidateName(be.node_name()))) return r;
  }
  if (Result r = CheckEndpoint("spec.backend.address", be.address(),
                               "the address the backend serves on", &be_addr)) {
    return r;
  }
  // Without an address, each node serves on its own of the backend's family.
  if (has_fe_addr) {
    if (Result r = SameFamily("spec.backend.address", be.address(), be_addr,
                              "spec.frontend.address", fe.address(), fe_addr)) {
      return r;
    }
  }
  if (!be.return_via().empty() && fe.has_node_selector()) {
    return Fail("spec.backend.returnVia",
                "not with spec.frontend.nodeSelector: each selected node's return hop is "
                "discovered from its own route to the backend");
  }
  if (!be.return_via().empty()) {
    IpAddress via;
    if (Result r = CheckEndpoint("spec.backend.returnVia", be.return_via(), "", &via)) return r;
    if (Result r = SameFamily("spec.backend.returnVia", be.return_via(), via,
                              "spec.backend.address", be.address(), be_addr)) {
      return r;
    }
  }
  if (spec.has_rollout()) {
    if (absl::StatusOr<MaxUnavailable> m = ParseMaxUnavailable(spec.rollout().max_unavailable());
        !m.ok()) {
      return Fail("spec.rollout.maxUnavailable", std::string(m.status().message()));
    }
    if (spec.rollout().progress_deadline_seconds() > 86400) {
      return Fail("spec.rollout.progressDeadlineSeconds",
                  absl::StrCat("must be 0 (30 s) or 1..86400, got ",
                               spec.rollout().progress_deadline_seconds()));
    }
  }
  if (spec.probe().period_seconds() > 86400) {
    return Fail("spec.probe.periodSeconds",
                absl::StrCat("must be 0 (the agent's --probe-period) or 1..86400, got ",
                             spec.probe().period_seconds()));
  }
  if (spec.probe().timeout_seconds() > 60) {
    return Fail("spec.probe.timeoutSeconds",
                absl::StrCat("must be 0 (2 s) or 1..60, got ", spec.probe().timeout_seconds()));
  }
  if (spec.probe().confirm_seconds() > 3600) {
    return Fail("spec.probe.confirmSeconds",
                absl::StrCat("must be 0 (10 s) or 1..3600, got ", spec.probe().confirm_seconds()));
  }
  if (spec.rollback() != v1::ROLLBACK_POLICY_UNSPECIFIED && spec.rollback() != v1::NEVER &&
      spec.rollback() != v1::ON_PROBE_FAILURE) {
    return Fail("spec.rollback",
                absl::StrCat("must be Never or OnProbeFailure, got ", spec.rollback()));
  }
  if (spec.ports().empty()) {
    return Fail("spec.ports", "at least one port is required, e.g. [{protocol: TCP, port: 80}]");
  }
  if (spec.ports().size() > static_cast<int>(kMaxPortMappings)) {
    return Fail("spec.ports",
                absl::StrCat("at most ", kMaxPortMappings, " entries, got ", spec.ports().size()));
  }
  for (int i = 0; i < spec.ports().size(); ++i) {
    if (Result r = CheckPort(absl::StrCat("spec.ports[", i, "]"), spec.ports(i))) return r;
  }
  return CheckOverlaps(spec.ports());
}

Result CheckNode(const Node& n) {
  if (Result r = CheckTypeMeta(n.api_version(), n.kind(), "Node")) return r;
  if (Result r = CheckMeta(n.metadata())) return r;
  return CheckLabels("spec.labels", n.spec().labels());
}

absl::Status ToStatus(const Result& r) {
  if (!r) return absl::OkStatus();
  return absl::InvalidArgumentError(absl::StrCat(r->path, ": ", r->message));
}

}  // namespace

absl::StatusOr<MaxUnavailable> ParseMaxUnavailable(absl::string_view text) {
  MaxUnavailable out;
  if (text.empty()) return out;  // the default: one node at a time
  absl::string_view digits = text;
  out.percent = absl::ConsumeSuffix(&digits, "%");
  uint32_t n = 0;
  if (digits.empty() || !std::all_of(digits.begin(), digits.end(), absl::ascii_isdigit) ||
      !absl::SimpleAtoi(digits, &n) || n == 0 || (out.percent && n > 100)) {
    return absl::InvalidArgumentError(
        absl::StrCat("must be a count of nodes (1, 2, ...) or a percentage of them (1% to "
                     "100%), got ",
                     Quote(text)));
  }
  out.value = n;
  return out;
}

uint32_t MaxUnavailable::Of(size_t nodes) const {
  if (!percent) return value;
  // Rounded down, as a Deployment's, but never below one node.
  return std::max<uint32_t>(1, static_cast<uint32_t>(nodes * value / 100));
}

absl::Status ValidateName(absl::string_view name) {
  if (name.size() > kMaxNameLength) return TooLong("name", kMaxNameLength, name.size());
  if (!IsDnsSubdomain(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat(Quote(name),
                     " is not a valid name: use lowercase letters, digits, '-' and '.', "
                     "starting and ending with a letter or digit"));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabelKey(absl::string_view key) {
  absl::string_view name = key;
  if (size_t slash = key.find('/'); slash != absl::string_view::npos) {
    absl::string_view prefix = key.substr(0, slash);
    name = key.substr(slash + 1);
    if (prefix.size() > kMaxLabelPrefixLength || !IsDnsSubdomain(prefix)) {
      return absl::InvalidArgumentError(
          absl::StrCat("label key ", Quote(key), " has an invalid prefix ", Quote(prefix),
                       ": the prefix must be a lowercase DNS name such as \"example.com\""));
    }
  }
  if (name.size() > kMaxNameLength) {
    return TooLong(absl::StrCat("label key ", Quote(key)), kMaxNameLength, name.size());
  }
  if (!IsLabelToken(name)) {
    return absl::InvalidArgumentError(
        absl::StrCat("label key ", Quote(key),
                     " is invalid: use letters, digits, '-', '_' and '.', "
                     "starting and ending with a "
                     "letter or digit, with an optional \"prefix/\""));
  }
  return absl::OkStatus();
}

absl::Status ValidateLabelValue(absl::string_view value) {
  if (value.size() > kMaxNameLength) {
    return TooLong(absl::StrCat("label value ", Quote(value.substr(0, 20)), "..."), kMaxNameLength,
                   value.size());
  }
  if (!value.empty() && !IsLabelToken(value)) {
    return absl::InvalidArgumentError(
        absl::StrCat("label value ", Quote(value),
                     " is invalid: use letters, digits, '-', '_' and '.', "
                     "starting and ending with a "
                     "letter or digit, or leave it empty"));
  }
  return absl::OkStatus();
}

std::optional<FieldError> FindFieldError(const Object& object) {
  switch (object.kind_case()) {
    case Object::kIpForward:
      return CheckForward(object.ip_forward());
    case Object::kNode:
      return CheckNode(object.node());
    case Object::kEvent:
      // The server records events itself; a client may not write them.
      return Fail("kind",
                  "events are written by the controller; they cannot be "
                  "applied");
    case Object::KIND_NOT_SET:
      break;
  }
  return Fail("kind", "required; expected IPForward or Node");
}

absl::Status ValidateObject(const Object& object) { return ToStatus(FindFieldError(object)); }
absl::Status ValidateIPForward(const IPForward& forward) { return ToStatus(CheckForward(forward)); }
absl::Status ValidateNode(const Node& node) { return ToStatus(CheckNode(node)); }

}  // namespace ferry::api
