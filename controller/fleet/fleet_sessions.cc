#include "controller/fleet/fleet_sessions.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "controller/fleet/fleet_events.h"

namespace ferry::controller {

SessionHandle* FleetSessions::Connect(const std::string& node_name, const ferry::v1::Hello& hello,
                                      PushSink* sink) {
  absl::MutexLock l(&mu_);
  SessionHandle* handle = parts_.pushes->Connect(node_name, hello, sink);
  const absl::Time now = parts_.clock();
  parts_.presence->Connected(node_name, hello, now);
  // Now, not at the next pass's end: that pass may plan a big config first.
  parts_.metrics->SetConnected(node_name, true);
  parts_.events->Record(NodeStreamEvent(node_name, true, now));
  LogInfo("agent connected", {{"node", node_name},
                              {"agent_version", hello.agent_version()},
                              {"last_applied_version", hello.last_applied_version()}});
  parts_.kick();
  return handle;
}

void FleetSessions::OnAck(SessionHandle* session, const ferry::v1::ConfigAck& ack) {
  absl::MutexLock l(&mu_);
  PushTracker::AckResult result = parts_.pushes->OnAck(session, ack);
  switch (result.kind) {
    case PushTracker::AckResult::Kind::kIgnored:
      return;
    case PushTracker::AckResult::Kind::kBaseVersionMismatch:
      // Not a failure of the config: no event, no count.
      break;
    case PushTracker::AckResult::Kind::kAccepted:
      if (result.change_seen) {
        parts_.metrics->ApplyLatency(parts_.clock() - *result.change_seen);
      }
      if (!ack.forward_errors().empty()) RecordApplyFailure(result.node, ack);
      break;
    case PushTracker::AckResult::Kind::kRejected:
      RecordApplyFailure(result.node, ack);
      break;
  }
  parts_.kick();
}

void FleetSessions::OnAddresses(SessionHandle* session, const ferry::v1::AddressUpdate& update) {
  absl::MutexLock l(&mu_);
  std::optional<std::string> node = parts_.pushes->ActiveNode(session);
  if (!node) return;
  parts_.presence->AddressesChanged(*node, update);
  parts_.kick();
}

void FleetSessions::OnDrift(SessionHandle* session, const ferry::v1::DriftReport& report) {
  absl::MutexLock l(&mu_);
  std::optional<std::string> node = parts_.pushes->ActiveNode(session);
  if (!node) return;
  DriftTracker::News news = parts_.drift->OnReport(*node, report, parts_.clock(), parts_.metrics);
  parts_.dirty->Mark(std::move(news.forwards));
  // Only queued here; the reconcile thread writes them.
  for (EventOccurrence& o : news.events) parts_.events->Record(std::move(o));
  LogInfo("drift report", {{"node", *node},
                           {"in_sync", report.in_sync() ? "true" : "false"},
                           {"items", absl::StrCat(report.items_size())},
                           {"trigger", report.trigger()},
                           {"config_version", report.config_version()}});
  parts_.kick();
}

void FleetSessions::OnDataPath(SessionHandle* session, const ferry::v1::DataPathReport& report) {
  absl::MutexLock l(&mu_);
  std::optional<std::string> node = parts_.pushes->ActiveNode(session);
  if (!node) return;
  DataPathTracker::News news =
      parts_.data_path->OnReport(*node, report, parts_.clock(), parts_.metrics);
  if (news.forwards.empty()) return;
  if (!news.failed.empty()) {
    LogInfo("data-path probes failed", {{"node", *node},
                                        {"forwards", absl::StrCat(news.failed.size())},
                                        {"first", *news.failed.begin()}});
  }
  parts_.dirty->Mark(std::move(news.forwards));
  for (EventOccurrence& o : news.events) parts_.events->Record(std::move(o));
  parts_.kick();
}

void FleetSessions::Disconnect(SessionHandle* session) {
  absl::MutexLock l(&mu_);
  std::optional<std::string> node = parts_.pushes->Disconnect(session);
  if (!node) return;  // replaced or forgotten before it ended
  const absl::Time now = parts_.clock();
  parts_.presence->Disconnected(*node, now);
  LogInfo("agent disconnected", {{"node", *node}});
  parts_.events->Record(NodeStreamEvent(*node, false, now));
  parts_.kick();
}

void FleetSessions::ForgetNode(const std::string& node_name, const absl::Status& why) {
  absl::MutexLock l(&mu_);
  // Not seen: the next pass neither writes the Node back nor plans for it.
  if (!parts_.presence->Forget(node_name)) return;
  parts_.pushes->CloseNode(node_name, why);
  parts_.metrics->SetConnected(node_name, false);
  LogInfo("node forgotten", {{"node", node_name}, {"reason", std::string(why.message())}});
  parts_.kick();
}

void FleetSessions::RecordApplyFailure(const std::string& node, const ferry::v1::ConfigAck& ack) {
  parts_.metrics->ApplyFailed(node);
  for (EventOccurrence& o : ApplyFailedEvents(node, ack, parts_.clock())) {
    parts_.events->Record(std::move(o));
  }
}

}  // namespace ferry::controller
