#include "controller/planner/planner.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/ip_address.h"
#include "api/lib/port_mapping.h"
#include "api/lib/selector.h"
#include "controller/planner/conflicts.h"
#include "controller/planner/node_plan.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForward;
using ferry::v1::Node;
using ferry::v1::NodeAddress;
using ferry::v1::NodeConfig;

// The entry of `node` whose address equals `address`, compared as values.
std::optional<NodeAddress> FindAddress(const Node& node, const std::string& address) {
  absl::StatusOr<IpAddress> wanted = IpAddress::Parse(address);
  if (!wanted.ok()) return std::nullopt;
  for (const NodeAddress& a : node.status().addresses()) {
    absl::StatusOr<IpAddress> have = IpAddress::Parse(a.address());
    if (have.ok() && *have == *wanted) return a;
  }
  return std::nullopt;
}

// The source of the frontend's own route to the backend address, as its
// agent reported it: what the backend sees the frontend's packets come
// from, so the hop to return replies to, even when the two sit on
// different networks of a tunnel.
std::optional<IpAddress> ReportedReturnVia(const Node& frontend, const IpAddress& backend) {
  for (const ferry::v1::RouteSource& r : frontend.status().route_sources()) {
    absl::StatusOr<IpAddress> destination = IpAddress::Parse(r.destination());
    if (!destination.ok() || *destination != backend) continue;
    absl::StatusOr<IpAddress> source = IpAddress::Parse(r.source());
    if (source.ok() && source->family() == backend.family()) return *source;
  }
  return std::nullopt;
}

// The backend's interface whose network holds `via` (the longest prefix):
// where the frontend's requests arrive, so what the backend marks them by.
std::string InterfaceToward(const Node& backend, const IpAddress& via) {
  const NodeAddress* best = nullptr;
  for (const NodeAddress& a : backend.status().addresses()) {
    absl::StatusOr<IpAddress> own = IpAddress::Parse(a.address());
    if (!own.ok() || *own == via || !own->SameNetwork(via, a.prefix_length())) continue;
    if (best == nullptr || a.prefix_length() > best->prefix_length()) best = &a;
  }
  return best == nullptr ? std::string() : best->interface();
}

// The frontend's address inside the backend entry's network: the hop the
// backend can reach directly. The smallest match wins, so the choice does
// not depend on the order the agent reported its addresses in.
std::optional<IpAddress> DiscoverReturnVia(const Node& frontend, const NodeAddress& backend) {
  absl::StatusOr<IpAddress> net = IpAddress::Parse(backend.address());
  if (!net.ok()) return std::nullopt;
  std::optional<IpAddress> best;
  for (const NodeAddress& a : frontend.status().addresses()) {
    absl::StatusOr<IpAddress> candidate = IpAddress::Parse(a.address());
    if (!candidate.ok() || *candidate == *net) continue;
    if (!net->SameNetwork(*candidate, backend.prefix_length())) continue;
    if (!best || *candidate < *best) best = *candidate;
  }
  return best;
}

ForwardResolution Reject(const char* reason, std::string message) {
  ForwardResolution r;
  r.reason = reason;
  r.MutableExtra().message = std::move(message);
  return r;
}

// The selected nodes of a forward: its nodeName's, or every registered node
// its nodeSelector matches, in name order.
std::vector<const Node*> FrontendNodes(const ferry::v1::Frontend& frontend,
                                       const std::map<std::string, const Node*>& nodes) {
  std::vector<const Node*> selected;
  if (!frontend.has_node_selector()) {
    if (auto it = nodes.find(frontend.node_name()); it != nodes.end()) {
      selected.push_back(it->second);
    }
    return selected;
  }
  const api::LabelSelector selector = api::FromNodeSelector(frontend.node_selector());
  for (const auto& [name, node] : nodes) {
    if (api::Matches(selector, node->metadata().labels())) selected.push_back(node);
  }
  return selected;
}

