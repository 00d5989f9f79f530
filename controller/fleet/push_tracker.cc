#include "controller/fleet/push_tracker.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/config_delta.h"
#include "api/lib/log.h"
#include "api/lib/sync_protocol.h"
#include "api/lib/wire.h"
#include "controller/fleet/fleet_metrics.h"

namespace ferry::controller {
namespace {

// A push as the agent's stream writes it: the ConfigPush carried encoded
// as the message's unknown field `push`, which protobuf writes verbatim.
// A full config of 100k forwards is then its pieces appended once, not
// 100k entries copied into messages and encoded again.
ferry::v1::ControllerMessage EncodedPush(const std::string& nonce, const NodePlan& plan,
                                         const std::optional<NodePlan::Delta>& delta) {
  using ferry::v1::ConfigPush;
  ferry::v1::ControllerMessage message;
  std::string* push = message.GetReflection()->MutableUnknownFields(&message)->AddLengthDelimited(
      ferry::v1::ControllerMessage::kPushFieldNumber);
  api::AppendLengthDelimited(ConfigPush::kNonceFieldNumber, nonce, push);
  if (delta.has_value()) {
    api::AppendLengthDelimited(ConfigPush::kDeltaFieldNumber, delta->encoded, push);
  } else {
    api::AppendLengthPrefix(ConfigPush::kConfigFieldNumber, plan.ByteSize(), push);
    plan.AppendConfig(push);
  }
  return message;
}

}  // namespace

// One agent stream: what was pushed on it, and whether its agent holds it.
struct PushTracker::Stream : public SessionHandle {
  std::string node;
  PushSink* sink = nullptr;
  bool active = true;  // false once replaced by a newer stream, or closed
  uint64_t nonce = 0;
  std::string last_nonce;      // of the last push; only its ACK counts
  std::string pushed_version;  // empty until the first (full) push
  bool delta_capable = false;  // the agent applies NodeConfigDelta
  bool probe_capable = false;  // the agent probes its forwards' data path
  // The agent ACKed the last push on this stream, so it holds exactly
  // NodePushes::acked and a delta on top of it applies.
  bool last_push_acked = false;
  // What the Hello said the agent runs, for adoption on the first push.
  std::string last_applied_version;
  std::map<std::string, std::string> last_applied_forward_errors;
};

PushTracker::PushTracker(DirtyForwards* dirty) : dirty_(dirty) {}

PushTracker::~PushTracker() = default;

void PushTracker::NodePushes::AckPushed(std::map<std::string, std::string> forward_errors,
                                        std::set<std::string>* changed) {
  acked_version = pushed_version;
  acked_forward_errors = std::move(forward_errors);
  push_nacked = false;
  generations.Ack(changed);
}

void PushTracker::ErrorScope(const NodePushes& node, std::set<std::string>* out) {
  for (const auto& [forward, error] : node.acked_forward_errors) out->insert(forward);
  for (const auto& [forward, error] : node.nack_forward_errors) out->insert(forward);
  // A NACK blames the forwards whose pushed generation is not the ACKed one.
  if (node.push_nacked)
    out->insert(node.generations.unacked().begin(), node.generations.unacked().end());
}

template <typename Fn>
void PushTracker::ChangeAcks(NodePushes* node, Fn change) {
  std::set<std::string> scope;
  ErrorScope(*node, &scope);
  change(&scope);
  ErrorScope(*node, &scope);
  dirty_->Mark(std::move(scope));
}

PushTracker::Stream* PushTracker::ActiveStream(SessionHandle* session) {
  auto it = streams_.find(session);
  if (it == streams_.end() || !it->second->active) return nullptr;
  return it->second.get();
}

SessionHandle* PushTracker::Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                    PushSink* sink) {
  auto stream = std::make_unique<Stream>();
  stream->node = node_name;
  stream->sink = sink;
  stream->delta_capable = api::HasCapability(hello, ferry::v1::CAPABILITY_CONFIG_DELTA);
  stream->probe_capable = api::HasCapability(hello, ferry::v1::CAPABILITY_DATA_PATH_PROBE);
  stream->last_applied_version = hello.last_applied_version();
  stream->last_applied_forward_errors = {hello.last_applied_forward_errors().begin(),
                                         hello.last_applied_forward_errors().end()};
  absl::MutexLock l(&mu_);
  NodePushes& node = nodes_[node_name];
  if (node.stream != nullptr) {
    node.stream->active = false;
    node.stream->sink->Close(
        absl::AbortedError(absl::StrCat("replaced by a newer stream for node ", node_name)));
    LogInfo("agent stream replaced", {{"node", node_name}});
  }
  // What the agent runs is what it says it applied. If that is the last
  // push, whose ACK was lost with the old stream, the Hello is its ACK (so
  // forwards Ready on it stay Ready while the plan moves on); if it is
  // neither that nor what we saw it ACK, our record of its state is stale.
  const std::string& applied = hello.last_applied_version();
  if (!applied.empty() && applied == node.pushed_version && applied != node.acked_version) {
    ChangeAcks(&node, [&](std::set<std::string>* changed) {
      node.AckPushed(stream->last_applied_forward_errors, changed);
    });
  } else if (!node.acked_version.empty() && node.acked_version != applied) {
    ChangeAcks(&node, [&](std::set<std::string>* changed) {
      node.acked_version.clear();
      node.acked_forward_errors.clear();
      node.generations.ForgetAcked(changed);
    });
  }
  node.stream = stream.get();
  SessionHandle* handle = stream.get();
  streams_[handle] = std::move(stream);
  return handle;
}

