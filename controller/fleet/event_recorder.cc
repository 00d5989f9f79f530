#include "controller/fleet/event_recorder.h"

#include <algorithm>
#include <map>
#include <tuple>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "api/lib/timestamps.h"
#include "api/lib/uuid.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/json_util.h"

namespace ferry::controller {
namespace {

uint64_t Fnv1a(absl::string_view bytes) {
  uint64_t hash = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ull;
  }
  return hash;
}

// Folds one occurrence into `event` (empty when new).
void Apply(const EventOccurrence& o, const std::string& name, const std::string& uid,
           ferry::v1::Event* event) {
  if (event->count() == 0) {
    event->set_api_version(api::kApiVersion);
    event->set_kind(api::kKindEvent);
    event->mutable_metadata()->set_name(name);
    event->mutable_metadata()->set_uid(uid);
    event->mutable_metadata()->set_generation(1);
    api::SetTimestamp(o.time, event->mutable_metadata()->mutable_creation_timestamp());
    event->mutable_involved_object()->set_kind(o.involved_kind);
    event->mutable_involved_object()->set_name(o.involved_name);
    event->set_reason(o.reason);
    event->set_node(o.node);
    api::SetTimestamp(o.time, event->mutable_first_timestamp());
  }
  event->set_count(event->count() + 1);
  event->set_type(o.type);
  event->set_message(o.message);
  // Reports can arrive out of clock order (agent clocks, reconnects).
  if (!event->has_last_timestamp() || api::FromTimestamp(event->last_timestamp()) < o.time) {
    api::SetTimestamp(o.time, event->mutable_last_timestamp());
  }
}

}  // namespace

std::string EventName(const EventOccurrence& o) {
  // Length-prefixed fields, so ("a", "bc") and ("ab", "c") differ.
  std::string key;
  for (const std::string* field :
       {&o.involved_kind, &o.involved_name, &o.reason, &o.node, &o.object}) {
    absl::StrAppend(&key, field->size(), ":", *field, ";");
  }
  return absl::StrFormat("%s.%08x", o.involved_name, Fnv1a(key) >> 32);
}

bool IsAlertReason(const std::string& reason) {
  return reason == kEventDriftDetected || reason == kEventDriftRepaired ||
         reason == kEventApplyFailed || reason == kEventNodeDisconnected ||
         reason == kEventDataPathFailed || reason == kEventDataPathRestored ||
         reason == kEventRolledBack;
}

std::string EventWebhookBody(const ferry::v1::Event& event) {
  std::string json;
  google::protobuf::util::JsonPrintOptions options;
  options.preserve_proto_field_names = false;  // lowerCamel, as the API's JSON
  if (!google::protobuf::util::MessageToJsonString(event, &json, options).ok()) json = "{}";
  return absl::StrCat("{\"event\":", json, "}");
}

EventRecorder::EventRecorder(Store* store, Options options)
    : store_(store), options_(std::move(options)) {}

void EventRecorder::Record(EventOccurrence occurrence) {
  absl::MutexLock l(&mu_);
  pending_.push_back(std::move(occurrence));
  while (pending_.size() > options_.max_pending) {
    pending_.pop_front();
    if (dropped_++ % 1000 == 0) {
      LogWarning("event queue full; dropping the oldest",
                 {{"max_pending", absl::StrCat(options_.max_pending)}});
    }
  }
}

absl::Status EventRecorder::Flush() {
  std::deque<EventOccurrence> batch;
  {
    absl::MutexLock l(&mu_);
    batch.swap(pending_);
  }
  if (batch.empty()) return absl::OkStatus();
  auto requeue = [&](const absl::Status& status) {
    absl::MutexLock l(&mu_);
    // Older occurrences go back in front of any that arrived meanwhile.
    for (auto it = batch.rbegin(); it != batch.rend(); ++it) {
      if (pending_.size() >= options_.max_pending) break;
      pending_.push_front(*it);
    }
    return status;
  };

  std::map<std::string, ferry::v1::Event> events;
  std::vector<std::string> order;  // first-occurrence order, for on_written
  bool created = false;
  for (const EventOccurrence& o : batch) {
    std::string name = EventName(o);
    auto it = events.find(name);
    if (it == events.end()) {
      ferry::v1::Event current;
      absl::StatusOr<StoredObject> stored = store_->Get(api::kKindEvent, name);
      if (stored.ok()) {
        absl::StatusOr<ferry::v1::Object> object = DecodeStored(*stored);
        if (object.ok() && object->has_event()) current = object->event();
      } else if (!absl::IsNotFound(stored.status())) {
        return requeue(stored.status());
      }
      created = created || current.count() == 0;
      it = events.emplace(name, std::move(current)).first;
      order.push_back(name);
    }
    Apply(o, name, it->second.count() == 0 ? api::NewUuidV4(bitgen_) : "", &it->second);
  }

  std::vector<WriteOp> ops;
  for (const std::string& name : order) {
    ferry::v1::Object object;
    *object.mutable_event() = events[name];
    // Only this thread writes events, so there is no race to guard against.
    ops.push_back(PutOp(object, WriteOp::kAnyRevision));
  }
  absl::StatusOr<int64_t> committed = store_->Commit(ops);
  if (!committed.ok()) return requeue(committed.status());
  for (const std::string& name : order) {
    const ferry::v1::Event& e = events[name];
    LogInfo("event",
            {{"reason", e.reason()},
             {"object", absl::StrCat(e.involved_object().kind(), "/", e.involved_object().name())},
             {"node", e.node()},
             {"count", absl::StrCat(e.count())},
             {"message", e.message()}});
    if (options_.on_written) options_.on_written(e);
  }
  return created ? Prune() : absl::OkStatus();
}

absl::Status EventRecorder::Prune() {
  // (last seen, name): the least recently seen go first.
  std::vector<std::tuple<absl::Time, std::string, int64_t>> all;
  absl::StatusOr<int64_t> listed = store_->List(api::kKindEvent, [&](const StoredObject& stored) {
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    absl::Time seen = object.ok() && object->has_event()
                          ? api::FromTimestamp(object->event().last_timestamp())
                          : absl::InfinitePast();  // undecodable: prune first
    all.emplace_back(seen, stored.name, stored.revision);
    return true;
  });
  if (!listed.ok()) return listed.status();
  if (all.size() <= options_.max_events) return absl::OkStatus();
  size_t excess = all.size() - options_.max_events;
  std::partial_sort(all.begin(), all.begin() + static_cast<std::ptrdiff_t>(excess), all.end());
  std::vector<WriteOp> ops;
  for (size_t i = 0; i < excess; ++i) {
    WriteOp op;
    op.type = WriteOp::Type::kDelete;
    op.kind = api::kKindEvent;
    op.name = std::get<1>(all[i]);
    op.expected_revision = std::get<2>(all[i]);
    ops.push_back(std::move(op));
  }
  absl::StatusOr<int64_t> committed = store_->Commit(ops);
  return committed.ok() ? absl::OkStatus() : committed.status();
}

}  // namespace ferry::controller
