#include "controller/server/resource_service.h"

#include <grpc/grpc.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/cleanup/cleanup.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/lib/conditions.h"
#include "api/lib/grpc_status.h"
#include "api/lib/list_metadata.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "api/lib/selector.h"
#include "api/lib/validation.h"
#include "controller/server/node_identity.h"
#include "controller/server/stream_batcher.h"
#include "controller/store/change_feed.h"
#include "controller/store/object_codec.h"
#include "ferry/version.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/wire_format_lite.h"

namespace ferry::controller {
namespace {

// Changes read per batch of the change log; a burst is sent in several
// rounds.
constexpr size_t kWatchBatch = 512;

// OK unless the stored Node says its agent is connected (absent: the
// delete's own NOT_FOUND follows).
absl::Status NodeDeletable(Store* store, const std::string& name) {
  absl::StatusOr<StoredObject> stored = store->Get(api::kKindNode, name);
  if (!stored.ok()) return absl::IsNotFound(stored.status()) ? absl::OkStatus() : stored.status();
  absl::StatusOr<ferry::v1::Object> object = DecodeStored(*stored);
  if (!object.ok()) return object.status();
  if (api::ConditionStatus(object->node().status().conditions(), api::kConditionConnected) ==
      "True") {
    return absl::FailedPreconditionError(absl::StrCat(
        "node ", name, "'s agent is connected; stop it (or revoke its credentials) first"));
  }
  return absl::OkStatus();
}

absl::StatusOr<std::string> RequireKind(ferry::v1::ResourceKind kind) {
  std::string name = api::KindName(kind);
  if (name.empty()) {
    return absl::InvalidArgumentError("kind: must be IP_FORWARD, NODE or EVENT");
  }
  return name;
}

ferry::v1::WatchEvent::Type EventType(const Change& change) {
  if (change.type == Change::Type::kDelete) return ferry::v1::WatchEvent::DELETED;
  return change.created ? ferry::v1::WatchEvent::ADDED : ferry::v1::WatchEvent::MODIFIED;
}

// A WatchEvent of an encoded Object, encoded: the object is neither parsed
// nor copied into a message to be encoded again.
std::string EncodeWatchEvent(ferry::v1::WatchEvent::Type type, const std::string& object,
                             const std::string& resource_version) {
  using google::protobuf::internal::WireFormatLite;
  std::string out;
  google::protobuf::io::StringOutputStream stream(&out);
  google::protobuf::io::CodedOutputStream coded(&stream);
  WireFormatLite::WriteEnum(ferry::v1::WatchEvent::kTypeFieldNumber, type, &coded);
  WireFormatLite::WriteBytes(ferry::v1::WatchEvent::kObjectFieldNumber, object, &coded);
  WireFormatLite::WriteString(ferry::v1::WatchEvent::kResourceVersionFieldNumber, resource_version,
                              &coded);
  coded.Trim();
  return out;
}

// What a watch cut off for not reading ends with: the cause, and how to
// resume. Not "from the last event received": one Apply's objects share a
// revision, so the cut can fall inside one, and watching after it would
// skip the rest of that revision (and what the client had buffered is
// dropped, so the server cannot say what arrived).
absl::Status CutOffStatus(absl::Duration stalled_for) {
  return absl::ResourceExhaustedError(
      absl::StrCat("watch cut off: the client did not read for ", absl::FormatDuration(stalled_for),
                   "; re-list, then watch from the list's resourceVersion"));
}

// Ends a watch whose write has not completed by its deadline: with the sync
// API a blocked Write cannot be timed out otherwise. It cancels the call
// with the cut-off status itself, because a status the handler returns after
// a cancel never reaches the client (which would read only CANCELLED). The
// status goes out as trailers, which HTTP/2 does not flow-control, so it
// reaches a client whose window is full; what was queued behind the window
// is dropped.
class StallGuard : public TimerThread::Target {
 public:
  StallGuard(grpc::ServerContext* context, absl::Duration stalled_for)
      : context_(context), stalled_for_(stalled_for) {}
  void OnTimer() override {
    fired_ = true;
    const absl::Status status = CutOffStatus(stalled_for_);
    // The C core call is the only way to cancel with a status of our own;
    // ServerContext::TryCancel always says CANCELLED.
    grpc_call_cancel_with_status(context_->c_call(), GRPC_STATUS_RESOURCE_EXHAUSTED,
                                 std::string(status.message()).c_str(), nullptr);
  }
  bool fired() const { return fired_; }

