#include "controller/security/admission.h"

#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "controller/security/cidr.h"

namespace ferry::controller {
namespace {

// An IPv4-mapped IPv6 address (::ffff:a.b.c.d) reaches the IPv4 host, so it
// is judged as that IPv4 address.
IpAddress Unmapped(const IpAddress& address) {
  static constexpr uint8_t kMappedPrefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
  if (address.is_v4() || std::memcmp(address.data(), kMappedPrefix, 12) != 0) return address;
  return IpAddress::FromBytes(Family::kIPv4, address.data() + 12);
}

struct SpecialRange {
  const char* cidr;
  const char* what;    // "is <what>"
  bool never_unicast;  // multicast and friends: no host answers there
};

// Address ranges no backend may be in, whatever the deny list says.
constexpr SpecialRange kSpecialRanges[] = {
    {"0.0.0.0/8", "unspecified", true},
    {"127.0.0.0/8", "loopback", false},
    {"169.254.0.0/16", "link-local", false},
    {"224.0.0.0/4", "multicast", true},
    {"255.255.255.255/32", "broadcast", true},
    {"::/128", "unspecified", true},
    {"::1/128", "loopback", false},
    {"fe80::/10", "link-local", false},
    {"ff00::/8", "multicast", true},
};

constexpr char kBackendRule[] = "a backend may not be loopback, link-local or in the deny list";

// The special ranges, parsed once.
const std::vector<std::pair<Cidr, const SpecialRange*>>& SpecialCidrs() {
  static const auto* cidrs = [] {
    auto* out = new std::vector<std::pair<Cidr, const SpecialRange*>>;
    for (const SpecialRange& range : kSpecialRanges) {
      out->emplace_back(*ParseCidr(range.cidr), &range);
    }
    return out;
  }();
  return *cidrs;
}

absl::Status BackendError(absl::string_view text, absl::string_view why, absl::string_view rule) {
  return absl::InvalidArgumentError(
      absl::StrCat("spec.backend.address: ", text, " ", why, "; ", rule));
}

}  // namespace

Admission::Admission(AdmissionPolicy policy) : policy_(std::move(policy)) {
  invalid_ = ValidateAdmissionPolicy(policy_);
  if (!invalid_.ok()) {
    invalid_ = absl::InternalError(absl::StrCat("admission policy: ", invalid_.message()));
    return;
  }
  for (const std::string& text : policy_.backend_deny_cidrs)
    backend_deny_.push_back(*ParseCidr(text));
  for (const auto& [node, cidrs] : policy_.claimable_addresses) {
    std::vector<Cidr>& parsed = claimable_[node];
    for (const std::string& text : cidrs) parsed.push_back(*ParseCidr(text));
  }
}

absl::Status Admission::Check(const ferry::v1::IPForward& forward, const NodeLookup& nodes) const {
  if (!invalid_.ok()) return invalid_;
  const ferry::v1::IPForwardSpec& spec = forward.spec();

  // 1. Reserved ports, on every address of every node: sshd and the
  // controller listen on the wildcard address.
  for (int i = 0; i < spec.ports_size(); ++i) {
    const ferry::v1::PortMapping& p = spec.ports(i);
    const uint32_t first = p.port();
    const uint32_t last = p.end_port() == 0 ? p.port() : p.end_port();
    auto it = policy_.reserved_ports.lower_bound(first);
    if (it == policy_.reserved_ports.end() || *it > last) continue;
    std::string message =
        absl::StrCat("spec.ports[", i, "].port: port ", *it, " is reserved on ",
                     spec.frontend().has_node_selector() ? std::string("every node")
                                                         : spec.frontend().node_name());
    if (last != first) absl::StrAppend(&message, " (the range ", first, "-", last, " includes it)");
    return absl::InvalidArgumentError(message);
  }
  if (absl::Status s = CheckBackend(spec.backend()); !s.ok()) return s;
  if (absl::Status s = CheckReturnVia(spec, nodes); !s.ok()) return s;
  return CheckClaimable(spec.frontend());
}

// 2. The backend must be an ordinary unicast address outside the deny list.
absl::Status Admission::CheckBackend(const ferry::v1::Backend& spec) const {
  const std::string& text = spec.address();
  absl::StatusOr<IpAddress> parsed = IpAddress::Parse(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.backend.address: ", parsed.status().message()));
  }
  const IpAddress backend = Unmapped(*parsed);
  for (const auto& [cidr, range] : SpecialCidrs()) {
    if (!cidr.Contains(backend)) continue;
    return BackendError(
        text, absl::StrCat("is ", range->what),
        range->never_unicast ? "a backend must be a unicast address" : kBackendRule);
  }
  for (size_t i = 0; i < backend_deny_.size(); ++i) {
    if (backend_deny_[i].Contains(backend) || backend_deny_[i].Contains(*parsed)) {
      return BackendError(text,
                          absl::StrCat("is in the deny list (", policy_.backend_deny_cidrs[i], ")"),
                          kBackendRule);
    }
  }
  return absl::OkStatus();
}

// 3. returnVia steers the backend's replies: it must be the frontend node's
// own address, or replies meant for another host could be captured.
absl::Status Admission::CheckReturnVia(const ferry::v1::IPForwardSpec& spec,
                                       const NodeLookup& nodes) const {
  const std::string& return_via = spec.backend().return_via();
  if (return_via.empty()) return absl::OkStatus();
  const std::string& node_name = spec.frontend().node_name();
  absl::StatusOr<IpAddress> via = IpAddress::Parse(return_via);
  if (!via.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.backend.returnVia: ", via.status().message()));
  }
  std::optional<ferry::v1::Node> node = nodes ? nodes(node_name) : std::nullopt;
  std::vector<std::string> reported;
  if (node.has_value()) {
    for (const ferry::v1::NodeAddress& a : node->status().addresses()) {
      absl::StatusOr<IpAddress> address = IpAddress::Parse(a.address());
      if (address.ok() && *address == *via) return absl::OkStatus();
      reported.push_back(a.address());
    }
  }
  std::string message =
      absl::StrCat("spec.backend.returnVia: ", return_via, " is not an address of ", node_name);
  if (reported.empty()) {
    absl::StrAppend(&message, " (", node_name, " has not reported its addresses yet)");
  } else {
    absl::StrAppend(&message, " (it reports ", absl::StrJoin(reported, ", "), ")");
  }
  return absl::InvalidArgumentError(message);
}

// 4. A per-node allow-list, when the policy has one for this node.
absl::Status Admission::CheckClaimable(const ferry::v1::Frontend& frontend) const {
  if (frontend.has_node_selector() && !claimable_.empty()) {
    // Which nodes a selector claims on changes with their labels, after
    // this check: the per-node allow-lists could be bypassed.
    return absl::InvalidArgumentError(
        "spec.frontend.nodeSelector: the admission policy limits the addresses forwards may "
        "claim per node (claimableAddresses), which a selector's nodes cannot be checked "
        "against; name the node with nodeName");
  }
  auto allowed = claimable_.find(frontend.node_name());
  if (allowed == claimable_.end()) return absl::OkStatus();
  const std::string& text = frontend.address();
  absl::StatusOr<IpAddress> parsed = IpAddress::Parse(text);
  if (!parsed.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("spec.frontend.address: ", parsed.status().message()));
  }
  const IpAddress address = Unmapped(*parsed);
  for (const Cidr& cidr : allowed->second) {
    if (cidr.Contains(address) || cidr.Contains(*parsed)) return absl::OkStatus();
  }
  const std::vector<std::string>& texts = policy_.claimable_addresses.at(frontend.node_name());
  return absl::InvalidArgumentError(
      absl::StrCat("spec.frontend.address: ", text, " is not claimable on ", frontend.node_name(),
                   " (allowed: ", texts.empty() ? "none" : absl::StrJoin(texts, ", "), ")"));
}

absl::Status ValidateAdmissionPolicy(const AdmissionPolicy& policy) {
  for (uint32_t port : policy.reserved_ports) {
    if (port < 1 || port > 65535) {
      return absl::InvalidArgumentError(
          absl::StrCat("reservedPorts: ", port, " is not a port; ports are 1..65535"));
    }
  }
  for (size_t i = 0; i < policy.backend_deny_cidrs.size(); ++i) {
    absl::StatusOr<Cidr> cidr = ParseCidr(policy.backend_deny_cidrs[i]);
    if (!cidr.ok()) {
      return absl::InvalidArgumentError(
          absl::StrCat("backendDeny[", i, "]: ", cidr.status().message()));
    }
  }
  for (const auto& [node, cidrs] : policy.claimable_addresses) {
    for (size_t i = 0; i < cidrs.size(); ++i) {
      absl::StatusOr<Cidr> cidr = ParseCidr(cidrs[i]);
      if (!cidr.ok()) {
        return absl::InvalidArgumentError(absl::StrCat("nodes.", node, ".claimableAddresses[", i,
                                                       "]: ", cidr.status().message()));
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace ferry::controller