// The address `node` serves the forward on: the given one, if the node has
// it; else, with an interface, its lowest address there of the backend's
// family. Empty, with why in *why, if neither.
std::string FrontendAddress(const ferry::v1::Frontend& frontend, const IpAddress& backend,
                            const Node& node, std::string* why) {
  const std::string& name = node.metadata().name();
  if (!frontend.address().empty()) {
    // CVE-2020-8554: a forward may claim only an address its node really
    // has, or any user could intercept traffic for someone else's IP.
    if (FindAddress(node, frontend.address())) return frontend.address();
    *why = absl::StrCat("spec.frontend.address: ", frontend.address(),
                        " is not an address of node ", name);
    return "";
  }
  std::optional<IpAddress> best;
  for (const NodeAddress& a : node.status().addresses()) {
    if (a.interface() != frontend.interface()) continue;
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(a.address());
    if (!ip.ok() || ip->family() != backend.family()) continue;
    if (!best || *ip < *best) best = *ip;
  }
  if (best) return best->ToString();
  *why = absl::StrCat("spec.frontend.interface: node ", name, " has no ",
                      backend.is_v4() ? "IPv4" : "IPv6", " address on ", frontend.interface());
  return "";
}

// A rejection naming what kept every selected node from serving (its route
// queries stay: they are how a hop becomes known).
ForwardResolution RejectSkipped(ForwardResolution r) {
  ForwardResolution::Extra& extra = r.MutableExtra();
  const SkippedNode& first = extra.skipped.front();
  r.accepted = false;
  r.reason = first.reason;
  extra.message = first.message;
  if (extra.skipped.size() > 1) {
    absl::StrAppend(&extra.message, " (and ", extra.skipped.size() - 1, " more selected node(s))");
  }
  extra.frontends = std::vector<FrontendEnd>();
  return r;
}

// The return hop of one Preserve frontend: returnVia, else the source of
// its reported route to the backend, else its address on the backend's
// network.
std::optional<IpAddress> ReturnHop(const ferry::v1::IPForwardSpec& spec, const Node& frontend,
                                   const IpAddress& backend, const NodeAddress& backend_entry) {
  if (!spec.backend().return_via().empty()) {
    absl::StatusOr<IpAddress> given = IpAddress::Parse(spec.backend().return_via());
    if (given.ok()) return *given;
    return std::nullopt;
  }
  if (std::optional<IpAddress> via = ReportedReturnVia(frontend, backend)) return via;
  return DiscoverReturnVia(frontend, backend_entry);
}