 private:
  grpc::ServerContext* const context_;
  const absl::Duration stalled_for_;
  std::atomic<bool> fired_{false};
};

std::string DefaultIdentity(const grpc::ServerContext& context) {
  return ClientIdentity(context.peer());
}

Principal LocalAdmin(const grpc::ServerContextBase& context) {
  Principal admin;
  admin.name = "uid:0";
  admin.role = Role::kAdmin;
  admin.source = context.peer();
  admin.local = true;
  return admin;
}

}  // namespace

void ResourceServiceImpl::LogDenial(const Principal& who, const absl::Status& status) {
  LogInfo("denied",
          {{"user", who.name}, {"source", who.source}, {"reason", std::string(status.message())}});
}

ResourceServiceImpl::ResourceServiceImpl(Store* store, absl::Duration watch_poll)
    : ResourceServiceImpl(store, [watch_poll] {
        Options options;
        options.watch_poll = watch_poll;
        return options;
      }()) {}

ResourceServiceImpl::ResourceServiceImpl(Store* store, Options options)
    : store_(store),
      writer_(store, options.admission, options.handoff),
      options_(std::move(options)),
      own_metrics_(options_.metrics == nullptr ? std::make_unique<ProtectionMetrics>(nullptr)
                                               : nullptr),
      metrics_(options_.metrics != nullptr ? options_.metrics : own_metrics_.get()),
      write_limiter_(options_.writes),
      overlay_(options_.statuses) {}

Principal ResourceServiceImpl::Caller(const grpc::ServerContext& context) const {
  return options_.principal ? options_.principal(context) : LocalAdmin(context);
}

void ResourceServiceImpl::Audit(const Principal& who, absl::string_view verb,
                                const std::string& kind, const std::string& name,
                                const std::string& resource_version, bool allowed,
                                std::string outcome, absl::string_view reason) {
  if (options_.audit == nullptr) return;
  AuditEntry entry;
  entry.time = absl::Now();
  entry.user = who.name;
  entry.role = std::string(RoleName(who.role));
  entry.source = who.source;
  entry.verb = std::string(verb);
  entry.kind = kind;
  entry.name = name;
  entry.resource_version = resource_version;
  entry.allowed = allowed;
  entry.outcome = std::move(outcome);
  entry.reason = std::string(reason);
  options_.audit->Record(entry);
}

absl::Status ResourceServiceImpl::Allow(const Principal& who, Verb verb, const std::string& kind,
                                        const std::string& name) {
  absl::Status status = Authorize(who, verb, kind);
  if (!status.ok()) {
    Audit(who, VerbName(verb), kind, name, "", false, "denied", status.message());
    LogDenial(who, status);
  }
  return status;
}

grpc::Status ResourceServiceImpl::CheckWriteLimit(grpc::ServerContext* context,
                                                  const Principal& who, const char* method) {
  if (!options_.writes.enabled()) return grpc::Status::OK;
  std::string client;
  if (options_.client_identity) {
    client = options_.client_identity(*context);
  } else if (options_.principal && who.authenticated()) {
    client = who.name;
  } else {
    client = DefaultIdentity(*context);
  }
  const absl::Duration wait = write_limiter_.TryAcquire(client);
  if (wait == absl::ZeroDuration()) return grpc::Status::OK;
  metrics_->RateLimited(method);
  const int64_t ms = absl::ToInt64Milliseconds(wait);
  context->AddTrailingMetadata("retry-after-ms", absl::StrCat(ms));
  LogDebug("rate limited", {{"client", client}, {"method", method}});
  return api::ToGrpcStatus(absl::ResourceExhaustedError(
      absl::StrCat("rate limit: client ", client, " exceeds ", options_.writes.per_second,
                   " writes/s (burst ", options_.writes.burst, "); retry in ", ms, " ms")));
}

grpc::Status ResourceServiceImpl::Get(grpc::ServerContext* context,
                                      const ferry::v1::GetRequest* request,
                                      ferry::v1::Object* response) {
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return api::ToGrpcStatus(kind.status());
  if (absl::Status s = Allow(Caller(*context), Verb::kGet, *kind, request->name()); !s.ok()) {
    return api::ToGrpcStatus(s);
  }
  absl::StatusOr<StoredObject> stored = store_->Get(*kind, request->name());
  if (absl::IsNotFound(stored.status())) {
    return api::ToGrpcStatus(absl::NotFoundError(
        absl::StrCat(api::KindLower(request->kind()), " \"", request->name(), "\" not found")));
  }
  if (!stored.ok()) return api::ToGrpcStatus(stored.status());
  absl::StatusOr<ferry::v1::Object> object = DecodeStored(*stored);
  if (!object.ok()) return api::ToGrpcStatus(object.status());
  overlay_.PutCurrent(&*object);
  *response = *std::move(object);
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::Version(grpc::ServerContext* context,
                                          const ferry::v1::VersionRequest* /*request*/,
                                          ferry::v1::VersionResponse* response) {
  if (absl::Status s = Allow(Caller(*context), Verb::kVersion, "", ""); !s.ok()) {
    return api::ToGrpcStatus(s);
  }
  response->set_version(ferry::kFerryVersion);
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::List(grpc::ServerContext* context,
                                       const ferry::v1::ListRequest* request,
                                       grpc::ServerWriter<ferry::v1::Object>* writer) {
  return ServeList(
      context, *request, [writer](ferry::v1::Object object) { return writer->Write(object); },
      [] { return true; });
}

grpc::Status ResourceServiceImpl::ListBatches(grpc::ServerContext* context,
                                              const ferry::v1::ListRequest* request,
                                              grpc::ServerWriter<ferry::v1::ObjectBatch>* writer) {
  StreamBatcher<ferry::v1::ObjectBatch> batch(writer);
  return ServeList(
      context, *request,
      [&](ferry::v1::Object object) {
        return batch.Add(std::move(object),
                         [](ferry::v1::ObjectBatch* b) { return b->add_objects(); });
      },
      [&] { return batch.Send(); });
}

grpc::Status ResourceServiceImpl::ServeList(grpc::ServerContext* context,
                                            const ferry::v1::ListRequest& wanted,
                                            const std::function<bool(ferry::v1::Object)>& emit,
                                            const std::function<bool()>& flush) {
  const ferry::v1::ListRequest* request = &wanted;
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return api::ToGrpcStatus(kind.status());
  if (absl::Status s = Allow(Caller(*context), Verb::kList, *kind, ""); !s.ok()) {
    return api::ToGrpcStatus(s);
  }
  absl::StatusOr<api::LabelSelector> selector = api::ParseLabelSelector(request->label_selector());
  if (!selector.ok()) return api::ToGrpcStatus(selector.status());

  // The statuses as of the list's own snapshot: publications wait from
  // here until the store has opened it (its first object).
  std::optional<ForwardStatuses::Pin> pin;
  if (overlay_.active() && *kind == kKindIPForward) pin.emplace(overlay_.statuses());
  ForwardStatuses::Table statuses;
  absl::Status failed;
  absl::StatusOr<int64_t> listed = store_->List(*kind, [&](const StoredObject& stored) {
    if (pin) {
      statuses = pin->Take();
      pin.reset();
    }
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    if (!object.ok()) {
      failed = object.status();
      return false;
    }
    if (overlay_.active() && object->has_ip_forward()) {
      auto it = statuses.find(stored.name);
      overlay_.Put(it == statuses.end() ? nullptr : it->second, &*object);
    }
    if (!api::Matches(*selector, api::MetaOf(*object).labels())) return true;
    // A gone client fails the write; IsCancelled is a poll of the call's
    // completion queue, a tenth of a 100k list's time when asked per object.
    if (!emit(*std::move(object))) {
      failed = absl::CancelledError("client went away during list");
      return false;
    }
    return true;
  });
  if (!listed.ok()) return api::ToGrpcStatus(listed.status());
  if (failed.ok() && !flush()) failed = absl::CancelledError("client went away during list");
  // Every object sent came from the snapshot at this revision: a client
  // watches from it to miss nothing and replay nothing.
  if (failed.ok()) context->AddTrailingMetadata(api::kListRevisionMetadata, absl::StrCat(*listed));
  return api::ToGrpcStatus(failed);
}

grpc::Status ResourceServiceImpl::Delete(grpc::ServerContext* context,
                                         const ferry::v1::DeleteRequest* request,
                                         ferry::v1::DeleteResponse* response) {
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return api::ToGrpcStatus(kind.status());
  const Principal who = Caller(*context);
  if (absl::Status s = Allow(who, Verb::kDelete, *kind, request->name()); !s.ok()) {
    return api::ToGrpcStatus(s);
  }
  if (grpc::Status s = CheckWriteLimit(context, who, "Delete"); !s.ok()) return s;
  if (request->kind() == ferry::v1::NODE) {
    // A connected agent would register its Node again at once: the delete
    // is refused while the Node says so (its Connected condition, as the
    // fleet publishes it and `ferryctl get nodes` shows it).
    if (absl::Status s = NodeDeletable(store_, request->name()); !s.ok()) {
      Audit(who, "delete", *kind, request->name(), "", true, "error", s.message());
      return api::ToGrpcStatus(s);
    }
  }
  absl::StatusOr<int64_t> revision =
      writer_.Delete(request->kind(), request->name(), request->resource_version());
  if (!revision.ok()) {
    Audit(who, "delete", *kind, request->name(), "", true, "error", revision.status().message());
    return api::ToGrpcStatus(revision.status());
  }
  response->set_resource_version(absl::StrCat(*revision));
  Audit(who, "delete", *kind, request->name(), response->resource_version(), true, "deleted", "");
  LogInfo("delete", {{"kind", *kind},
                     {"name", request->name()},
                     {"revision", response->resource_version()},
                     {"user", who.name}});
  if (request->kind() == ferry::v1::NODE && options_.on_node_deleted) {
    options_.on_node_deleted(request->name());
  }
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::Watch(grpc::ServerContext* context,
                                        const ferry::v1::WatchRequest* request,
                                        grpc::ServerWriter<ferry::v1::WatchEvent>* writer) {
  WatchOutput output;
  output.established = [writer] { writer->SendInitialMetadata(); };
  output.emit = [writer](std::string encoded) {
    // Sent as it is: a message made of unknown fields writes them verbatim.
    ferry::v1::WatchEvent event;
    if (!event.GetReflection()->MutableUnknownFields(&event)->ParseFromString(encoded)) {
      return false;  // cannot happen: ServeWatch encoded it
    }
    return writer->Write(event);
  };
  output.flush = [] { return true; };
  return ServeWatch(context, *request, output);
}

grpc::Status ResourceServiceImpl::WatchBatches(
    grpc::ServerContext* context, const ferry::v1::WatchRequest* request,
    grpc::ServerWriter<ferry::v1::WatchEventBatch>* writer) {
  // A batch goes out when it is full, and whenever the watch has sent all
  // it has (flush): an event never waits for later ones.
  StreamBatcher<ferry::v1::WatchEventBatch> batch(writer);
  WatchOutput output;
  output.established = [writer] { writer->SendInitialMetadata(); };
  output.emit = [&](std::string event) {
    return batch.AddEncoded(ferry::v1::WatchEventBatch::kEventsFieldNumber, std::move(event));
  };
  output.flush = [&] { return batch.Send(); };
  return ServeWatch(context, *request, output);
}

grpc::Status ResourceServiceImpl::ServeWatch(grpc::ServerContext* context,
                                             const ferry::v1::WatchRequest& wanted,
                                             const WatchOutput& output) {
  const ferry::v1::WatchRequest* request = &wanted;
  std::string kind;  // empty: every kind
  if (request->kind() != ferry::v1::RESOURCE_KIND_UNSPECIFIED) {
    absl::StatusOr<std::string> k = RequireKind(request->kind());
    if (!k.ok()) return api::ToGrpcStatus(k.status());
    kind = *k;
  }
  if (absl::Status s = Allow(Caller(*context), Verb::kWatch, kind, ""); !s.ok()) {
    return api::ToGrpcStatus(s);
  }
  int64_t after = 0;
  if (request->resource_version().empty()) {
    after = store_->CurrentRevision();
  } else if (!absl::SimpleAtoi(request->resource_version(), &after) || after < 0) {
    return api::ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("resource_version: must be a non-negative integer, got \"",
                     request->resource_version(), "\"")));
  }

  // Tells the client the watch is established from `after` on.
  output.established();
  StallGuard stall(context, options_.watch_stall_timeout);
  // Every return disarms it: the timer must not touch it once it is gone.
  absl::Cleanup disarm = [&] { timer_.Cancel(&stall); };
  // The guard has already ended the call with CutOffStatus; this counts it
  // and returns the same status (which gRPC drops: the call is over).
  auto cut_off = [&] {
    metrics_->WatchCutOff();
    LogWarning("watch cut off: client stopped reading",
               {{"peer", context->peer()},
                {"stalled_for", absl::FormatDuration(options_.watch_stall_timeout)},
                {"revision", absl::StrCat(after)}});
    return api::ToGrpcStatus(CutOffStatus(options_.watch_stall_timeout));
  };
  // Status changes are marker rows (ForwardStatuses): a watch of forwards
  // reads every kind and expands each marker into the forwards it names.
  const bool markers = overlay_.Watches(kind, ForwardStatuses::kMarkerKind);
  ChangeFeed feed(store_, markers ? "" : kind, kWatchBatch, after);
  bool gone = false;
  // Sends one event; false when the client is gone or was cut off.
  auto client_gone = [&] {
    timer_.Cancel(&stall);
    if (stall.fired()) return cut_off();
    return grpc::Status::OK;
  };
  auto send = [&](ferry::v1::WatchEvent::Type type, const std::string& object,
                  const std::string& revision) {
    // Moving the deadline is one map update; the guard is disarmed only
    // before waiting, where an idle watch must not be cut off.
    timer_.Schedule(&stall, absl::Now() + options_.watch_stall_timeout);
    if (output.emit(EncodeWatchEvent(type, object, revision))) return true;
    gone = true;
    return false;
  };
  while (!context->IsCancelled()) {
    absl::StatusOr<ChangeFeed::Batch> batch = feed.Next();
    if (absl::IsOutOfRange(batch.status())) {
      return api::ToGrpcStatus(absl::OutOfRangeError(
          absl::StrCat("resourceVersion too old; re-list (", batch.status().message(), ")")));
    }
    if (!batch.ok()) return api::ToGrpcStatus(batch.status());
    for (const Change& change : batch->changes) {
      if (!overlay_.Watches(kind, change.object.kind)) continue;
      const std::string revision = absl::StrCat(change.object.revision);
      if (overlay_.IsMarker(change.object.kind)) {
        absl::Status expanded =
            overlay_.ForEachChanged(store_, change.object.revision, [&](std::string object) {
              return send(ferry::v1::WatchEvent::MODIFIED, object, revision);
            });
        if (absl::IsOutOfRange(expanded)) {
          return api::ToGrpcStatus(absl::OutOfRangeError(
              absl::StrCat("resourceVersion too old; re-list (", expanded.message(), ")")));
        }
        if (!expanded.ok()) return api::ToGrpcStatus(expanded);
      } else {
        absl::StatusOr<std::string> object =
            overlay_.Encode(change.object, change.type != Change::Type::kDelete);
        if (!object.ok()) return api::ToGrpcStatus(object.status());
        send(EventType(change), *object, revision);
      }
      if (gone) return client_gone();
      after = change.object.revision;
    }
    // What is held goes out now, under the stall guard.
    if (!output.flush()) return client_gone();
    timer_.Cancel(&stall);
    if (stall.fired()) return cut_off();
    if (!batch->at_end) continue;  // more to send
    // Changes of other kinds advance the revision too; the feed skips them.
    after = feed.revision();
    store_->WaitForChange(after, options_.watch_poll);
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controller
