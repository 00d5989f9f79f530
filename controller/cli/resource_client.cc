#include "controller/cli/resource_client.h"

#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "api/lib/list_metadata.h"
#include "controller/cli/rpc_status.h"
#include "google/protobuf/arena.h"
#include "google/protobuf/io/coded_stream.h"
#include "grpcpp/client_context.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/slice.h"
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

bool ApplyChunker::Add(const ferry::v1::Object& object) {
  std::string* record =
      current_.GetReflection()->MutableUnknownFields(&current_)->AddLengthDelimited(
          ferry::v1::ApplyRequest::kObjectsFieldNumber);
  object.SerializeToString(record);
  // The record on the wire: tag, length, object.
  bytes_ +=
      1 + google::protobuf::io::CodedOutputStream::VarintSize64(record->size()) + record->size();
  return bytes_ >= kChunkBytes;
}

ferry::v1::ApplyRequest ApplyChunker::Take(bool last) {
  ferry::v1::ApplyRequest message;
  message.Swap(&current_);
  message.set_dry_run(dry_run_);
  message.set_last(last);
  bytes_ = 0;
  return message;
}

absl::StatusOr<ferry::v1::ApplyResponse> ResourceClient::ApplyStreamed(
    bool dry_run, const std::function<absl::Status(const ObjectSink& add)>& read) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::ApplyResponse response;
  std::unique_ptr<grpc::ClientWriter<ferry::v1::ApplyRequest>> stream =
      stub_->ApplyStream(&context, &response);
  ApplyChunker chunks(dry_run);
  // A failed write means the server ended the call; Finish says why.
  bool open = true;
  absl::Status decoded = read([&](const ferry::v1::Object& object) {
    if (chunks.Add(object) && open) open = stream->Write(chunks.Take());
  });
  if (!decoded.ok()) {
    context.TryCancel();
    stream->Finish();
    return decoded;
  }
  if (open) open = stream->Write(chunks.Take(/*last=*/true));
  if (open) stream->WritesDone();
  if (absl::Status s = Convert(stream->Finish()); !s.ok()) return s;
  return response;
}

absl::StatusOr<ferry::v1::DiffResponse> ResourceClient::Diff(const ferry::v1::ApplyRequest& request,
                                                             absl::Duration timeout) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout);
  ferry::v1::DiffResponse response;
  if (absl::Status s = Convert(stub_->Diff(&context, request, &response)); !s.ok()) return s;
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

absl::StatusOr<std::string> ResourceClient::Version() {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::VersionResponse response;
  if (absl::Status s = Convert(stub_->Version(&context, ferry::v1::VersionRequest(), &response));
      !s.ok()) {
    return s;
  }
  return response.version();
}

namespace {

// Reads a stream's batches, each decoded into a message on one arena that
// is reset after the batch, until `fn(batch)` returns false or the stream
// ends. Decoded into a reused heap message, every object's oneof was
// freed and allocated again: malloc and free were ~40% of `ferryctl wait
// --all`'s CPU while 100k statuses streamed in.
template <typename Batch, typename Fn>
void ReadBatches(grpc::ClientReader<Batch>* reader, Fn fn) {
  google::protobuf::ArenaOptions options;
  options.start_block_size = 64 << 10;
  options.max_block_size = 1 << 20;
  google::protobuf::Arena arena(options);
  while (true) {
    Batch* batch = google::protobuf::Arena::CreateMessage<Batch>(&arena);
    if (!reader->Read(batch) || !fn(*batch)) return;
    arena.Reset();
  }
}

}  // namespace

absl::Status ResourceClient::List(ferry::v1::ResourceKind kind, const std::string& label_selector,
                                  const std::function<void(const ferry::v1::Object&)>& visit,
                                  std::string* revision) {
  grpc::ClientContext context;
  PrepareContext(context, absl::Now() + timeout_);
  ferry::v1::ListRequest request;
  request.set_kind(kind);
  request.set_label_selector(label_selector);
  // Batches: 100k objects as one message each cost the server seconds.
  std::unique_ptr<grpc::ClientReader<ferry::v1::ObjectBatch>> reader =
      stub_->ListBatches(&context, request);
  ReadBatches(reader.get(), [&](const ferry::v1::ObjectBatch& batch) {
    for (const ferry::v1::Object& object : batch.objects()) visit(object);
    return true;
  });
  absl::Status status = Convert(reader->Finish());
  if (status.ok() && revision != nullptr) {
    const auto& trailers = context.GetServerTrailingMetadata();
    auto it = trailers.find(api::kListRevisionMetadata);
    revision->assign(it == trailers.end() ? "" : std::string(it->second.data(), it->second.size()));
  }
  return status;
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
  // Batches: 100k events as one message each cost the server seconds.
  std::unique_ptr<grpc::ClientReader<ferry::v1::WatchEventBatch>> reader =
      stub_->WatchBatches(&context, request);
  bool stopped = false;
  ReadBatches(reader.get(), [&](const ferry::v1::WatchEventBatch& batch) {
    for (const ferry::v1::WatchEvent& event : batch.events()) {
      if (!visit(event)) {
        stopped = true;
        return false;
      }
    }
    return true;
  });
  if (stopped) {
    context.TryCancel();
    // Drain so Finish does not block on unread messages.
    ferry::v1::WatchEventBatch rest;
    while (reader->Read(&rest)) {
    }
  }
  const grpc::Status status = reader->Finish();
  if (canceller != nullptr) canceller->Detach();
  if (stopped) return absl::OkStatus();  // CANCELLED: we asked for it
  if (canceller != nullptr && canceller->cancelled()) return absl::CancelledError("interrupted");
  return Convert(status, /*is_watch=*/true);
}

}  // namespace ferry::cli
