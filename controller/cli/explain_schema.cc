// The docs `ferryctl explain` prints: ferry.proto's comments, written out
// here because the generated descriptors do not carry them. Every field of
// IPForward, Node and Event and of the messages below them must have an
// entry (cli_explain_test.cc walks the descriptors), so a new proto field
// without docs here fails the tests.

#include <cstring>

#include "absl/strings/string_view.h"
#include "controller/cli/explain.h"

namespace ferry::cli {
namespace {

struct Doc {
  const char* message;  // full proto name
  const char* field;    // proto field name; "" for the message itself
  const char* doc;
};

constexpr Doc kDocs[] = {
    // IPForward
    {"ferry.v1.IPForward", "",
     "A forward: traffic to a frontend node's address and ports is DNATed to a backend "
     "over the nodes' tunnel, with replies routed back (Preserve) or SNATed (Masquerade)."},
    {"ferry.v1.IPForward", "api_version", "ferry.dev/v1"},
    {"ferry.v1.IPForward", "kind", "IPForward"},
    {"ferry.v1.IPForward", "metadata", "Name, labels and the controller's bookkeeping."},
    {"ferry.v1.IPForward", "spec", "What to forward: frontend, backend and ports."},
    {"ferry.v1.IPForward", "status",
     "What the controller and the agents report: conditions and each node's state. "
     "Written by the controller only."},
    // ObjectMeta
    {"ferry.v1.ObjectMeta", "", "Metadata every object has."},
    {"ferry.v1.ObjectMeta", "name",
     "The object's name, unique per kind: lowercase letters, digits and '-'."},
    {"ferry.v1.ObjectMeta", "labels",
     "Key/value pairs that label selectors (ferryctl -l, nodeSelector) match. A node's are "
     "its agent's --labels with spec.labels over them."},
    {"ferry.v1.ObjectMeta", "uid", "Set by the controller on create."},
    {"ferry.v1.ObjectMeta", "generation", "Bumped by the controller when the spec changes."},
    {"ferry.v1.ObjectMeta", "resource_version",
     "The store revision of the object's last write. On Apply, a non-empty value is a "
     "precondition: the write fails with ABORTED if it is stale."},
    {"ferry.v1.ObjectMeta", "creation_timestamp", "When the object was created (RFC 3339)."},
    // IPForwardSpec
    {"ferry.v1.IPForwardSpec", "", "What a forward forwards."},
    {"ferry.v1.IPForwardSpec", "frontend",
     "Where traffic arrives: one node (nodeName) or the nodes a nodeSelector selects."},
    {"ferry.v1.IPForwardSpec", "backend", "Where traffic goes."},
    {"ferry.v1.IPForwardSpec", "ports", "The ports forwarded; at least one."},
    {"ferry.v1.IPForwardSpec", "source_ip",
     "Preserve (default): the backend routes replies back through the frontend. "
     "Masquerade: the frontend SNATs to its own address."},
    {"ferry.v1.IPForwardSpec", "drift_policy",
     "What an agent does when the kernel stops matching the forward: Enforce (default) "
     "repairs and reports, Alert reports and leaves the kernel as found."},
    {"ferry.v1.IPForwardSpec", "rollout",
     "How a change reaches the frontends; none: every node at once."},
    {"ferry.v1.IPForwardSpec", "probe",
     "How each frontend checks that the forward carries traffic."},
    {"ferry.v1.IPForwardSpec", "rollback",
     "What the controller does when a change's probe fails: Never (default) keeps the "
     "change; OnProbeFailure goes back to the last generation whose probe passed."},
    // Frontend
    {"ferry.v1.Frontend", "", "Where traffic arrives. Exactly one of nodeName and nodeSelector."},
    {"ferry.v1.Frontend", "node_name", "The one frontend node."},
    {"ferry.v1.Frontend", "address",
     "With nodeName: one of the node's reported addresses. With nodeSelector: an address every "
     "selected node holds (an anycast address or VIP); or empty, and each selected node serves "
     "on its own address on `interface`."},
    {"ferry.v1.Frontend", "node_selector",
     "The frontend nodes, by their labels, as Kubernetes' node selectors."},
    {"ferry.v1.Frontend", "interface",
     "With nodeSelector and no address: each node serves on its address on this interface."},
    // NodeSelector
    {"ferry.v1.NodeSelector", "",
     "Nodes whose labels match every term (matchLabels and matchExpressions)."},
    {"ferry.v1.NodeSelector", "match_labels",
     "Labels a node must have with these values (a list sorted by key, so that a spec's "
     "bytes are the same each time)."},
    {"ferry.v1.NodeSelector", "match_expressions", "Terms a node's labels must satisfy."},
    {"ferry.v1.LabelPair", "", "One label a node must have."},
    {"ferry.v1.LabelPair", "key", "The label's key."},
    {"ferry.v1.LabelPair", "value", "The label's value."},
    {"ferry.v1.LabelSelectorRequirement", "",
     "One term of a node selector, as Kubernetes' matchExpressions."},
    {"ferry.v1.LabelSelectorRequirement", "key", "The label's key."},
    {"ferry.v1.LabelSelectorRequirement", "operator", "In, NotIn, Exists or DoesNotExist."},
    {"ferry.v1.LabelSelectorRequirement", "values", "In and NotIn: at least one; others: none."},
    // Backend
    {"ferry.v1.Backend", "", "Where traffic goes."},
    {"ferry.v1.Backend", "node_name", "The backend node; required for Preserve."},
    {"ferry.v1.Backend", "address", "The backend's address, reached over the tunnel."},
    {"ferry.v1.Backend", "return_via", "Optional: overrides the discovered return hop."},
    // PortMapping
    {"ferry.v1.PortMapping", "", "One port, or a range mapped 1:1."},
    {"ferry.v1.PortMapping", "protocol", "TCP or UDP."},
    {"ferry.v1.PortMapping", "port", "The frontend port."},
    {"ferry.v1.PortMapping", "end_port", "Optional: port..endPort mapped 1:1."},
    {"ferry.v1.PortMapping", "target_port", "The backend port; 0 means the same as port."},
    // Rollout
    {"ferry.v1.Rollout", "",
     "How a change of a forward reaches its frontends: a few nodes at a time, each wave once "
     "the previous one ACKed, stopping at the first node that NACKs or does not ACK in time. "
     "Nodes not yet reached keep the forward's last generation that every node applied."},
    {"ferry.v1.Rollout", "max_unavailable",
     "\"1\" (default): nodes changing at once, or \"25%\" of them."},
    {"ferry.v1.Rollout", "progress_deadline_seconds",
     "How long a node has to ACK its change; 0: 30 s."},
    // Probe
    {"ferry.v1.Probe", "",
     "How each frontend's agent checks that the forward carries traffic: it connects to the "
     "forward's own address and port from the frontend, through the DNAT, tunnel, backend and "
     "return path."},
    {"ferry.v1.Probe", "period_seconds", "0: the agent's --probe-period (15 s)."},
    {"ferry.v1.Probe", "timeout_seconds", "0: 2 s for a TCP handshake or a UDP reply."},
    {"ferry.v1.Probe", "confirm_seconds",
     "rollback OnProbeFailure: how long after a node applies a change its probe has to pass. "
     "0: 10 s."},
    // IPForwardStatus
    {"ferry.v1.IPForwardStatus", "", "What the controller and the agents report about a forward."},
    {"ferry.v1.IPForwardStatus", "observed_generation", "The generation the status is about."},
    {"ferry.v1.IPForwardStatus", "conditions",
     "Accepted, Ready, Drifted and DataPathVerified, each True, False or Unknown with a reason."},
    {"ferry.v1.IPForwardStatus", "nodes", "Each node the forward involves, and its state there."},
    {"ferry.v1.IPForwardStatus", "return_via", "The resolved return hop, for Preserve."},
    {"ferry.v1.IPForwardStatus", "rolled_back_to_generation",
     "rollback OnProbeFailure: the generation the nodes hold instead of observedGeneration, "
     "after that one's probe failed (0: none)."},
    {"ferry.v1.Condition", "", "One aspect of an object's state, as Kubernetes' conditions."},
    {"ferry.v1.Condition", "type",
     "Accepted, Ready, Drifted, DataPathVerified, Connected, InSync."},
    {"ferry.v1.Condition", "status", "\"True\", \"False\" or \"Unknown\"."},
    {"ferry.v1.Condition", "reason", "CamelCase machine-readable reason."},
    {"ferry.v1.Condition", "message", "Human-readable detail."},
    {"ferry.v1.Condition", "observed_generation",
     "The object's generation the condition is about."},
    {"ferry.v1.Condition", "last_transition_time", "When status last changed (RFC 3339)."},
    {"ferry.v1.NodeForwardStatus", "", "A forward's state on one node."},
    {"ferry.v1.NodeForwardStatus", "name", "The node."},
    {"ferry.v1.NodeForwardStatus", "role", "Frontend or Backend."},
    {"ferry.v1.NodeForwardStatus", "state", "Pending, Applied or Failed."},
    {"ferry.v1.NodeForwardStatus", "applied_generation", "The generation the node applied."},
    {"ferry.v1.NodeForwardStatus", "message", "The agent's error, when Failed."},
    {"ferry.v1.NodeForwardStatus", "address", "A frontend's address on this node."},
    {"ferry.v1.NodeForwardStatus", "data_path",
     "A frontend's data-path probe: True, False or Unknown (\"\" before its first verdict)."},
    {"ferry.v1.NodeForwardStatus", "data_path_message", "What the data-path probe found."},
    // Node
    {"ferry.v1.Node", "",
     "A server running ferry-agent. Registered by its agent; an operator may set labels."},
    {"ferry.v1.Node", "api_version", "ferry.dev/v1"},
    {"ferry.v1.Node", "kind", "Node"},
    {"ferry.v1.Node", "metadata", "Name, labels and the controller's bookkeeping."},
    {"ferry.v1.Node", "spec", "What an operator sets."},
    {"ferry.v1.Node", "status", "What the agent reports. Written by the controller only."},
    {"ferry.v1.NodeSpec", "", "What an operator sets on a node."},
    {"ferry.v1.NodeSpec", "labels",
     "Labels an operator sets (ferryctl label node). A node's metadata.labels are its agent's "
     "--labels with these over them."},
    {"ferry.v1.NodeStatus", "", "What a node's agent reports."},
    {"ferry.v1.NodeStatus", "addresses", "The node's addresses, kept current by its agent."},
    {"ferry.v1.NodeStatus", "conditions", "Connected and, once the agent has reported, InSync."},
    {"ferry.v1.NodeStatus", "agent_version", "The agent's version."},
    {"ferry.v1.NodeStatus", "applied_config_version", "The config version the agent last applied."},
    {"ferry.v1.NodeStatus", "last_seen", "When the agent was last heard from (RFC 3339)."},
    {"ferry.v1.NodeStatus", "agent_labels", "The agent's --labels, as it last said them."},
    {"ferry.v1.NodeStatus", "route_sources",
     "The node's routes to Preserve backends, as last reported."},
    {"ferry.v1.NodeAddress", "", "One address of a node."},
    {"ferry.v1.NodeAddress", "interface", "The interface that holds it."},
    {"ferry.v1.NodeAddress", "address", "E.g. 10.8.0.1."},
    {"ferry.v1.NodeAddress", "prefix_length", "E.g. 24."},
    {"ferry.v1.RouteSource", "",
     "Where a node's own route to a destination leaves from, as `ip route get DESTINATION` "
     "shows it there. A frontend reports one per Preserve backend address it forwards to: its "
     "source is the hop the backend returns replies to."},
    {"ferry.v1.RouteSource", "destination", "The backend address routed to."},
    {"ferry.v1.RouteSource", "source", "The route's preferred source address."},
    {"ferry.v1.RouteSource", "interface", "Its output interface."},
    // Event
    {"ferry.v1.Event", "",
     "Something that happened to an object, deduplicated with a count as Kubernetes events "
     "are. Written by the controller only."},
    {"ferry.v1.Event", "api_version", "ferry.dev/v1"},
    {"ferry.v1.Event", "kind", "Event"},
    {"ferry.v1.Event", "metadata", "Name and the controller's bookkeeping."},
    {"ferry.v1.Event", "involved_object", "The object it happened to."},
    {"ferry.v1.Event", "reason",
     "DriftDetected, DriftRepaired, ApplyFailed, NodeDisconnected, NodeConnected, "
     "DataPathFailed, DataPathRestored, RolledBack."},
    {"ferry.v1.Event", "message", "Human-readable detail."},
    {"ferry.v1.Event", "type", "Normal or Warning."},
    {"ferry.v1.Event", "node", "The node that reported it."},
    {"ferry.v1.Event", "count", "How many times it happened."},
    {"ferry.v1.Event", "first_timestamp", "When it first happened (RFC 3339)."},
    {"ferry.v1.Event", "last_timestamp", "When it last happened (RFC 3339)."},
    {"ferry.v1.ObjectReference", "", "An object an event is about."},
    {"ferry.v1.ObjectReference", "kind", "IPForward or Node."},
    {"ferry.v1.ObjectReference", "name", "The object's name."},
};

}  // namespace

const char* FieldDoc(absl::string_view message, absl::string_view field) {
  for (const Doc& d : kDocs) {
    if (message == d.message && field == d.field) return d.doc;
  }
  return nullptr;
}

}  // namespace ferry::cli
