#include "controller/fleet/status_writer.h"

#include <algorithm>
#include <optional>
#include <string_view>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "api/lib/conditions.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"
#include "api/lib/uuid.h"
#include "controller/planner/status.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"

namespace ferry::controller {
namespace {

using ferry::v1::Condition;
using ferry::v1::Node;
using ferry::v1::Object;

// Everything ComputeStatus and DriftedCondition read of a forward without
// drift, `now` aside (one per pass), as one key; the current status by
// identity, as equal ones are shared.
std::string StatusInputs(ForwardRef forward, const ForwardResolution& resolution,
                         const std::vector<InvolvedNode>& nodes,
                         const std::map<std::string, NodeAckInfo>& acks,
                         const ForwardStatuses::Bytes& current) {
  std::string key;
  absl::StrAppend(&key, forward.generation(), "|", reinterpret_cast<uintptr_t>(current.get()), "|",
                  resolution.accepted);
  for (const std::string* field :
       {&resolution.reason, &resolution.message(), &resolution.return_via}) {
    absl::StrAppend(&key, "|", field->size(), ":", *field);
  }
  absl::StrAppend(&key, "|", resolution.return_interface);
  // A nodeName forward's too: its frontend's address is its spec's.
  for (const FrontendEnd& end : FrontendsOf(forward, resolution)) {
    absl::StrAppend(&key, "|", end.node.size(), ":", end.node, end.address.size(), ":",
                    end.address);
  }
  if (const RolloutView* r = resolution.rollout()) {
    absl::StrAppend(&key, "|@", r->stable_generation, ":", absl::StrJoin(r->released, ","), ":",
                    r->stopped_node, ":", r->stopped_reason);
  }
  for (const SkippedNode& skipped : resolution.skipped()) {
    absl::StrAppend(&key, "|!", skipped.node.size(), ":", skipped.node, skipped.message.size(), ":",
                    skipped.message);
  }
  const NodeAckInfo none;
  for (const InvolvedNode& node : nodes) {
    auto it = acks.find(node.name);
    const NodeAckInfo& ack = it == acks.end() ? none : it->second;
    absl::StrAppend(&key, "|", node.name.size(), ":", node.name, node.role.size(), ":", node.role,
                    ack.acked_generation.has_value() ? "=" : "-", ack.acked_generation.value_or(0),
                    ack.nacked ? "!" : ".", ack.probes ? "p" : "", ack.error.size(), ":",
                    ack.error);
    if (const std::optional<DataPathVerdict>& v = ack.data_path) {
      absl::StrAppend(&key, "~", static_cast<int>(v->status), ":", v->generation, ":",
                      v->message.size(), ":", v->message);
    }
  }
  return key;
}

// Replaces the node's condition of c's type, keeping the others in place.
void ReplaceCondition(Condition c, absl::Time now, Node* node) {
  google::protobuf::RepeatedPtrField<Condition> previous = node->status().conditions();
  auto* conditions = node->mutable_status()->mutable_conditions();
  conditions->Clear();
  for (const Condition& p : previous) {
    if (p.type() != c.type()) *conditions->Add() = p;
  }
  SetCondition(std::move(c), now, previous, conditions);
}

void SetConnected(bool connected, const std::string& agent_version, absl::Time now, Node* node) {
  Condition c;
  c.set_type(api::kConditionConnected);
  c.set_status(connected ? "True" : "False");
  c.set_reason(connected ? "AgentConnected" : "AgentDisconnected");
  c.set_message(connected ? absl::StrCat("agent ", agent_version, " is connected")
                          : "no agent stream to this controller");
  c.set_observed_generation(node->metadata().generation());
  ReplaceCondition(std::move(c), now, node);
}

// When a Pending status may be written instead of held back: the grace
// after the latest push still in flight, if every involved node either
// applied the forward's generation or has that push in flight, and at
// least one has. Otherwise (a node that failed, is disconnected or was not
// yet sent it) now: that is news.
std::optional<absl::Time> PendingDue(const std::vector<InvolvedNode>& nodes,
                                     const std::map<std::string, NodeAckInfo>& acks,
                                     int64_t generation, absl::Duration grace) {
  std::optional<absl::Time> latest;
  for (const InvolvedNode& involved : nodes) {
    auto it = acks.find(involved.name);
    if (it == acks.end() || it->second.nacked) return std::nullopt;
    const NodeAckInfo& info = it->second;
    if (info.acked_generation == generation) continue;
    if (!info.in_flight_since) return std::nullopt;
    if (!latest || *info.in_flight_since > *latest) latest = info.in_flight_since;
  }
  if (!latest) return std::nullopt;
  return *latest + grace;
}

bool WasConnected(const Node& node) {
  return api::ConditionStatus(node.status().conditions(), api::kConditionConnected) == "True";
}

// A node's labels: its agent's (status.agentLabels), with an operator's
// (spec.labels, `ferryctl label node`) over them on the same key.
google::protobuf::Map<std::string, std::string> MergedLabels(const Node& node) {
  google::protobuf::Map<std::string, std::string> labels = node.status().agent_labels();
  for (const auto& [key, value] : node.spec().labels()) labels[key] = value;
  return labels;
}

}  // namespace

StatusWriter::StatusWriter(Store* store, Sources sources)
    : store_(store), sources_(std::move(sources)) {}

std::vector<Node> StatusWriter::DesiredNodes(
    const std::map<std::string, NodePresence::Agent>& agents, absl::Time now) {
  std::map<std::string, Node> desired;
  for (const auto& [name, stored] : sources_.snapshot->nodes()) {
    desired[name] = stored.object().node();
  }
  for (auto& [name, node] : desired) {
    auto agent = agents.find(name);
    // A node this controller never heard from is not connected to it, even
    // if the store says so from before a restart.
    if ((agent == agents.end() || !agent->second.seen) && WasConnected(node)) {
      SetConnected(false, "", now, &node);
    }
  }
  const std::map<std::string, std::string> acked = sources_.pushes->AckedVersions();
  for (const auto& [name, agent] : agents) {
    if (!agent.seen) continue;
    if (sources_.snapshot->nodes().contains(name)) {
      deleted_nodes_.erase(name);
    } else {
      auto deleted = deleted_nodes_.find(name);
      if (deleted == deleted_nodes_.end() && stored_nodes_.contains(name)) {
        deleted = deleted_nodes_.emplace(name, agent.connects).first;
        LogInfo("node deleted; not registered again until its agent connects again",
                {{"node", name}});
      }
      if (deleted != deleted_nodes_.end()) {
        if (agent.connects == deleted->second) continue;
        deleted_nodes_.erase(deleted);  // joined again since
      }
    }
    Node& node = desired[name];
    if (node.metadata().uid().empty()) {
      node.set_api_version(api::kApiVersion);
      node.set_kind(api::kKindNode);
      node.mutable_metadata()->set_name(name);
      node.mutable_metadata()->set_uid(api::NewUuidV4(bitgen_));
      node.mutable_metadata()->set_generation(1);
      api::SetTimestamp(now, node.mutable_metadata()->mutable_creation_timestamp());
    }
    // The agent is the source of truth for its addresses, route sources
    // and its own labels; an operator's (spec.labels) go over them below.
    *node.mutable_status()->mutable_agent_labels() = agent.hello.labels();
    *node.mutable_status()->mutable_addresses() = agent.hello.addresses();
    if (agent.route_sources.has_value()) {
      *node.mutable_status()->mutable_route_sources() = *agent.route_sources;
    }
    node.mutable_status()->set_agent_version(agent.hello.agent_version());
    auto version = acked.find(name);
    node.mutable_status()->set_applied_config_version(version != acked.end() ? version->second
                                                                             : "");
    api::SetTimestamp(agent.last_seen, node.mutable_status()->mutable_last_seen());
    SetConnected(agent.connected, agent.hello.agent_version(), now, &node);
    if (std::optional<Condition> in_sync =
            sources_.drift->InSyncConditionFor(name, node.metadata().generation())) {
      ReplaceCondition(*std::move(in_sync), now, &node);
    }
  }
  stored_nodes_.clear();
  for (const auto& [name, stored] : sources_.snapshot->nodes()) stored_nodes_.insert(name);
  std::vector<Node> out;
  out.reserve(desired.size());
  for (auto& [name, node] : desired) {
    // Derived on every pass, so an operator's removed label goes at once.
    // (An agent that last spoke to an older build, which kept no
    // agentLabels, shows its labels again when it next says Hello, as
    // every connected agent does when the upgraded controller starts.)
    *node.mutable_metadata()->mutable_labels() = MergedLabels(node);
    out.push_back(std::move(node));
  }
  return out;
}

absl::Status StatusWriter::WriteNodes(std::vector<Node> nodes, Stats* stats) {
  std::vector<std::pair<Object, int64_t>> writes;  // with the revision read
  for (Node& node : nodes) {
    Object desired;
    *desired.mutable_node() = std::move(node);
    const auto& stored = sources_.snapshot->nodes();
    auto it = stored.find(desired.node().metadata().name());
    if (it == stored.end()) {
      writes.emplace_back(std::move(desired), WriteOp::kMustNotExist);
    } else if (!google::protobuf::util::MessageDifferencer::Equals(desired, it->second.object())) {
      // The whole Node, not "did the spec change?" (api::SameSpec): its
      // status and labels are what this writes, and labels are a map, so
      // its bytes are not canonical.
      writes.emplace_back(std::move(desired), it->second.revision);
    }
  }
  stats->writes += writes.size();
  const absl::Time start = sources_.clock();
  absl::Status committed = Commit(std::move(writes));
  stats->commit += sources_.clock() - start;
  return committed;
}

absl::Status StatusWriter::WriteStatuses(const std::vector<Input>& forwards, absl::Time now,
                                         Stats* stats) {
  const absl::Time start = sources_.clock();
  std::vector<Input> taken;
  std::vector<std::string> names;
  taken.reserve(forwards.size());
  names.reserve(forwards.size() + forgotten_.size());
  // Looked up one by one only while something is marked (checked again
  // every so often): mostly nothing is, and 100k locked lookups were ~15 ms.
  constexpr size_t kRecheckEvery = 1024;
  bool any_marked = false;
  for (size_t i = 0; i < forwards.size(); ++i) {
    if (i % kRecheckEvery == 0) any_marked = !sources_.dirty->Empty();
    const std::string& name = forwards[i].forward->name;
    if (any_marked && sources_.dirty->Contains(name)) {
      ++stats->superseded;
      continue;
    }
    taken.push_back(forwards[i]);
    names.push_back(name);
  }
  for (const std::string& name : forgotten_) names.push_back(name);
  const std::vector<ForwardStatuses::Bytes> current = sources_.statuses->GetMany(names);

  Tally tally;
  std::vector<ForwardStatuses::Update> updates;
  PassMemo memo;
  for (size_t i = 0; i < taken.size(); ++i) {
    ForwardStatuses::Bytes status = StatusWrite(taken[i], now, current[i], &memo, &tally);
    if (status != nullptr) updates.push_back({names[i], std::move(status)});
  }
  for (const auto& [inputs, computed] : memo.by_inputs) {
    for (const auto& [condition, delta] : computed.tally) tally[condition] += delta * computed.uses;
  }
  for (size_t i = taken.size(); i < names.size(); ++i) {
    if (current[i] == nullptr) continue;
    ferry::v1::IPForwardStatus gone;
    if (gone.ParseFromString(*current[i])) {
      for (const Condition& c : gone.conditions()) --tally[{c.type(), c.status()}];
    }
    updates.push_back({names[i], nullptr});
  }
  stats->writes += updates.size();
  stats->compute += sources_.clock() - start;
  if (updates.empty()) {
    forgotten_.clear();
    return absl::OkStatus();
  }
  const absl::Time publish = sources_.clock();
  absl::StatusOr<int64_t> published = sources_.statuses->Publish(std::move(updates));
  stats->commit += sources_.clock() - publish;
  if (!published.ok()) {
    // Recomputed by the next pass; removals stay queued.
    for (size_t i = 0; i < taken.size(); ++i) retries_.insert(names[i]);
    return published.status();
  }
  forgotten_.clear();
  for (const auto& [key, delta] : tally) {
    if ((condition_counts_[key] += delta) == 0) condition_counts_.erase(key);
  }
  return absl::OkStatus();
}

void StatusWriter::Forget(const std::set<std::string>& names) {
  for (const std::string& name : names) {
    forgotten_.insert(name);
    held_.erase(name);
  }
}

void StatusWriter::ForgetAllExceptSnapshot() {
  for (const std::string& name : sources_.statuses->Names()) {
    if (sources_.snapshot->forwards().count(name) == 0) Forget({name});
  }
}

ForwardStatuses::Bytes StatusWriter::StatusWrite(const Input& input, absl::Time now,
                                                 const ForwardStatuses::Bytes& current,
                                                 PassMemo* memo, Tally* tally) {
  const PlanForward& forward = *input.forward;
  const std::string& name = forward.name;
  const ForwardResolution* resolution = input.resolution;
  const std::vector<InvolvedNode> nodes = NodesOf(forward, *resolution);
  std::map<std::string, NodeAckInfo> acks = sources_.pushes->AcksFor(forward, nodes);
  sources_.data_path->AddVerdictsTo(name, nodes, &acks);
  if (resolution->accepted && sources_.pending_grace > absl::ZeroDuration()) {
    std::optional<absl::Time> due =
        PendingDue(nodes, acks, forward.generation, sources_.pending_grace);
    if (due && now < *due) {
      held_[name] = *due;
      next_due_ = std::min(next_due_, *due);
      return nullptr;
    }
  }
  if (!held_.empty()) held_.erase(name);
  const std::vector<ForwardDrift> drift = sources_.drift->UnrepairedFor(name, nodes);
  // A forward with drift names its own objects: computed alone, and
  // tallied now; the memo's are tallied once per pass (Computed::uses).
  if (!drift.empty()) {
    Computed alone = Compute(forward, *resolution, acks, drift, now, current, memo);
    for (const auto& [condition, delta] : alone.tally) (*tally)[condition] += delta;
    return alone.status;
  }
  auto [it, inserted] =
      memo->by_inputs.try_emplace(StatusInputs(forward, *resolution, nodes, acks, current));
  if (inserted) it->second = Compute(forward, *resolution, acks, drift, now, current, memo);
  ++it->second.uses;
  return it->second.status;
}

StatusWriter::Computed StatusWriter::Compute(ForwardRef forward,
                                             const ForwardResolution& resolution,
                                             const std::map<std::string, NodeAckInfo>& acks,
                                             const std::vector<ForwardDrift>& drift, absl::Time now,
                                             const ForwardStatuses::Bytes& current,
                                             PassMemo* memo) {
  Computed computed;
  ferry::v1::IPForwardStatus previous;
  if (current != nullptr && !previous.ParseFromString(*current)) previous.Clear();
  ferry::v1::IPForwardStatus status = ComputeStatus(forward, resolution, acks, now, previous);
  SetCondition(DriftedCondition(forward, drift), now, previous.conditions(),
               status.mutable_conditions());
  std::string encoded = status.SerializeAsString();
  if (current != nullptr && *current == encoded) return computed;  // unchanged
  for (const Condition& c : previous.conditions()) {
    computed.tally.push_back({{c.type(), c.status()}, -1});
  }
  for (const Condition& c : status.conditions()) {
    computed.tally.push_back({{c.type(), c.status()}, +1});
  }
  // Forwards created together mostly end in the same status: each distinct
  // one is kept once.
  auto it = memo->interned.find(encoded);
  if (it == memo->interned.end()) {
    auto bytes = std::make_shared<const std::string>(std::move(encoded));
    it = memo->interned.emplace(std::string_view(*bytes), bytes).first;
  }
  computed.status = it->second;
  return computed;
}

std::set<std::string> StatusWriter::TakeDue(absl::Time now) {
  std::set<std::string> due;
  if (now < next_due_) return due;
  next_due_ = absl::InfiniteFuture();
  for (auto it = held_.begin(); it != held_.end();) {
    if (it->second <= now) {
      due.insert(it->first);
      held_.erase(it++);
    } else {
      next_due_ = std::min(next_due_, it->second);
      ++it;
    }
  }
  return due;
}

std::optional<absl::Time> StatusWriter::NextDue() const {
  if (held_.empty()) return std::nullopt;
  return next_due_;
}

absl::Status StatusWriter::Commit(std::vector<std::pair<Object, int64_t>> objects) {
  if (objects.empty()) return absl::OkStatus();
  FleetSnapshot& snapshot = *sources_.snapshot;
  std::vector<WriteOp> batch;
  batch.reserve(objects.size());
  for (const auto& [object, revision] : objects) batch.push_back(PutOp(object, revision));
  absl::StatusOr<int64_t> r = store_->Commit(batch);
  if (r.ok()) {
    for (auto& [object, revision] : objects) snapshot.RecordWrite(std::move(object), *r);
    snapshot.CommittedOwn(*r);
    return absl::OkStatus();
  }
  if (r.status().code() != absl::StatusCode::kAborted) return r.status();
  // A stale precondition fails the whole batch: write the rest one by one.
  absl::Status result = absl::OkStatus();
  for (size_t i = 0; i < batch.size(); ++i) {
    const WriteOp& op = batch[i];
    absl::StatusOr<int64_t> one = store_->Commit({op});
    if (one.ok()) {
      snapshot.RecordWrite(std::move(objects[i].first), *one);
      snapshot.CommittedOwn(*one);
      continue;
    }
    if (one.status().code() == absl::StatusCode::kAborted) {
      // Someone wrote it since we read it: the next pass catches up on
      // their write and recomputes.
      LogDebug("node write lost a race; replanning", {{"kind", op.kind}, {"name", op.name}});
      sources_.on_lost_race();
      continue;
    }
    result = one.status();
  }
  return result;
}

}  // namespace ferry::controller