// ResolveForward with every frontend listed, a nodeName's one included.
ForwardResolution ResolveEnds(ForwardRef forward, const std::map<std::string, const Node*>& nodes) {
  const auto& spec = forward.spec();
  const auto& frontend = spec.frontend();
  const std::vector<const Node*> selected = FrontendNodes(frontend, nodes);
  if (selected.empty()) {
    if (frontend.has_node_selector()) {
      return Reject(kReasonNoNodeSelected,
                    "spec.frontend.nodeSelector: no registered node matches it");
    }
    return Reject(
        kReasonFrontendNodeNotRegistered,
        absl::StrCat("spec.frontend.nodeName: node ", frontend.node_name(), " is not registered"));
  }
  absl::StatusOr<IpAddress> backend_ip = IpAddress::Parse(spec.backend().address());
  if (!backend_ip.ok()) {  // validation admits none such
    return Reject(kReasonBackendAddressNotOnNode, std::string(backend_ip.status().message()));
  }
  ForwardResolution r;
  ForwardResolution::Extra& extra = r.MutableExtra();  // stays r's when r moves
  for (const Node* node : selected) {
    std::string why;
    std::string address = FrontendAddress(frontend, *backend_ip, *node, &why);
    if (address.empty()) {
      extra.skipped.push_back({node->metadata().name(), kReasonAddressNotOnNode, std::move(why)});
    } else {
      extra.frontends.push_back({node->metadata().name(), std::move(address), "", ""});
    }
  }
  if (extra.frontends.empty()) return RejectSkipped(std::move(r));
  r.accepted = true;
  r.reason = kReasonAccepted;
  if (IsMasquerade(spec)) return r;

  const std::string& be_name = spec.backend().node_name();
  auto be = nodes.find(be_name);
  if (be == nodes.end()) {
    return Reject(kReasonBackendNodeNotRegistered,
                  absl::StrCat("spec.backend.nodeName: node ", be_name,
                               " is not registered; sourceIP Preserve needs its agent to "
                               "route replies back"));
  }
  std::optional<NodeAddress> be_addr = FindAddress(*be->second, spec.backend().address());
  if (!be_addr) {
    return Reject(kReasonBackendAddressNotOnNode,
                  absl::StrCat("spec.backend.address: ", spec.backend().address(),
                               " is not an address of node ", be_name));
  }
  std::vector<FrontendEnd> served;
  for (FrontendEnd& end : extra.frontends) {
    std::optional<IpAddress> via = ReturnHop(spec, *nodes.at(end.node), *backend_ip, *be_addr);
    if (!via.has_value()) {
      extra.route_query_nodes.push_back(end.node);
      extra.skipped.push_back(
          {end.node, kReasonNoReturnPath,
           absl::StrCat("spec.backend.returnVia: node ", end.node, " has reported no route to ",
                        be_addr->address(), " (it has been asked) and has no address in ",
                        be_addr->address(), "/", be_addr->prefix_length(), " of node ", be_name,
                        "; set returnVia to the hop replies should take")});
      continue;
    }
    end.return_via =
        spec.backend().return_via().empty() ? via->ToString() : spec.backend().return_via();
    end.return_interface = InterfaceToward(*be->second, *via);
    served.push_back(std::move(end));
  }
  extra.frontends = std::move(served);
  if (extra.frontends.empty()) return RejectSkipped(std::move(r));  // the route queries stay
  std::vector<std::string> vias;
  for (const FrontendEnd& end : extra.frontends) {
    if (std::find(vias.begin(), vias.end(), end.return_via) == vias.end()) {
      vias.push_back(end.return_via);
    }
  }
  r.return_via = absl::StrJoin(vias, ",");
  return r;
}

}  // namespace

ForwardResolution ResolveForward(ForwardRef forward,
                                 const std::map<std::string, const Node*>& nodes) {
  ForwardResolution r = ResolveEnds(forward, nodes);
  if (r.extra == nullptr) return r;
  ForwardResolution::Extra& extra = r.MutableExtra();  // r's own: nothing shares it yet
  if (!forward.spec().frontend().has_node_selector() && !extra.frontends.empty()) {
    // A nodeName's one frontend is its spec's node and address with
    // return_via: only the interface is kept (FrontendsOf derives the
    // rest), so 100k forwards do not each hold a heap block of it.
    r.return_interface = std::move(extra.frontends.front().return_interface);
    extra.frontends = std::vector<FrontendEnd>();
  }
  // The common accepted nodeName forward then has nothing extra.
  if (extra.Empty()) r.extra = nullptr;
  return r;
}

std::vector<FrontendEnd> FrontendsOf(ForwardRef forward, const ForwardResolution& resolution) {
  const ferry::v1::Frontend& frontend = forward.spec().frontend();
  if (frontend.has_node_selector() || !resolution.accepted) return resolution.frontends();
  return {{frontend.node_name(), frontend.address(), resolution.return_via,
           resolution.return_interface}};
}

