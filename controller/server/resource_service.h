#ifndef FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_
#define FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_

// ferry.v1.ResourceService over a Store: a thin translation from protos to
// ObjectWriter and Store calls. Sync API: each call owns a thread, and
// Watch polls cancellation between bounded waits.
//
// Protection: writes (Apply, Delete) are rate-limited per client, refused
// with RESOURCE_EXHAUSTED and a retry hint. A watch holds at most one batch
// of changes in memory (it reads the store's change log, never a queue of
// its own): a client that reads slowly falls behind in the change log and is
// ended with OUT_OF_RANGE "too old; re-list" once the log is compacted past
// it, and a client that stops reading (its HTTP/2 window full, the write
// blocked) is cut off after `watch_stall_timeout`, freeing its thread; it
// ends with RESOURCE_EXHAUSTED "watch cut off: the client did not read for
// ...", so the client learns why and where to resume.
//
// Security: every call is authorized first (controller/security/
// authorizer.h) for the principal `Options::principal` names, and a refused
// call changes and reads nothing. Every denial and every write, failed ones
// included, is recorded in the audit sink; reads that are allowed are not.

#include <grpcpp/grpcpp.h>

#include <functional>
#include <memory>
#include <string>

#include "absl/time/time.h"
#include "controller/fleet/plan_requests.h"
#include "controller/protection/protection_metrics.h"
#include "controller/protection/rate_limiter.h"
#include "controller/protection/timer_thread.h"
#include "controller/resources/object_writer.h"
#include "controller/security/admission.h"
#include "controller/security/audit_log.h"
#include "controller/security/authorizer.h"
#include "controller/security/principal.h"
#include "controller/server/status_overlay.h"
#include "controller/store/commit_handoff.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {

class ResourceServiceImpl final : public ferry::v1::ResourceService::Service {
 public:
  struct Options {
    // How long one store wait may block before cancellation is noticed.
    absl::Duration watch_poll = absl::Seconds(1);
    // Apply and Delete calls per client. Generous: above what a durable
    // store commits per second, so only floods of cheap calls (unchanged,
    // invalid, dry runs) or of many parallel streams are slowed; the burst
    // admits scripted loops and the benchmarks' one-by-one applies.
    RateLimit writes{/*per_second=*/5000, /*burst=*/20000};
    // A watch whose client has read nothing for this long is ended.
    absl::Duration watch_stall_timeout = absl::Seconds(30);
    // The rate limiter's key for a call. Unset: the principal's name when
    // `principal` is set and the caller is authenticated, else
    // ClientIdentity(peer).
    std::function<std::string(const grpc::ServerContext&)> client_identity;
    // Where the protection counters go; a private one if null.
    ProtectionMetrics* metrics = nullptr;
    // Who is calling, from the connection alone. Unset: a local admin
    // "uid:0", for in-process servers and tests that have no identities.
    std::function<Principal(const grpc::ServerContextBase&)> principal;
    // Where denials and writes are recorded; none if null. Not owned.
    AuditSink* audit = nullptr;
    // Checked on every apply (ObjectWriter); none if null. Not owned.
    const Admission* admission = nullptr;
    // Called after a Node is deleted, with its name: its credentials and
    // stream must go too, or its agent would re-create it.
    std::function<void(const std::string& node)> on_node_deleted;
    // The forwards' statuses, served in place of the stored ones (the
    // store keeps none); forwards are served as stored if null. Not owned.
    const ForwardStatuses* statuses = nullptr;
    // Where each apply's committed objects are handed to the fleet's
    // snapshot; none if null. Not owned.
    CommitHandoff* handoff = nullptr;
    // The most one ApplyStream may send in total: one transaction, held in
    // memory until it commits.
    size_t max_apply_bytes = 256 << 20;
    // The agents Diff asks what a config would change; with none, every
    // affected node's diff is an error. Not owned.
    PlanRequests* plans = nullptr;
    // How long Diff waits for the agents' answers, at most (less when the
    // call's own deadline is nearer).
    absl::Duration diff_wait = absl::Seconds(10);
    // The most bytes of lines one DiffResponse carries, under ferryctl's
    // 4 MiB receive limit; a node's lines beyond it are counted, not sent.
    size_t max_diff_bytes = 3 << 20;
  };

  explicit ResourceServiceImpl(Store* store, absl::Duration watch_poll = absl::Seconds(1));
  ResourceServiceImpl(Store* store, Options options);

