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

absl::StatusOr<IpAddress> ParseAddress(absl::string_view forward, absl::string_view prefix,
                                       absl::string_view field, absl::string_view text) {
  absl::StatusOr<IpAddress> address = IpAddress::Parse(text);
  if (!address.ok()) {
    return ForwardError(forward, absl::StrCat(prefix, field), address.status().message());
  }
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

// The field prefix is built only for an error: a cold sync expands every
// entry, and most are valid.
std::string DnatPrefix(int index) { return absl::StrCat("dnat[", index, "]"); }
std::string ReturnPrefix(int index) { return absl::StrCat("return_routes[", index, "]"); }

// Keeps the smallest forward name in `owner` and the others in `sharers`.
template <typename K>
void Share(const K& key, const std::string& comment, std::string& owner,
           std::map<K, std::vector<std::string>>& sharers) {
  if (comment == owner) return;
  std::string other = comment;
  if (comment < owner) std::swap(other, owner);
  // Kept sorted, so 100k forwards sharing one key (one backend behind many
  // frontends) cost O(log n) each instead of a scan: the scan made a cold
  // sync of such a config take 30 s.
  std::vector<std::string>& list = sharers[key];
  std::string name = ForwardOfComment(other);
  auto at = !list.empty() && list.back() < name ? list.end()
                                                : std::lower_bound(list.begin(), list.end(), name);
  if (at == list.end() || *at != name) list.insert(at, std::move(name));
}

absl::Status AddDnat(const ferry::v1::DnatRule& rule, int index, DesiredState& state) {
  NatState& nat = state.nat;
  absl::StatusOr<DnatExpansion> e = ExpandDnat(rule, index);
  if (!e.ok()) return e.status();
  const std::string& fwd = rule.forward();
  const std::string comment = ForwardComment(fwd);
  for (uint32_t port = e->lo; port <= e->hi; ++port) {
    const uint16_t target_port = e->TargetOf(port);
    DnatKey key{e->frontend, e->proto, static_cast<uint16_t>(port)};
    // Planned entries are sorted by forward, and keys often ascend with
    // them: appending behind the last key skips the tree search.
    auto it = !nat.dnat.empty() && nat.dnat.rbegin()->first < key ? nat.dnat.end()
                                                                  : nat.dnat.lower_bound(key);
    if (it != nat.dnat.end() && it->first == key) {
      if (it->second.addr != e->backend || it->second.port != target_port) {
        return ForwardError(fwd, absl::StrCat(DnatPrefix(index), ".port"),
                            absl::StrCat(rule.frontend_address(), " port ", port,
                                         " is already forwarded by ", it->second.comment));
      }
      Share(key, comment, it->second.comment, state.dnat_sharers);
    } else {
      nat.dnat.emplace_hint(it, key, DnatTarget{e->backend, target_port, comment});
    }
    if (e->masquerade) {
      auto [m, inserted] = nat.masq.emplace(MasqKey{e->backend, e->proto, target_port}, comment);
      if (!inserted) Share(m->first, comment, m->second, state.masq_sharers);
    }
  }
  return absl::OkStatus();
}

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
  absl::StatusOr<PortRange> range =
      ParseRange(fwd, DnatPrefix(index), rule.port(), rule.end_port());
  if (!range.ok()) return range.status();
  // 0 means "same as the frontend port", as in PortMapping. In 64 bits:
  // target_port is a uint32 on the wire, and a huge one must not wrap
  // around into a valid-looking port.
  const uint64_t target = rule.target_port() == 0 ? rule.port() : rule.target_port();
  const uint64_t target_last = target + (range->hi - range->lo);
  if (target_last > 65535) {
    return ForwardError(fwd, absl::StrCat(DnatPrefix(index), ".target_port"),
                        absl::StrCat("range ", target, "..", target_last, " goes past 65535"));
  }
  return DnatExpansion{*frontend,        *backend,  *proto,
                       range->lo,        range->hi, static_cast<uint16_t>(target),
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
  absl::StatusOr<PortRange> range = ParseRange(fwd, prefix, route.port(), route.end_port());
  if (!range.ok()) return range.status();
  return DesiredReturn{fwd, *source, *proto, range->lo, range->hi, *via};
}

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
    absl::Status status = AddDnat(config.dnat(i), i, state);
    if (!status.ok()) return status;
    if (config.dnat(i).alert_only()) state.alert_forwards.insert(config.dnat(i).forward());
  }
  for (int i = 0; i < config.return_routes_size(); ++i) {
    absl::StatusOr<DesiredReturn> ret = ExpandReturn(config.return_routes(i), i);
    if (!ret.ok()) return ret.status();
    state.returns.push_back(*std::move(ret));
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