std::optional<std::string> PushTracker::ActiveNode(SessionHandle* session) {
  absl::MutexLock l(&mu_);
  Stream* s = ActiveStream(session);
  if (s == nullptr) return std::nullopt;
  return s->node;
}

PushTracker::AckResult PushTracker::OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) {
  AckResult result;
  absl::MutexLock l(&mu_);
  Stream* s = ActiveStream(session);
  if (s == nullptr) return result;
  if (ack.nonce() != s->last_nonce) {
    LogDebug("ignoring stale ack",
             {{"node", s->node}, {"nonce", ack.nonce()}, {"expected", s->last_nonce}});
    return result;
  }
  result.node = s->node;
  NodePushes& node = nodes_[s->node];
  if (!ack.accepted() && ack.reason() == ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH) {
    // The agent holds another version than the delta's base: not a failure
    // of the config; the next pass pushes it whole.
    LogInfo("delta rejected; pushing the full config",
            {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
    s->pushed_version.clear();
    s->last_push_acked = false;
    result.kind = AckResult::Kind::kBaseVersionMismatch;
    return result;
  }
  if (ack.accepted()) {
    result.change_seen = node.pushed_change_seen;
    s->last_push_acked = true;
    ChangeAcks(&node, [&](std::set<std::string>* changed) {
      node.AckPushed({ack.forward_errors().begin(), ack.forward_errors().end()}, changed);
    });
    LogInfo("config acked", {{"node", s->node}, {"version", ack.version()}});
    result.kind = AckResult::Kind::kAccepted;
    return result;
  }
  ChangeAcks(&node, [&](std::set<std::string>*) {
    node.push_nacked = true;
    node.nack_error = ack.error();
    node.nack_forward_errors = {ack.forward_errors().begin(), ack.forward_errors().end()};
  });
  LogWarning("config nacked",
             {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
  result.kind = AckResult::Kind::kRejected;
  return result;
}

std::optional<std::string> PushTracker::Disconnect(SessionHandle* session) {
  absl::MutexLock l(&mu_);
  auto it = streams_.find(session);
  if (it == streams_.end()) return std::nullopt;
  std::optional<std::string> out;
  NodePushes& node = nodes_[it->second->node];
  if (node.stream == it->second.get()) {
    node.stream = nullptr;
    out = it->second->node;
  }
  streams_.erase(it);
  return out;
}

void PushTracker::CloseNode(const std::string& node_name, const absl::Status& why) {
  absl::MutexLock l(&mu_);
  auto it = nodes_.find(node_name);
  if (it == nodes_.end() || it->second.stream == nullptr) return;
  it->second.stream->active = false;
  it->second.stream->sink->Close(why);
  it->second.stream = nullptr;
}

std::vector<std::pair<std::string, const char*>> PushTracker::PushChanged(IncrementalPlanner* plan,
                                                                          absl::Time pass_start,
                                                                          absl::Time now) {
  std::vector<std::pair<std::string, const char*>> pushed;
  absl::MutexLock l(&mu_);
  for (auto& [name, node] : nodes_) {
    Stream* s = node.stream;
    if (s == nullptr) continue;
    NodePlan* planned = plan->ForNode(name);
    if (planned == nullptr || s->pushed_version == planned->version()) continue;
    if (AdoptApplied(pass_start, s, &node, planned)) continue;
    s->last_nonce = absl::StrCat(++s->nonce);
    std::optional<NodePlan::Delta> delta = DeltaFor(*s, node, *planned);
    ferry::v1::ControllerMessage message = EncodedPush(s->last_nonce, *planned, delta);
    const char* kind = delta.has_value() ? kPushDelta : kPushFull;
    const std::string changed = delta.has_value() ? absl::StrCat(delta->forwards) : "all";
    pushed.emplace_back(name, kind);
    // Sent, then recorded, both under mu_: its ACK cannot be handled in
    // between, and the agent starts on 100k forwards while their pushed
    // generations are recorded. The message is moved, not copied, into
    // the stream.
    s->sink->Push(std::move(message));
    MarkPushed(pass_start, s, &node, planned, delta.has_value(), /*adopted=*/false);
    node.pushed_at = now;
    LogInfo("pushed config", {{"node", name},
                              {"version", planned->version()},
                              {"nonce", s->last_nonce},
                              {"kind", kind},
                              {"changed_forwards", changed},
                              {"dnat", absl::StrCat(planned->dnat_count())},
                              {"return_routes", absl::StrCat(planned->route_count())}});
  }
  return pushed;
}

void PushTracker::MarkPushed(absl::Time pass_start, Stream* s, NodePushes* node, NodePlan* plan,
                             bool delta, bool adopted) {
  s->pushed_version = plan->version();
  s->last_push_acked = adopted;
  ChangeAcks(node, [&](std::set<std::string>* changed) {
    node->pushed_version = plan->version();
    if (delta) {
      node->generations.PushDelta(*plan);
    } else {
      node->generations.PushFull(*plan);
    }
    node->push_nacked = false;
    node->nack_error.clear();
    node->nack_forward_errors.clear();
    if (adopted) node->AckPushed(s->last_applied_forward_errors, changed);
  });
  node->pushed_change_seen = pass_start;
  plan->MarkPushed();
}

bool PushTracker::AdoptApplied(absl::Time pass_start, Stream* s, NodePushes* node, NodePlan* plan) {
  // Only on a stream's first push, and only for the very version planned:
  // the version is a hash of the config's content, so the agent holds it.
  if (!s->pushed_version.empty() || s->last_applied_version != plan->version()) return false;
  MarkPushed(pass_start, s, node, plan, /*delta=*/false, /*adopted=*/true);
  LogInfo("adopted the agent's applied config",
          {{"node", s->node},
           {"version", plan->version()},
           {"failed_forwards", absl::StrCat(node->acked_forward_errors.size())}});
  return true;
}

std::optional<NodePlan::Delta> PushTracker::DeltaFor(const Stream& stream, const NodePushes& node,
                                                     const NodePlan& plan) {
  // Only on top of a config this stream's agent is known to hold: the first
  // push of a stream, one after an un-ACKed push (in flight or NACKed) and
  // one to an agent that takes no deltas are full.
  if (!stream.delta_capable || !stream.last_push_acked || node.acked_version.empty() ||
      node.acked_version != stream.pushed_version) {
    return std::nullopt;
  }
  // When most forwards changed, the whole config is the smaller message;
  // most often that shows before the delta is built.
  if (plan.DeltaEntryBytesSinceMark() >= plan.ByteSize()) return std::nullopt;
  std::optional<NodePlan::Delta> delta = plan.DeltaSinceMark(node.acked_version);
  if (!delta || delta->encoded.size() >= plan.ByteSize()) return std::nullopt;
  return delta;
}

std::map<std::string, NodeAckInfo> PushTracker::AcksFor(ForwardRef forward,
                                                        const std::vector<InvolvedNode>& nodes) {
  std::map<std::string, NodeAckInfo> acks;
  const std::string& name = forward.name();
  int64_t generation = forward.generation();
  absl::MutexLock l(&mu_);
  for (const InvolvedNode& involved : nodes) {
    auto it = nodes_.find(involved.name);
    if (it == nodes_.end()) continue;
    const NodePushes& node = it->second;
    NodeAckInfo info;
    info.probes = node.stream != nullptr && node.stream->probe_capable;
    info.acked_generation = node.generations.Acked(name, involved.role);
    std::optional<int64_t> pushed_generation = node.generations.Pushed(name, involved.role);
    if (info.acked_generation != generation && pushed_generation == generation &&
        !node.push_nacked && node.stream != nullptr &&
        node.stream->pushed_version == node.pushed_version) {
      info.in_flight_since = node.pushed_at;
    }
    if (info.acked_generation == generation) {
      // ACKed as a whole, but the agent may report this forward failed.
      if (auto e = node.acked_forward_errors.find(name); e != node.acked_forward_errors.end()) {
        info.nacked = true;
        info.error = e->second;
      }
    } else if (node.push_nacked && pushed_generation == generation) {
      // A NACK that names forwards blames only those; one that does not
      // blames every forward the rejected push would have changed.
      if (node.nack_forward_errors.empty()) {
        info.nacked = true;
        info.error = node.nack_error;
      } else if (auto e = node.nack_forward_errors.find(name);
                 e != node.nack_forward_errors.end()) {
        info.nacked = true;
        info.error = e->second;
      }
    }
    acks[involved.name] = std::move(info);
  }
  return acks;
}

std::map<std::string, std::string> PushTracker::AckedVersions() {
  std::map<std::string, std::string> out;
  absl::MutexLock l(&mu_);
  for (const auto& [name, node] : nodes_) {
    if (!node.acked_version.empty()) out[name] = node.acked_version;
  }
  return out;
}

}  // namespace ferry::controller