  grpc::Status Apply(grpc::ServerContext* context, const ferry::v1::ApplyRequest* request,
                     ferry::v1::ApplyResponse* response) override;
  grpc::Status ApplyStream(grpc::ServerContext* context,
                           grpc::ServerReader<ferry::v1::ApplyRequest>* reader,
                           ferry::v1::ApplyResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const ferry::v1::GetRequest* request,
                   ferry::v1::Object* response) override;
  grpc::Status List(grpc::ServerContext* context, const ferry::v1::ListRequest* request,
                    grpc::ServerWriter<ferry::v1::Object>* writer) override;
  grpc::Status ListBatches(grpc::ServerContext* context, const ferry::v1::ListRequest* request,
                           grpc::ServerWriter<ferry::v1::ObjectBatch>* writer) override;
  grpc::Status Delete(grpc::ServerContext* context, const ferry::v1::DeleteRequest* request,
                      ferry::v1::DeleteResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context, const ferry::v1::WatchRequest* request,
                     grpc::ServerWriter<ferry::v1::WatchEvent>* writer) override;
  grpc::Status WatchBatches(grpc::ServerContext* context, const ferry::v1::WatchRequest* request,
                            grpc::ServerWriter<ferry::v1::WatchEventBatch>* writer) override;
  // What applying the request would change in each affected node's kernel
  // (resource_diff.cc): authorized and checked as a dry-run apply (the
  // same errors), then each node whose planned config the objects change
  // is asked by its agent. Writes nothing. Blocks this call's thread for
  // at most Options::diff_wait.
  grpc::Status Diff(grpc::ServerContext* context, const ferry::v1::ApplyRequest* request,
                    ferry::v1::DiffResponse* response) override;
  // ferry::kFerryVersion; any authenticated principal may ask.
  grpc::Status Version(grpc::ServerContext* context, const ferry::v1::VersionRequest* request,
                       ferry::v1::VersionResponse* response) override;

 private:
  // OK if `who` may apply every object of `request` (a request without
  // objects needs the least write right there is).
  static absl::Status AuthorizeApply(const Principal& who, const ferry::v1::ApplyRequest& request);
  // Authorizes, rate-limits, writes, audits and logs one apply, whichever
  // RPC carried it (resource_apply.cc). Committed objects are moved out of
  // `request`.
  grpc::Status ApplyObjects(grpc::ServerContext* context, ferry::v1::ApplyRequest* request,
                            ferry::v1::ApplyResponse* response);
  // How one watch reaches its client, whichever RPC carries it.
  struct WatchOutput {
    std::function<void()> established;  // initial metadata: watching from now
    // Sends an encoded WatchEvent, or holds it for the next message; false
    // once the client is gone.
    std::function<bool(std::string)> emit;
    // Sends what emit held; false once the client is gone.
    std::function<bool()> flush;
  };
  grpc::Status ServeWatch(grpc::ServerContext* context, const ferry::v1::WatchRequest& request,
                          const WatchOutput& output);
  // The same for a List: each object listed, then flush.
  grpc::Status ServeList(grpc::ServerContext* context, const ferry::v1::ListRequest& request,
                         const std::function<bool(ferry::v1::Object)>& emit,
                         const std::function<bool()>& flush);

  // OK, or RESOURCE_EXHAUSTED saying when to retry (also in the trailing
  // metadata "retry-after-ms").
  grpc::Status CheckWriteLimit(grpc::ServerContext* context, const Principal& who,
                               const char* method);
  Principal Caller(const grpc::ServerContext& context) const;
  static void LogDenial(const Principal& who, const absl::Status& status);
  // Authorize, recording a denial of (verb, kind, name) in the audit log.
  absl::Status Allow(const Principal& who, Verb verb, const std::string& kind,
                     const std::string& name);
  void Audit(const Principal& who, absl::string_view verb, const std::string& kind,
             const std::string& name, const std::string& resource_version, bool allowed,
             std::string outcome, absl::string_view reason);
  // One entry per object of an apply that failed or was denied.
  void AuditApplyFailure(const Principal& who, const ferry::v1::ApplyRequest& request, bool allowed,
                         const std::string& outcome, absl::string_view reason);

  Store* const store_;
  ObjectWriter writer_;
  const Options options_;
  std::unique_ptr<ProtectionMetrics> own_metrics_;
  ProtectionMetrics* const metrics_;
  RateLimiter write_limiter_;
  const StatusOverlay overlay_;
  // Declared last: joined first, before what a stall guard touches goes.
  TimerThread timer_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_