std::vector<InvolvedNode> NodesOf(ForwardRef forward, const ForwardResolution& resolution) {
  std::vector<InvolvedNode> nodes;
  if (!resolution.accepted) return nodes;
  const ferry::v1::Frontend& frontend = forward.spec().frontend();
  if (frontend.has_node_selector()) {
    for (const FrontendEnd& end : resolution.frontends()) {
      nodes.push_back({end.node, kRoleFrontend});
    }
  } else {
    nodes.push_back({frontend.node_name(), kRoleFrontend});
  }
  if (!IsMasquerade(forward.spec())) {
    nodes.push_back({forward.spec().backend().node_name(), kRoleBackend});
  }
  return nodes;
}

ForwardResolution::Extra& ForwardResolution::MutableExtra() {
  if (extra == nullptr || extra.use_count() > 1) {
    auto own = extra == nullptr ? std::make_shared<Extra>() : std::make_shared<Extra>(*extra);
    Extra& out = *own;
    extra = std::move(own);
    return out;
  }
  // Made non-const (above) and owned by this resolution alone.
  return const_cast<Extra&>(*extra);
}

const ForwardResolution::Extra& ForwardResolution::ExtraOrNone() const {
  static const Extra* const kNone = new Extra();
  return extra == nullptr ? *kNone : *extra;
}

ForwardResolution RejectForConflict(const absl::Status& conflict) {
  return Reject(kReasonConflict, std::string(conflict.message()));
}

namespace {

void AddFrontendRules(ForwardRef forward, const std::string& address, NodeConfig* config) {
  const auto& spec = forward.spec();
  absl::StatusOr<IpAddress> fe = IpAddress::Parse(address);
  for (const auto& m : spec.ports()) {
    const api::PortSpan ports = api::ExpandPorts(m);
    ferry::v1::DnatRule* rule = config->add_dnat();
    rule->set_forward(forward.name());
    rule->set_generation(forward.generation());
    rule->set_frontend_address(address);
    rule->set_protocol(m.protocol());
    rule->set_port(ports.first);
    rule->set_end_port(api::WireEndPort(ports.first, ports.last));
    rule->set_backend_address(spec.backend().address());
    rule->set_target_port(ports.target_first);
    rule->set_masquerade(IsMasquerade(spec));
    rule->set_alert_only(IsAlertOnly(spec));
    // As the spec says: 0 leaves the period to the agent's --probe-period.
    rule->set_probe_period_seconds(spec.probe().period_seconds());
    rule->set_probe_timeout_seconds(spec.probe().timeout_seconds());
  }
  if (fe.ok() && spec.ports_size() > 0) {
    if (fe->is_v4()) {
      config->set_ipv4_forwarding(true);
    } else {
      config->set_ipv6_forwarding(true);
    }
  }
}

void AddReturnRoutes(ForwardRef forward, const FrontendEnd& end, NodeConfig* config) {
  const auto& spec = forward.spec();
  for (const auto& m : spec.ports()) {
    const api::PortSpan ports = api::ExpandPorts(m);
    ferry::v1::ReturnRoute* route = config->add_return_routes();
    route->set_forward(forward.name());
    route->set_generation(forward.generation());
    route->set_source_address(spec.backend().address());
    route->set_protocol(m.protocol());
    route->set_port(ports.target_first);
    route->set_end_port(ports.is_range() ? static_cast<uint32_t>(ports.target_last) : 0);
    route->set_via(end.return_via);
    route->set_alert_only(IsAlertOnly(spec));
    route->set_in_interface(end.return_interface);
  }
}

template <typename Entry>
void SortEntries(google::protobuf::RepeatedPtrField<Entry>* entries) {
  // References, not copies: this runs N log N times for a 100k config.
  auto key = [](const Entry& e) {
    return std::tuple<const std::string&, uint32_t, int, uint32_t>(
        e.forward(), e.port(), static_cast<int>(e.protocol()), e.end_port());
  };
  auto less = [&](const Entry& a, const Entry& b) { return key(a) < key(b); };
  // A forward's own entries (a NodePlan piece) are most often in order.
  if (!std::is_sorted(entries->begin(), entries->end(), less)) {
    std::sort(entries->begin(), entries->end(), less);
  }
}

}  // namespace

