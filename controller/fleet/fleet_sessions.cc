// FleetReconciler: what agent streams tell it (connect, ACK/NACK, addresses,
// drift, disconnect) and what it pushes to them. Each callback records which
// forwards' statuses its news may change, so the next pass recomputes those
// alone.

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/config_delta.h"
#include "api/lib/log.h"
#include "api/lib/sync_protocol.h"
#include "controller/fleet/fleet_events.h"
#include "controller/fleet/fleet_reconciler.h"
#include "controller/fleet/fleet_session.h"

namespace ferry::controller {

using ferry::v1::NodeConfig;

void FleetReconciler::AckScope(const NodeState& state, std::set<std::string>* out) {
  for (const auto& [forward, error] : state.acked_forward_errors) out->insert(forward);
  for (const auto& [forward, error] : state.nack_forward_errors) out->insert(forward);
  // A NACK blames the forwards whose pushed generation is not the ACKed one.
  if (state.push_nacked) {
    ConfigGenerations::Diff(state.pushed.generations.get(), state.acked.generations.get(), out);
  }
}

template <typename Fn>
void FleetReconciler::ChangeAcks(NodeState* state, Fn change) {
  std::set<std::string> scope;
  AckScope(*state, &scope);
  std::shared_ptr<const ConfigGenerations> acked_before = state->acked.generations;
  change();
  AckScope(*state, &scope);
  ConfigGenerations::Diff(acked_before.get(), state->acked.generations.get(), &scope);
  status_dirty_.merge(scope);
}

void FleetReconciler::PushChanged(absl::Time pass_start) {
  for (auto& [name, st] : nodes_) {
    Session* s = st.session;
    if (s == nullptr) continue;
    std::shared_ptr<const NodeConfig> config = planner_.Config(name);
    if (config == nullptr || s->pushed_version == config->version()) continue;
    if (AdoptApplied(pass_start, s, &st, config)) continue;
    ferry::v1::ControllerMessage message;
    s->last_nonce = absl::StrCat(++s->nonce);
    ferry::v1::ConfigPush* push = message.mutable_push();
    push->set_nonce(s->last_nonce);
    std::optional<ferry::v1::NodeConfigDelta> delta = DeltaFor(*s, st, *config);
    if (delta) {
      *push->mutable_delta() = *std::move(delta);
    } else {
      *push->mutable_config() = *config;
    }
    s->sink->Push(message);
    metrics_.ConfigPushed(name, delta ? kPushDelta : kPushFull);
    MarkPushed(pass_start, s, &st, config, /*adopted=*/false);
    LogInfo("pushed config",
            {{"node", name},
             {"version", config->version()},
             {"nonce", s->last_nonce},
             {"kind", push->has_delta() ? kPushDelta : kPushFull},
             {"changed_forwards",
              push->has_delta() ? absl::StrCat(push->delta().forwards_size()) : "all"},
             {"dnat", absl::StrCat(config->dnat_size())},
             {"return_routes", absl::StrCat(config->return_routes_size())}});
  }
}

void FleetReconciler::MarkPushed(absl::Time pass_start, Session* s, NodeState* st,
                                 const std::shared_ptr<const NodeConfig>& config, bool adopted) {
  s->pushed_version = config->version();
  s->last_push_acked = adopted;
  ChangeAcks(st, [&] {
    st->pushed.config = config;
    st->pushed.generations = std::make_shared<const ConfigGenerations>(*config);
    st->push_nacked = false;
    st->nack_error.clear();
    st->nack_forward_errors.clear();
    if (adopted) {
      st->acked = st->pushed;
      st->acked_forward_errors = {st->hello.last_applied_forward_errors().begin(),
                                  st->hello.last_applied_forward_errors().end()};
    }
  });
  st->pushed_change_seen = pass_start;
}

bool FleetReconciler::AdoptApplied(absl::Time pass_start, Session* s, NodeState* st,
                                   const std::shared_ptr<const NodeConfig>& config) {
  // Only on a stream's first push, and only for the very version planned:
  // the version is a hash of the config's content, so the agent holds it.
  if (!s->pushed_version.empty() || st->hello.last_applied_version() != config->version()) {
    return false;
  }
  MarkPushed(pass_start, s, st, config, /*adopted=*/true);
  LogInfo("adopted the agent's applied config",
          {{"node", s->node},
           {"version", config->version()},
           {"failed_forwards", absl::StrCat(st->acked_forward_errors.size())}});
  return true;
}

std::optional<ferry::v1::NodeConfigDelta> FleetReconciler::DeltaFor(const Session& session,
                                                                    const NodeState& state,
                                                                    const NodeConfig& config) {
  // Only on top of a config this stream's agent is known to hold: the first
  // push of a stream, one after an un-ACKed push (in flight or NACKed) and
  // one to an agent that takes no deltas are full.
  if (!session.delta_capable || !session.last_push_acked || !state.acked ||
      state.acked->version() != session.pushed_version) {
    return std::nullopt;
  }
  ferry::v1::NodeConfigDelta delta = api::ComputeDelta(*state.acked.config, config);
  // When most forwards changed, the whole config is the smaller message.
  if (delta.ByteSizeLong() >= config.ByteSizeLong()) return std::nullopt;
  return delta;
}

SessionHandle* FleetReconciler::Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                        PushSink* sink) {
  absl::MutexLock l(&mu_);
  auto session = std::make_unique<Session>();
  session->id = next_session_id_++;
  session->node = node_name;
  session->sink = sink;
  session->delta_capable = api::HasCapability(hello, ferry::v1::CAPABILITY_CONFIG_DELTA);
  NodeState& st = nodes_[node_name];
  if (st.session != nullptr) {
    st.session->active = false;
    st.session->sink->Close(
        absl::AbortedError(absl::StrCat("replaced by a newer stream for node ", node_name)));
    LogInfo("agent stream replaced", {{"node", node_name}});
  }
  // What the agent runs is what it says it applied; if that is not what we
  // saw it ACK, our record of its state is stale.
  if (st.acked && st.acked->version() != hello.last_applied_version()) {
    ChangeAcks(&st, [&] {
      st.acked = NodeConfigRef();
      st.acked_forward_errors.clear();
    });
  }
  st.session = session.get();
  st.seen = true;
  // Now, not at the next pass's end: that pass may plan a big config first.
  metrics_.SetConnected(node_name, true);
  RecordNodeEvent(node_name, true);
  st.hello = hello;
  st.last_seen = options_.clock();
  LogInfo("agent connected", {{"node", node_name},
                              {"agent_version", hello.agent_version()},
                              {"last_applied_version", hello.last_applied_version()}});
  SessionHandle* handle = session.get();
  sessions_[handle] = std::move(session);
  Kick();
  return handle;
}

