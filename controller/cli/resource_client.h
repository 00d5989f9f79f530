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

// An apply's messages for ApplyStream, encoded one object at a time. On
// the wire, `repeated Object objects = 1` is one length-delimited record per
// object: each object is encoded as such a record straight into the
// message's unknown fields, which are written verbatim, so an apply holds
// each object once, as bytes, and only until its message (about 1 MiB) is
// sent.
class ApplyChunker {
 public:
  explicit ApplyChunker(bool dry_run) : dry_run_(dry_run) {}
  // Adds an object; true when the current message is full: Take it.
  bool Add(const ferry::v1::Object& object);
  // The current message (with `last` as given), leaving an empty one.
  ferry::v1::ApplyRequest Take(bool last = false);

 private:
  static constexpr size_t kChunkBytes = 1 << 20;
  const bool dry_run_;
  ferry::v1::ApplyRequest current_;
  size_t bytes_ = 0;
};

class ResourceClient {
 public:
  // `address` is only used in messages; `timeout` bounds each unary call and
  // each List stream.
  ResourceClient(std::shared_ptr<grpc::Channel> channel, std::string address,
                 absl::Duration timeout);

  // Calls `read`, which hands each object it decodes to its argument, and
  // streams the objects to the controller while it reads; the controller
  // applies them in one transaction. If `read` fails, its error is
  // returned and the stream is cancelled: nothing is written.
  using ObjectSink = std::function<void(const ferry::v1::Object&)>;
  absl::StatusOr<ferry::v1::ApplyResponse> ApplyStreamed(
      bool dry_run, const std::function<absl::Status(const ObjectSink& add)>& read);
  absl::StatusOr<ferry::v1::Object> Get(ferry::v1::ResourceKind kind, const std::string& name);
  // Calls `visit` for each object as it arrives. `revision`, if given, is
  // set to the revision the listed snapshot is at (empty from a server that
  // does not say).
  absl::Status List(ferry::v1::ResourceKind kind, const std::string& label_selector,
                    const std::function<void(const ferry::v1::Object&)>& visit,
                    std::string* revision = nullptr);
  // The controller's version (ResourceService.Version).
  absl::StatusOr<std::string> Version();
  absl::StatusOr<ferry::v1::DeleteResponse> Delete(ferry::v1::ResourceKind kind,
                                                   const std::string& name);
  // ResourceService.Diff, within `timeout` rather than the client's own:
  // the controller waits on the agents' answers.
  absl::StatusOr<ferry::v1::DiffResponse> Diff(const ferry::v1::ApplyRequest& request,
                                               absl::Duration timeout);
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