void AddFrontendEndEntries(ForwardRef forward, const FrontendEnd& end,
                           std::map<std::string, NodeConfig>* configs) {
  AddFrontendRules(forward, end.address, &(*configs)[end.node]);
  if (!IsMasquerade(forward.spec())) {
    AddReturnRoutes(forward, end, &(*configs)[forward.spec().backend().node_name()]);
  }
}

void AddForwardEntries(ForwardRef forward, const ForwardResolution& resolution,
                       std::map<std::string, NodeConfig>* configs) {
  for (const FrontendEnd& end : FrontendsOf(forward, resolution)) {
    AddFrontendEndEntries(forward, end, configs);
  }
}

void AddRouteQuery(ForwardRef forward, NodeConfig* config) {
  const auto& spec = forward.spec();
  ferry::v1::DnatRule* rule = config->add_dnat();
  rule->set_forward(forward.name());
  // Generation 0: an ACK of the query must never count as the node having
  // applied the forward (node_generations.h reads the pieces' generations).
  rule->set_generation(0);
  // Any valid address of the backend's family: nothing is installed.
  rule->set_frontend_address(spec.backend().address());
  rule->set_backend_address(spec.backend().address());
  if (spec.ports_size() > 0) {
    const api::PortSpan ports = api::ExpandPorts(spec.ports(0));
    rule->set_protocol(spec.ports(0).protocol());
    rule->set_port(ports.first);
    rule->set_target_port(ports.target_first);
  }
  rule->set_route_query(true);
}

FleetPlan PlanFleet(const std::vector<IPForward>& forwards, const std::vector<Node>& nodes) {
  FleetPlan plan;
  std::map<std::string, const Node*> by_name;
  for (const Node& n : nodes) {
    by_name[n.metadata().name()] = &n;
    plan.node_configs[n.metadata().name()];
  }
  // Name order makes the conflict winner independent of input order.
  std::vector<const IPForward*> sorted;
  sorted.reserve(forwards.size());
  for (const IPForward& f : forwards) sorted.push_back(&f);
  auto name_order = [](const IPForward* a, const IPForward* b) {
    return a->metadata().name() < b->metadata().name();
  };
  if (!std::is_sorted(sorted.begin(), sorted.end(), name_order)) {
    std::sort(sorted.begin(), sorted.end(), name_order);
  }

  ConflictIndex accepted;
  for (const IPForward* f : sorted) {
    ForwardResolution r = ResolveForward(*f, by_name);
    if (r.accepted) {
      // Apply already rejects conflicts; this guards against a store that
      // was written around it, so two forwards never fight over one port.
      if (absl::Status s = accepted.Check(*f); !s.ok()) r = RejectForConflict(s);
    }
    if (r.accepted) {
      accepted.Put(*f);
      AddForwardEntries(*f, r, &plan.node_configs);
    }
    for (const std::string& node : r.route_query_nodes()) {
      AddRouteQuery(*f, &plan.node_configs[node]);
    }
    plan.forwards[f->metadata().name()] = std::move(r);
  }
  for (auto& [name, config] : plan.node_configs) {
    SortConfigEntries(&config);
    config.set_version(ConfigVersion(config));
  }
  return plan;
}

void SortConfigEntries(NodeConfig* config) {
  SortEntries(config->mutable_dnat());
  SortEntries(config->mutable_return_routes());
}

std::string ConfigVersion(const NodeConfig& config) {
  uint64_t entries = 0;
  for (const ferry::v1::DnatRule& r : config.dnat()) entries += EntryHash(r);
  for (const ferry::v1::ReturnRoute& r : config.return_routes()) entries += EntryHash(r);
  return VersionOf(entries, config.ipv4_forwarding(), config.ipv6_forwarding());
}

}  // namespace ferry::controller
