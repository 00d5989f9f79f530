#include "controller/cli/resource_client.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "controller/cli/rpc_status.h"
#include "grpcpp/client_context.h"
#include "grpcpp/support/sync_stream.h"

namespace ferry::cli {

std::optional<int64_t> ParseRevision(const std::string& resource_version) {
  int64_t value = 0;
  if (!absl::SimpleAtoi(resource_version, &value)) return std::nullopt;
  return value;
}

ResourceClient::ResourceClient(std::shared_ptr<grpc::Channel> channel, std::string address,
                               absl::Duration timeout)
    : channel_(std::move(channel)),
      stub_(ferry::v1::ResourceService::NewStub(channel_)),
      address_(std::move(address)),
      timeout_(timeout) {}

void ResourceClient::PrepareContext(grpc::ClientContext& context, absl::Time deadline) const {
  if (deadline != absl::InfiniteFuture()) context.set_deadline(absl::ToChronoTime(deadline));
}

absl::Status ResourceClient::Convert(const grpc::Status& status, bool is_watch) const {
  return ConvertRpcStatus(status, *channel_, address_, is_watch);
}

absl::StatusOr<ferry::v1::ApplyResponse> ResourceClient::Apply(
    const ferry::v1::ApplyRequest& request) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::ApplyResponse response;
  if (absl::Status s = Convert(stub_->Apply(&context, request, &response)); !s.ok()) return s;
  return response;
}

absl::StatusOr<ferry::v1::Object> ResourceClient::Get(ferry::v1::ResourceKind kind,
                                                      const std::string& name) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::GetRequest request;
  request.set_kind(kind);
  request.set_name(name);
  ferry::v1::Object object;
  if (absl::Status s = Convert(stub_->Get(&context, request, &object)); !s.ok()) return s;
  return object;
}

absl::Status ResourceClient::List(ferry::v1::ResourceKind kind, const std::string& label_selector,
                                  const std::function<void(const ferry::v1::Object&)>& visit) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::ListRequest request;
  request.set_kind(kind);
  request.set_label_selector(label_selector);
  std::unique_ptr<grpc::ClientReader<ferry::v1::Object>> reader = stub_->List(&context, request);
  ferry::v1::Object object;
  while (reader->Read(&object)) visit(object);
  return Convert(reader->Finish());
}

absl::StatusOr<ferry::v1::DeleteResponse> ResourceClient::Delete(ferry::v1::ResourceKind kind,
                                                                 const std::string& name) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::DeleteRequest request;
  request.set_kind(kind);
  request.set_name(name);
  ferry::v1::DeleteResponse response;
  if (absl::Status s = Convert(stub_->Delete(&context, request, &response)); !s.ok()) return s;
  return response;
}

absl::Status ResourceClient::Watch(ferry::v1::ResourceKind kind,
                                   const std::string& resource_version, absl::Time deadline,
                                   const std::function<bool(const ferry::v1::WatchEvent&)>& visit,
                                   WatchCanceller* canceller) {
  grpc::ClientContext context;
  PrepareContext(context, deadline);
  ferry::v1::WatchRequest request;
  request.set_kind(kind);
  request.set_resource_version(resource_version);
  if (canceller != nullptr) canceller->Attach(&context);
  std::unique_ptr<grpc::ClientReader<ferry::v1::WatchEvent>> reader =
      stub_->Watch(&context, request);
  ferry::v1::WatchEvent event;
  bool stopped = false;
  while (reader->Read(&event)) {
    if (!visit(event)) {
      stopped = true;
      context.TryCancel();
      // Drain so Finish does not block on unread messages.
      while (reader->Read(&event)) {
      }
      break;
    }
  }
  const grpc::Status status = reader->Finish();
  if (canceller != nullptr) canceller->Detach();
  if (stopped) return absl::OkStatus();  // CANCELLED: we asked for it
  if (canceller != nullptr && canceller->cancelled()) return absl::CancelledError("interrupted");
  return Convert(status, /*is_watch=*/true);
}

}  // namespace ferry::cli
