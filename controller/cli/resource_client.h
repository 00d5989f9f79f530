#ifndef FERRY_CONTROLLER_CLI_RESOURCE_CLIENT_H_
#define FERRY_CONTROLLER_CLI_RESOURCE_CLIENT_H_

// A thin, blocking wrapper over the ResourceService stub: deadlines on every
// call, gRPC status mapped to absl::Status, and "cannot reach" errors that
// name the address, so commands deal only in protos and Status.

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "controller/cli/interrupt.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "ferry/v1/ferry.pb.h"
#include "grpcpp/channel.h"
#include "grpcpp/support/byte_buffer.h"

namespace ferry::cli {

// An ApplyRequest encoded one object at a time. On the wire, `repeated
// Object objects = 1` is one length-delimited record per object, so a large
// apply holds each object once, as bytes, and never the whole request as
// protos plus their serialization.
class EncodedApplyRequest {
 public:
  void Add(const ferry::v1::Object& object);
  void set_dry_run(bool dry_run) { dry_run_ = dry_run; }
  size_t objects() const { return objects_; }
  // The request's bytes, in pieces that the ByteBuffer takes over.
  grpc::ByteBuffer Finish() &&;

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  std::vector<std::unique_ptr<std::string>> chunks_;
  size_t objects_ = 0;
  bool dry_run_ = false;
};

class ResourceClient {
 public:
  // `address` is only used in messages; `timeout` bounds each unary call and
  // each List stream.
  ResourceClient(std::shared_ptr<grpc::Channel> channel, std::string address,
                 absl::Duration timeout);

  // One request, applied by the controller in one transaction.
  absl::StatusOr<ferry::v1::ApplyResponse> Apply(EncodedApplyRequest request);
  absl::StatusOr<ferry::v1::Object> Get(ferry::v1::ResourceKind kind, const std::string& name);
  // Calls `visit` for each object as it arrives. `revision`, if given, is
  // set to the revision the listed snapshot is at (empty from a server that
  // does not say).
  absl::Status List(ferry::v1::ResourceKind kind, const std::string& label_selector,
                    const std::function<void(const ferry::v1::Object&)>& visit,
                    std::string* revision = nullptr);
  absl::StatusOr<ferry::v1::DeleteResponse> Delete(ferry::v1::ResourceKind kind,
                                                   const std::string& name);
  // Streams events after `resource_version` until `visit` returns false
  // (then OK), the server ends the stream, `deadline` passes
  // (DEADLINE_EXCEEDED; absl::InfiniteFuture() for none) or `canceller` is
  // cancelled (CANCELLED).
  absl::Status Watch(ferry::v1::ResourceKind kind, const std::string& resource_version,
                     absl::Time deadline,
                     const std::function<bool(const ferry::v1::WatchEvent&)>& visit,
                     WatchCanceller* canceller = nullptr);

  const std::string& address() const { return address_; }

 private:
  void PrepareContext(grpc::ClientContext& context, absl::Time deadline) const;
  // ConvertRpcStatus with this client's channel and address.
  absl::Status Convert(const grpc::Status& status, bool is_watch = false) const;

  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<ferry::v1::ResourceService::Stub> stub_;
  std::string address_;
  absl::Duration timeout_;
};

// A resourceVersion as the store revision it is; nullopt if not a number.
std::optional<int64_t> ParseRevision(const std::string& resource_version);

// Bounds on following a Watch the server keeps ending early (get -w, wait).
inline constexpr int kMaxWatchAttempts = 50;
inline constexpr absl::Duration kRewatchBackoff = absl::Milliseconds(200);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_RESOURCE_CLIENT_H_
