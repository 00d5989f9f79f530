#include "controller/server/resource_service.h"

#include <algorithm>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "api/lib/log.h"
#include "api/lib/selector.h"
#include "controller/server/grpc_status.h"
#include "controller/store/object_codec.h"

namespace ferry::controller {
namespace {

// Changes read per ChangesSince call; a burst is sent in several rounds.
constexpr size_t kWatchBatch = 512;

absl::StatusOr<std::string> RequireKind(ferry::v1::ResourceKind kind) {
  std::string name = KindString(kind);
  if (name.empty()) {
    return absl::InvalidArgumentError("kind: must be IP_FORWARD, NODE or EVENT");
  }
  return name;
}

ferry::v1::WatchEvent::Type EventType(const Change& change) {
  if (change.type == Change::Type::kDelete) return ferry::v1::WatchEvent::DELETED;
  return change.created ? ferry::v1::WatchEvent::ADDED : ferry::v1::WatchEvent::MODIFIED;
}

}  // namespace

grpc::Status ResourceServiceImpl::Apply(grpc::ServerContext* context,
                                        const ferry::v1::ApplyRequest* request,
                                        ferry::v1::ApplyResponse* response) {
  absl::StatusOr<ferry::v1::ApplyResponse> result = writer_.Apply(*request);
  if (!result.ok()) return ToGrpcStatus(result.status());
  *response = *std::move(result);
  for (const ferry::v1::ApplyResult& r : response->results()) {
    LogInfo(request->dry_run() ? "apply (dry run)" : "apply", {{"kind", r.kind()},
                                                               {"name", r.name()},
                                                               {"outcome", r.outcome()},
                                                               {"revision", r.resource_version()}});
  }
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::Get(grpc::ServerContext* context,
                                      const ferry::v1::GetRequest* request,
                                      ferry::v1::Object* response) {
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return ToGrpcStatus(kind.status());
  absl::StatusOr<StoredObject> stored = store_->Get(*kind, request->name());
  if (absl::IsNotFound(stored.status())) {
    return ToGrpcStatus(absl::NotFoundError(
        absl::StrCat(DisplayKind(*kind), " \"", request->name(), "\" not found")));
  }
  if (!stored.ok()) return ToGrpcStatus(stored.status());
  absl::StatusOr<ferry::v1::Object> object = DecodeStored(*stored);
  if (!object.ok()) return ToGrpcStatus(object.status());
  *response = *std::move(object);
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::List(grpc::ServerContext* context,
                                       const ferry::v1::ListRequest* request,
                                       grpc::ServerWriter<ferry::v1::Object>* writer) {
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return ToGrpcStatus(kind.status());
  absl::StatusOr<api::LabelSelector> selector = api::ParseLabelSelector(request->label_selector());
  if (!selector.ok()) return ToGrpcStatus(selector.status());

  absl::Status failed;
  absl::StatusOr<int64_t> listed = store_->List(*kind, [&](const StoredObject& stored) {
    absl::StatusOr<ferry::v1::Object> object = DecodeStored(stored);
    if (!object.ok()) {
      failed = object.status();
      return false;
    }
    if (!api::Matches(*selector, MetaOf(*object).labels())) return true;
    if (context->IsCancelled() || !writer->Write(*object)) {
      failed = absl::CancelledError("client went away during list");
      return false;
    }
    return true;
  });
  if (!listed.ok()) return ToGrpcStatus(listed.status());
  return ToGrpcStatus(failed);
}

grpc::Status ResourceServiceImpl::Delete(grpc::ServerContext* context,
                                         const ferry::v1::DeleteRequest* request,
                                         ferry::v1::DeleteResponse* response) {
  absl::StatusOr<std::string> kind = RequireKind(request->kind());
  if (!kind.ok()) return ToGrpcStatus(kind.status());
  absl::StatusOr<int64_t> revision =
      writer_.Delete(*kind, request->name(), request->resource_version());
  if (!revision.ok()) return ToGrpcStatus(revision.status());
  response->set_resource_version(absl::StrCat(*revision));
  LogInfo("delete",
          {{"kind", *kind}, {"name", request->name()}, {"revision", response->resource_version()}});
  return grpc::Status::OK;
}

grpc::Status ResourceServiceImpl::Watch(grpc::ServerContext* context,
                                        const ferry::v1::WatchRequest* request,
                                        grpc::ServerWriter<ferry::v1::WatchEvent>* writer) {
  std::string kind;  // empty: every kind
  if (request->kind() != ferry::v1::RESOURCE_KIND_UNSPECIFIED) {
    absl::StatusOr<std::string> k = RequireKind(request->kind());
    if (!k.ok()) return ToGrpcStatus(k.status());
    kind = *k;
  }
  int64_t after = 0;
  if (request->resource_version().empty()) {
    after = store_->CurrentRevision();
  } else if (!absl::SimpleAtoi(request->resource_version(), &after) || after < 0) {
    return ToGrpcStatus(absl::InvalidArgumentError(
        absl::StrCat("resource_version: must be a non-negative integer, got \"",
                     request->resource_version(), "\"")));
  }

  // Tells the client the watch is established from `after` on.
  writer->SendInitialMetadata();
  while (!context->IsCancelled()) {
    // Read before the change log, so advancing `after` to it skips nothing.
    const int64_t current = store_->CurrentRevision();
    absl::StatusOr<std::vector<Change>> changes = store_->ChangesSince(after, kind, kWatchBatch);
    if (absl::IsOutOfRange(changes.status())) {
      return ToGrpcStatus(absl::OutOfRangeError(
          absl::StrCat("resourceVersion too old; re-list (", changes.status().message(), ")")));
    }
    if (!changes.ok()) return ToGrpcStatus(changes.status());
    for (const Change& change : *changes) {
      ferry::v1::WatchEvent event;
      event.set_type(EventType(change));
      event.set_resource_version(absl::StrCat(change.object.revision));
      absl::StatusOr<ferry::v1::Object> object = DecodeStored(change.object);
      if (!object.ok()) return ToGrpcStatus(object.status());
      *event.mutable_object() = *std::move(object);
      if (!writer->Write(event)) return grpc::Status::OK;  // client gone
      after = change.object.revision;
    }
    if (changes->size() >= kWatchBatch) continue;  // more to send
    // Changes of other kinds advance the revision too; skip past them.
    after = std::max(after, current);
    store_->WaitForChange(after, watch_poll_);
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controller
