#include "node-agent/state/desired_state.h"

#include <algorithm>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "api/lib/port_mapping.h"
#include "api/lib/protocol.h"
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
  if (const uint8_t number = ferry::api::IpProtocolOf(protocol); number != 0) return number;
  return absl::InvalidArgumentError(
      absl::StrCat("must be TCP or UDP, got ", ferry::v1::Protocol_Name(protocol)));
}

absl::StatusOr<IpAddress> ParseAddress(absl::string_view forward, absl::string_view prefix,
                                       absl::string_view field, absl::string_view text) {
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text);
  if (!address.ok()) {
    return ForwardError(forward, absl::StrCat(prefix, field), address.status().message());
  }
  return address;
}

// The entry's ports as api::ExpandPorts reads them, once they are valid:
// errors name the field, where ExpandPorts would quietly take an end_port
// below port as a single port.
template <typename Entry>
absl::StatusOr<ferry::api::PortSpan> CheckedPorts(const Entry& entry, absl::string_view prefix) {
  const uint32_t port = entry.port();
  const uint32_t end_port = entry.end_port();
  if (port == 0 || port > 65535) {
    return ForwardError(entry.forward(), absl::StrCat(prefix, ".port"),
                        absl::StrCat("must be 1..65535, got ", port));
  }
  if (end_port != 0 && (end_port < port || end_port > 65535)) {
    return ForwardError(entry.forward(), absl::StrCat(prefix, ".end_port"),
                        absl::StrCat("must be ", port, "..65535 or 0, got ", end_port));
  }
  const ferry::api::PortSpan span = ferry::api::ExpandPorts(entry);
  if (span.count() > ferry::api::kMaxPortRange) {
    return ForwardError(
        entry.forward(), absl::StrCat(prefix, ".end_port"),
        absl::StrCat("range of ", span.count(), " ports exceeds ", ferry::api::kMaxPortRange));
  }
  return span;
}

// The field prefix is built only for an error: a cold sync expands every
// entry, and most are valid.
std::string DnatPrefix(int index) { return absl::StrCat("dnat[", index, "]"); }
std::string ReturnPrefix(int index) { return absl::StrCat("return_routes[", index, "]"); }

}  // namespace

absl::StatusOr<DnatExpansion> ExpandDnat(const ferry::v1::DnatRule& rule, int index) {
  const std::string& fwd = rule.forward();
  absl::StatusOr<IpAddress> frontend = IpAddress::Parse(rule.frontend_address());
  if (!frontend.ok()) {
    return ForwardError(fwd, absl::StrCat(DnatPrefix(index), ".frontend_address"),
                        frontend.status().message());
  }
  absl::StatusOr<IpAddress> backend = IpAddress::Parse(rule.backend_address());
  if (!backend.ok()) {
    return ForwardError(fwd, absl::StrCat(DnatPrefix(index), ".backend_address"),
                        backend.status().message());
  }
  if (frontend->family() != backend->family()) {
    return ForwardError(
        fwd, absl::StrCat(DnatPrefix(index), ".backend_address"),
        absl::StrCat("\"", rule.backend_address(), "\" is not the same IP family as frontend \"",
                     rule.frontend_address(), "\""));
  }
  absl::StatusOr<uint8_t> proto = ProtoNumber(rule.protocol());
  if (!proto.ok()) {
    return ForwardError(fwd, absl::StrCat(DnatPrefix(index), ".protocol"),
                        proto.status().message());
  }
  absl::StatusOr<ferry::api::PortSpan> span = CheckedPorts(rule, DnatPrefix(index));
  if (!span.ok()) return span.status();
  // target_last is 64-bit: target_port is a uint32 on the wire, and a huge
  // one must not wrap around into a valid-looking port.
  if (span->target_last > 65535) {
    return ForwardError(
        fwd, absl::StrCat(DnatPrefix(index), ".target_port"),
        absl::StrCat("range ", span->target_first, "..", span->target_last, " goes past 65535"));
  }
  return DnatExpansion{*frontend,
                       *backend,
                       *proto,
                       static_cast<uint16_t>(span->first),
                       static_cast<uint16_t>(span->last),
                       static_cast<uint16_t>(span->target_first),
                       rule.masquerade()};
}