void FleetReconciler::OnAck(SessionHandle* handle, const ferry::v1::ConfigAck& ack) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  Session* s = it->second.get();
  if (ack.nonce() != s->last_nonce) {
    LogDebug("ignoring stale ack",
             {{"node", s->node}, {"nonce", ack.nonce()}, {"expected", s->last_nonce}});
    return;
  }
  NodeState& st = nodes_[s->node];
  if (!ack.accepted() && ack.reason() == ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH) {
    // The agent holds another version than the delta's base: not a failure
    // of the config, so no event; the next pass pushes it whole.
    LogInfo("delta rejected; pushing the full config",
            {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
    s->pushed_version.clear();
    s->last_push_acked = false;
    Kick();
    return;
  }
  if (ack.accepted()) {
    if (st.pushed) metrics_.ApplyLatency(options_.clock() - st.pushed_change_seen);
    s->last_push_acked = true;
    ChangeAcks(&st, [&] {
      st.acked = st.pushed;
      st.acked_forward_errors = {ack.forward_errors().begin(), ack.forward_errors().end()};
      st.push_nacked = false;
    });
    LogInfo("config acked", {{"node", s->node}, {"version", ack.version()}});
    if (!ack.forward_errors().empty()) RecordApplyFailure(s->node, ack);
  } else {
    ChangeAcks(&st, [&] {
      st.push_nacked = true;
      st.nack_error = ack.error();
      st.nack_forward_errors = {ack.forward_errors().begin(), ack.forward_errors().end()};
    });
    LogWarning("config nacked",
               {{"node", s->node}, {"version", ack.version()}, {"error", ack.error()}});
    RecordApplyFailure(s->node, ack);
  }
  Kick();
}

void FleetReconciler::OnAddresses(SessionHandle* handle, const ferry::v1::AddressUpdate& update) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  *nodes_[it->second->node].hello.mutable_addresses() = update.addresses();
  Kick();
}

void FleetReconciler::OnDrift(SessionHandle* handle, const ferry::v1::DriftReport& report) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end() || !it->second->active) return;
  const std::string& node = it->second->node;
  // The forwards the old and the new report name may change their Drifted.
  drift_.ForwardsIn(node, &status_dirty_);
  // Only queued here; the reconcile thread writes them.
  for (EventOccurrence& o : drift_.OnReport(node, report, options_.clock(), &metrics_)) {
    events_.Record(std::move(o));
  }
  drift_.ForwardsIn(node, &status_dirty_);
  LogInfo("drift report", {{"node", node},
                           {"in_sync", report.in_sync() ? "true" : "false"},
                           {"items", absl::StrCat(report.items_size())},
                           {"trigger", report.trigger()},
                           {"config_version", report.config_version()}});
  Kick();
}

void FleetReconciler::RecordApplyFailure(const std::string& node, const ferry::v1::ConfigAck& ack) {
  metrics_.ApplyFailed(node);
  for (EventOccurrence& o : ApplyFailedEvents(node, ack, options_.clock())) {
    events_.Record(std::move(o));
  }
}

void FleetReconciler::RecordNodeEvent(const std::string& node, bool connected) {
  events_.Record(NodeStreamEvent(node, connected, options_.clock()));
}

void FleetReconciler::Disconnect(SessionHandle* handle) {
  absl::MutexLock l(&mu_);
  auto it = sessions_.find(handle);
  if (it == sessions_.end()) return;
  Session* s = it->second.get();
  NodeState& st = nodes_[s->node];
  if (st.session == s) {
    st.session = nullptr;
    st.last_seen = options_.clock();
    LogInfo("agent disconnected", {{"node", s->node}});
    RecordNodeEvent(s->node, false);
    Kick();
  }
  sessions_.erase(it);
}

}  // namespace ferry::controller

namespace ferry::controller {

void FleetReconciler::ForgetNode(const std::string& node_name, const absl::Status& why) {
  absl::MutexLock l(&mu_);
  auto it = nodes_.find(node_name);
  if (it == nodes_.end()) return;
  NodeState& st = it->second;
  if (st.session != nullptr) {
    st.session->active = false;
    st.session->sink->Close(why);
    st.session = nullptr;
  }
  // Not seen: the next pass neither writes the Node back nor plans for it.
  st.seen = false;
  metrics_.SetConnected(node_name, false);
  LogInfo("node forgotten", {{"node", node_name}, {"reason", std::string(why.message())}});
  Kick();
}

}  // namespace ferry::controller
