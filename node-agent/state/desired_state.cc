#include "node-agent/state/desired_state.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/lib/validation.h"

namespace ferry::agent {
namespace {

// Prefixes every error with the forward it belongs to, so a NACK tells the
// controller which IPForward to mark Failed.
absl::Status ForwardError(absl::string_view forward, absl::string_view field,
                          absl::string_view what) {
  return absl::InvalidArgumentError(absl::StrCat("forward \"", forward, "\": ", field, ": ", what));
}

absl::StatusOr<uint8_t> ProtoNumber(ferry::v1::Protocol protocol) {
  switch (protocol) {
    case ferry::v1::TCP:
      return kProtoTcp;
    case ferry::v1::UDP:
      return kProtoUdp;
    default:
      return absl::InvalidArgumentError(
          absl::StrCat("must be TCP or UDP, got ", ferry::v1::Protocol_Name(protocol)));
  }
}

absl::StatusOr<IpAddress> ParseAddress(absl::string_view forward, absl::string_view field,
                                       absl::string_view text) {
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text);
  if (!address.ok()) return ForwardError(forward, field, address.status().message());
  return address;
}

struct PortRange {
  uint16_t lo = 0;
  uint16_t hi = 0;
};

// end_port 0 means a single port.
absl::StatusOr<PortRange> ParseRange(absl::string_view forward, absl::string_view prefix,
                                     uint32_t port, uint32_t end_port) {
  if (port == 0 || port > 65535) {
    return ForwardError(forward, absl::StrCat(prefix, ".port"),
                        absl::StrCat("must be 1..65535, got ", port));
  }
  uint32_t hi = end_port == 0 ? port : end_port;
  if (hi < port || hi > 65535) {
    return ForwardError(forward, absl::StrCat(prefix, ".end_port"),
                        absl::StrCat("must be ", port, "..65535 or 0, got ", end_port));
  }
  if (hi - port + 1 > ferry::api::kMaxPortRange) {
    return ForwardError(
        forward, absl::StrCat(prefix, ".end_port"),
        absl::StrCat("range of ", hi - port + 1, " ports exceeds ", ferry::api::kMaxPortRange));
  }
  return PortRange{static_cast<uint16_t>(port), static_cast<uint16_t>(hi)};
}

absl::Status AddDnat(const ferry::v1::DnatRule& rule, int index, NatState& nat) {
  const std::string& fwd = rule.forward();
  const std::string prefix = absl::StrCat("dnat[", index, "]");
  absl::StatusOr<IpAddress> frontend =
      ParseAddress(fwd, absl::StrCat(prefix, ".frontend_address"), rule.frontend_address());
  if (!frontend.ok()) return frontend.status();
  absl::StatusOr<IpAddress> backend =
      ParseAddress(fwd, absl::StrCat(prefix, ".backend_address"), rule.backend_address());
  if (!backend.ok()) return backend.status();
  if (frontend->family() != backend->family()) {
    return ForwardError(
        fwd, absl::StrCat(prefix, ".backend_address"),
        absl::StrCat("\"", rule.backend_address(), "\" is not the same IP family as frontend \"",
                     rule.frontend_address(), "\""));
  }
  absl::StatusOr<uint8_t> proto = ProtoNumber(rule.protocol());
  if (!proto.ok()) {
    return ForwardError(fwd, absl::StrCat(prefix, ".protocol"), proto.status().message());
  }
  absl::StatusOr<PortRange> range = ParseRange(fwd, prefix, rule.port(), rule.end_port());
  if (!range.ok()) return range.status();
  // 0 means "same as the frontend port", as in PortMapping.
  uint32_t target = rule.target_port() == 0 ? rule.port() : rule.target_port();
  if (target + (range->hi - range->lo) > 65535) {
    return ForwardError(
        fwd, absl::StrCat(prefix, ".target_port"),
        absl::StrCat("range ", target, "..", target + (range->hi - range->lo), " goes past 65535"));
  }
  const std::string comment = ForwardComment(fwd);
  for (uint32_t port = range->lo; port <= range->hi; ++port) {
    const uint16_t target_port = static_cast<uint16_t>(target + (port - range->lo));
    DnatKey key{*frontend, *proto, static_cast<uint16_t>(port)};
    DnatTarget value{*backend, target_port, comment};
    auto [it, inserted] = nat.dnat.emplace(key, value);
    if (!inserted && (it->second.addr != value.addr || it->second.port != value.port)) {
      return ForwardError(fwd, absl::StrCat(prefix, ".port"),
                          absl::StrCat(rule.frontend_address(), " port ", port,
                                       " is already forwarded by ", it->second.comment));
    }
    if (rule.masquerade()) {
      nat.masq.emplace(MasqKey{*backend, *proto, target_port}, comment);
    }
  }
  return absl::OkStatus();
}

absl::Status AddReturn(const ferry::v1::ReturnRoute& route, int index,
                       std::vector<DesiredReturn>& returns) {
  const std::string& fwd = route.forward();
  const std::string prefix = absl::StrCat("return_routes[", index, "]");
  absl::StatusOr<IpAddress> source =
      ParseAddress(fwd, absl::StrCat(prefix, ".source_address"), route.source_address());
  if (!source.ok()) return source.status();
  absl::StatusOr<IpAddress> via = ParseAddress(fwd, absl::StrCat(prefix, ".via"), route.via());
  if (!via.ok()) return via.status();
  if (source->family() != via->family()) {
    return ForwardError(fwd, absl::StrCat(prefix, ".via"),
                        absl::StrCat("\"", route.via(), "\" is not the same IP family as source \"",
                                     route.source_address(), "\""));
  }
  absl::StatusOr<uint8_t> proto = ProtoNumber(route.protocol());
  if (!proto.ok()) {
    return ForwardError(fwd, absl::StrCat(prefix, ".protocol"), proto.status().message());
  }
  absl::StatusOr<PortRange> range = ParseRange(fwd, prefix, route.port(), route.end_port());
  if (!range.ok()) return range.status();
  returns.push_back(DesiredReturn{fwd, *source, *proto, range->lo, range->hi, *via});
  return absl::OkStatus();
}

}  // namespace

std::string ForwardComment(absl::string_view forward) {
  return absl::StrCat("ipforward/", forward);
}

std::string ForwardOfComment(absl::string_view comment) {
  constexpr absl::string_view kPrefix = "ipforward/";
  if (comment.substr(0, kPrefix.size()) != kPrefix) return "";
  return std::string(comment.substr(kPrefix.size()));
}

absl::StatusOr<DesiredState> BuildDesiredState(const ferry::v1::NodeConfig& config) {
  DesiredState state;
  state.nat.table_present = true;
  for (int i = 0; i < config.dnat_size(); ++i) {
    absl::Status status = AddDnat(config.dnat(i), i, state.nat);
    if (!status.ok()) return status;
    if (config.dnat(i).alert_only()) state.alert_forwards.insert(config.dnat(i).forward());
  }
  for (int i = 0; i < config.return_routes_size(); ++i) {
    absl::Status status = AddReturn(config.return_routes(i), i, state.returns);
    if (!status.ok()) return status;
    if (config.return_routes(i).alert_only()) {
      state.alert_forwards.insert(config.return_routes(i).forward());
    }
  }
  std::sort(state.returns.begin(), state.returns.end());
  state.returns.erase(std::unique(state.returns.begin(), state.returns.end()), state.returns.end());
  state.sysctls.ipv4_forwarding = config.ipv4_forwarding();
  state.sysctls.ipv6_forwarding = config.ipv6_forwarding();
  return state;
}

}  // namespace ferry::agent