absl::StatusOr<DesiredReturn> ExpandReturn(const ferry::v1::ReturnRoute& route, int index) {
  const std::string& fwd = route.forward();
  const std::string prefix = ReturnPrefix(index);
  absl::StatusOr<IpAddress> source =
      ParseAddress(fwd, prefix, ".source_address", route.source_address());
  if (!source.ok()) return source.status();
  absl::StatusOr<IpAddress> via = ParseAddress(fwd, prefix, ".via", route.via());
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
  absl::StatusOr<ferry::api::PortSpan> span = CheckedPorts(route, prefix);
  if (!span.ok()) return span.status();
  // IFNAMSIZ less its NUL: what the kernel and the mark map hold.
  if (route.in_interface().size() > kMaxInterfaceName) {
    return ForwardError(fwd, absl::StrCat(prefix, ".in_interface"),
                        absl::StrCat("\"", route.in_interface(), "\" is longer than 15 bytes"));
  }
  return DesiredReturn{fwd,
                       *source,
                       *proto,
                       static_cast<uint16_t>(span->first),
                       static_cast<uint16_t>(span->last),
                       *via,
                       route.in_interface()};
}

absl::Status ClaimDnatElements(const ferry::v1::DnatRule& rule, int index, ElementOwners& owners) {
  absl::StatusOr<DnatExpansion> e = ExpandDnat(rule, index);
  if (!e.ok()) return e.status();
  if (rule.route_query()) return absl::OkStatus();  // installs nothing (see RouteSourceMonitor)
  const std::string comment = ForwardComment(rule.forward());
  for (uint32_t port = e->lo; port <= e->hi; ++port) {
    const uint16_t target_port = e->TargetOf(port);
    absl::Status claimed =
        owners.ClaimDnat(DnatKey{e->frontend, e->proto, static_cast<uint16_t>(port)}, e->backend,
                         target_port, comment, rule, index);
    if (!claimed.ok()) return claimed;
    if (e->masquerade) owners.ClaimMasq(MasqKey{e->backend, e->proto, target_port}, comment);
  }
  return absl::OkStatus();
}

void ReleaseDnatElements(const ferry::v1::DnatRule& rule, ElementOwners& owners) {
  absl::StatusOr<DnatExpansion> e = ExpandDnat(rule, 0);
  if (!e.ok() || rule.route_query()) return;
  for (uint32_t port = e->lo; port <= e->hi; ++port) {
    owners.ReleaseDnat(DnatKey{e->frontend, e->proto, static_cast<uint16_t>(port)}, rule.forward());
    if (e->masquerade)
      owners.ReleaseMasq(MasqKey{e->backend, e->proto, e->TargetOf(port)}, rule.forward());
  }
}

absl::StatusOr<DesiredState> BuildDesiredState(const ferry::v1::NodeConfig& config,
                                               const std::set<std::string>& left_out) {
  DesiredState state;
  state.nat.table_present = true;
  ElementOwners owners(&state.nat, &state.sharers);
  auto skip = [&left_out](const std::string& forward) {
    return !left_out.empty() && left_out.contains(forward);
  };
  for (int i = 0; i < config.dnat_size(); ++i) {
    const ferry::v1::DnatRule& rule = config.dnat(i);
    if (skip(rule.forward())) continue;
    if (absl::Status status = ClaimDnatElements(rule, i, owners); !status.ok()) return status;
    if (rule.alert_only()) state.alert_forwards.insert(rule.forward());
  }
  for (int i = 0; i < config.return_routes_size(); ++i) {
    const ferry::v1::ReturnRoute& route = config.return_routes(i);
    if (skip(route.forward())) continue;
    absl::StatusOr<DesiredReturn> ret = ExpandReturn(route, i);
    if (!ret.ok()) return ret.status();
    state.returns.push_back(*std::move(ret));
    if (route.alert_only()) state.alert_forwards.insert(route.forward());
  }
  std::sort(state.returns.begin(), state.returns.end());
  state.returns.erase(std::unique(state.returns.begin(), state.returns.end()), state.returns.end());
  state.sysctls.ipv4_forwarding = config.ipv4_forwarding();
  state.sysctls.ipv6_forwarding = config.ipv6_forwarding();
  return state;
}

}  // namespace ferry::agent
