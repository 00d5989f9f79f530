// ResourceService's write of objects: Apply (one message) and ApplyStream
// (the same request in chunks, read as the client sends them).

#include <map>
#include <string>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "api/lib/grpc_status.h"
#include "api/lib/log.h"
#include "api/lib/objects.h"
#include "controller/server/resource_service.h"

namespace ferry::controller {
namespace {

// An apply of up to this many objects logs a line per object; a larger one
// logs one line of counts (the audit log, when set, still has every object).
constexpr int kLoggedApplyObjects = 100;

}  // namespace

void ResourceServiceImpl::AuditApplyFailure(const Principal& who,
                                            const ferry::v1::ApplyRequest& request, bool allowed,
                                            const std::string& outcome, absl::string_view reason) {
  // A call with no objects is still one call to account for.
  if (request.objects_size() == 0) Audit(who, "apply", "", "", "", allowed, outcome, reason);
  for (const ferry::v1::Object& object : request.objects()) {
    Audit(who, "apply", api::KindName(object), api::ObjectName(object), "", allowed, outcome,
          reason);
  }
}

grpc::Status ResourceServiceImpl::Apply(grpc::ServerContext* context,
                                        const ferry::v1::ApplyRequest* request,
                                        ferry::v1::ApplyResponse* response) {
  // gRPC's sync handler owns the request as a mutable message and only
  // destroys it after this returns.
  return ApplyObjects(context, const_cast<ferry::v1::ApplyRequest*>(request), response);
}

grpc::Status ResourceServiceImpl::ApplyStream(grpc::ServerContext* context,
                                              grpc::ServerReader<ferry::v1::ApplyRequest>* reader,
                                              ferry::v1::ApplyResponse* response) {
  // Each chunk is parsed by gRPC as it arrives, while the client is still
  // reading its files: the request is whole soon after the last chunk.
  ferry::v1::ApplyRequest request;
  ferry::v1::ApplyRequest chunk;
  size_t bytes = 0;
  bool first = true;
  bool last = false;
  absl::Time started;
  while (reader->Read(&chunk)) {
    if (last) {
      return api::ToGrpcStatus(
          absl::InvalidArgumentError("last: a message followed the last one; nothing was written"));
    }
    last = chunk.last();
    if (first) {
      started = absl::Now();
      // Refused before anything is held for a caller with no write right.
      const Principal who = Caller(*context);
      if (absl::Status s = Authorize(who, Verb::kApply, api::kKindIPForward); !s.ok()) {
        LogDenial(who, s);
        AuditApplyFailure(who, chunk, false, "denied", s.message());
        return api::ToGrpcStatus(s);
      }
      request.set_dry_run(chunk.dry_run());
      first = false;
    } else if (chunk.dry_run() != request.dry_run()) {
      return api::ToGrpcStatus(
          absl::InvalidArgumentError("dry_run: must be the same in every message of one apply"));
    }
    bytes += chunk.ByteSizeLong();
    if (bytes > options_.max_apply_bytes) {
      return api::ToGrpcStatus(absl::ResourceExhaustedError(
          absl::StrCat("apply: more than ", options_.max_apply_bytes,
                       " bytes in one apply (--max-apply-bytes); nothing was written")));
    }
    request.mutable_objects()->Reserve(request.objects_size() + chunk.objects_size());
    for (ferry::v1::Object& object : *chunk.mutable_objects()) request.add_objects()->Swap(&object);
    chunk.Clear();
  }
  if (!last || context->IsCancelled()) {
    return api::ToGrpcStatus(absl::CancelledError(
        "the apply stream ended before its last message; nothing was written"));
  }
  const absl::Time received = absl::Now();
  grpc::Status status = ApplyObjects(context, &request, response);
  if (LogEnabled(LogLevel::kDebug)) {
    // Where a large apply's time goes: the stream (bounded by the client's
    // reading) or the write after it.
    LogDebug("apply stream",
             {{"objects", absl::StrCat(request.objects_size())},
              {"receive_ms", absl::StrCat(absl::ToInt64Milliseconds(received - started))},
              {"write_ms", absl::StrCat(absl::ToInt64Milliseconds(absl::Now() - received))}});
  }
  return status;
}

absl::Status ResourceServiceImpl::AuthorizeApply(const Principal& who,
                                                 const ferry::v1::ApplyRequest& request) {
  // Every object must be allowed. A kind-less object (refused later by
  // validation) needs the least write right there is.
  for (const ferry::v1::Object& object : request.objects()) {
    const std::string kind = api::KindName(object);
    absl::Status denied = Authorize(who, Verb::kApply, kind.empty() ? api::kKindIPForward : kind);
    if (!denied.ok()) return denied;
  }
  if (request.objects_size() == 0) return Authorize(who, Verb::kApply, api::kKindIPForward);
  return absl::OkStatus();
}

grpc::Status ResourceServiceImpl::ApplyObjects(grpc::ServerContext* context,
                                               ferry::v1::ApplyRequest* request,
                                               ferry::v1::ApplyResponse* response) {
  const Principal who = Caller(*context);
  const absl::Status denied = AuthorizeApply(who, *request);
  if (!denied.ok()) {
    AuditApplyFailure(who, *request, false, "denied", denied.message());
    LogDenial(who, denied);
    return api::ToGrpcStatus(denied);
  }
  if (grpc::Status s = CheckWriteLimit(context, who, "Apply"); !s.ok()) return s;
  const std::string outcome_prefix = request->dry_run() ? "dry-run:" : "";
  // The writer moves committed objects out of the request rather than
  // have the fleet parse them again.
  absl::StatusOr<ferry::v1::ApplyResponse> result = writer_.Apply(request);
  if (!result.ok()) {
    AuditApplyFailure(who, *request, true, outcome_prefix + "error", result.status().message());
    return api::ToGrpcStatus(result.status());
  }
  *response = *std::move(result);
  const char* what = request->dry_run() ? "apply (dry run)" : "apply";
  const bool each = response->results_size() <= kLoggedApplyObjects;
  std::map<std::string, int> outcomes;
  int64_t revision = 0;  // the newest among the results: the commit's, if any
  absl::string_view max_version;
  for (const ferry::v1::ApplyResult& r : response->results()) {
    // Without an audit log, no entry is built (a string per object).
    if (options_.audit != nullptr) {
      Audit(who, "apply", r.kind(), r.name(), r.resource_version(), true,
            outcome_prefix + r.outcome(), "");
    }
    if (!each) {
      ++outcomes[r.outcome()];
      // Most results carry the commit's revision: parse each text once.
      if (r.resource_version() == max_version) continue;
      int64_t version = 0;
      if (absl::SimpleAtoi(r.resource_version(), &version) && version > revision) {
        revision = version;
        max_version = r.resource_version();
      }
      continue;
    }
    LogInfo(what, {{"kind", r.kind()},
                   {"name", r.name()},
                   {"outcome", r.outcome()},
                   {"revision", r.resource_version()},
                   {"user", who.name}});
  }
  if (!each) {
    LogInfo(what, {{"objects", absl::StrCat(response->results_size())},
                   {"created", absl::StrCat(outcomes["created"])},
                   {"configured", absl::StrCat(outcomes["configured"])},
                   {"unchanged", absl::StrCat(outcomes["unchanged"])},
                   {"revision", absl::StrCat(revision)},
                   {"user", who.name}});
  }
  return grpc::Status::OK;
}

}  // namespace ferry::controller
