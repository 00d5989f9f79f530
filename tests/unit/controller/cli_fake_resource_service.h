#ifndef FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_RESOURCE_SERVICE_H_
#define FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_RESOURCE_SERVICE_H_

// An in-memory ResourceService for ferryctl tests, served in-process. It
// records requests and plays scripted watch events, then holds the stream
// open until the client cancels it.

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "api/lib/list_metadata.h"
#include "api/lib/selector.h"
#include "controller/cli/kinds.h"
#include "ferry/v1/ferry.grpc.pb.h"
#include "google/protobuf/util/message_differencer.h"
#include "grpcpp/grpcpp.h"

namespace ferry::cli::testing {

class FakeResourceService final : public ferry::v1::ResourceService::Service {
 public:
  void Put(const ferry::v1::Object& object) {
    absl::MutexLock lock(&mu_);
    objects_[Key(KindOf(object), MetaOf(object).name())] = object;
  }
  void AddWatchEvent(ferry::v1::WatchEvent::Type type, const ferry::v1::Object& object,
                     const std::string& resource_version) {
    absl::MutexLock lock(&mu_);
    ferry::v1::WatchEvent& event = watch_events_.emplace_back();
    event.set_type(type);
    *event.mutable_object() = object;
    event.set_resource_version(resource_version);
  }
  // The revision each List then names in its trailing metadata, as the
  // controller does; none by default, as an older server.
  void SetListRevision(const std::string& revision) {
    absl::MutexLock lock(&mu_);
    list_revision_ = revision;
  }
  std::vector<ferry::v1::ApplyRequest> apply_requests() {
    absl::MutexLock lock(&mu_);
    return apply_requests_;
  }
  // ApplyStream messages received, applied or not.
  int apply_messages() {
    absl::MutexLock lock(&mu_);
    return apply_messages_;
  }
  std::vector<ferry::v1::WatchRequest> watch_requests() {
    absl::MutexLock lock(&mu_);
    return watch_requests_;
  }
  std::vector<std::string> deleted() {
    absl::MutexLock lock(&mu_);
    return deleted_;
  }
  // What every Diff then answers.
  void SetDiff(grpc::Status status, ferry::v1::DiffResponse response = {}) {
    absl::MutexLock lock(&mu_);
    diff_status_ = std::move(status);
    diff_response_ = std::move(response);
  }
  std::vector<ferry::v1::ApplyRequest> diff_requests() {
    absl::MutexLock lock(&mu_);
    return diff_requests_;
  }

  grpc::Status Version(grpc::ServerContext*, const ferry::v1::VersionRequest*,
                       ferry::v1::VersionResponse* response) override {
    response->set_version("9.8.7");
    return grpc::Status::OK;
  }

  grpc::Status Diff(grpc::ServerContext*, const ferry::v1::ApplyRequest* request,
                    ferry::v1::DiffResponse* response) override {
    absl::MutexLock lock(&mu_);
    diff_requests_.push_back(*request);
    if (diff_status_.ok()) *response = diff_response_;
    return diff_status_;
  }

  grpc::Status Apply(grpc::ServerContext*, const ferry::v1::ApplyRequest* request,
                     ferry::v1::ApplyResponse* response) override {
    absl::MutexLock lock(&mu_);
    apply_requests_.push_back(*request);
    for (const ferry::v1::Object& object : request->objects()) {
      const auto key = Key(KindOf(object), MetaOf(object).name());
      ferry::v1::ApplyResult* result = response->add_results();
      result->set_kind(KindOf(object) == ferry::v1::NODE ? "Node" : "IPForward");
      result->set_name(MetaOf(object).name());
      auto it = objects_.find(key);
      if (it == objects_.end()) {
        result->set_outcome("created");
      } else if (google::protobuf::util::MessageDifferencer::Equals(it->second, object)) {
        result->set_outcome("unchanged");
      } else {
        result->set_outcome("configured");
      }
      if (!request->dry_run()) objects_[key] = object;
    }
    return grpc::Status::OK;
  }

  // As the controller: the messages merged into one request (recorded
  // with objects and dry_run only), applied only when the last arrived.
  grpc::Status ApplyStream(grpc::ServerContext* context,
                           grpc::ServerReader<ferry::v1::ApplyRequest>* reader,
                           ferry::v1::ApplyResponse* response) override {
    ferry::v1::ApplyRequest request;
    ferry::v1::ApplyRequest message;
    bool last = false;
    while (reader->Read(&message)) {
      {
        absl::MutexLock lock(&mu_);
        ++apply_messages_;
      }
      for (const ferry::v1::Object& o : message.objects()) *request.add_objects() = o;
      request.set_dry_run(message.dry_run());
      last = message.last();
    }
    if (!last) return grpc::Status(grpc::StatusCode::CANCELLED, "no last message");
    return Apply(context, &request, response);
  }

  grpc::Status Get(grpc::ServerContext*, const ferry::v1::GetRequest* request,
                   ferry::v1::Object* response) override {
    absl::MutexLock lock(&mu_);
    auto it = objects_.find(Key(request->kind(), request->name()));
    if (it == objects_.end()) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such object");
    *response = it->second;
    return grpc::Status::OK;
  }

  // The objects of the kind that the selector matches, two to a batch
  // (ferryctl lists only so).
  grpc::Status ListBatches(grpc::ServerContext* context, const ferry::v1::ListRequest* request,
                           grpc::ServerWriter<ferry::v1::ObjectBatch>* writer) override {
    absl::StatusOr<api::LabelSelector> selector =
        api::ParseLabelSelector(request->label_selector());
    if (!selector.ok()) {
      return grpc::Status(grpc::StatusCode::INVALID_ARGUMENT,
                          std::string(selector.status().message()));
    }
    std::vector<ferry::v1::Object> objects;
    std::string revision;
    {
      absl::MutexLock lock(&mu_);
      for (const auto& [key, object] : objects_) {
        if (key.first == request->kind() && api::Matches(*selector, MetaOf(object).labels())) {
          objects.push_back(object);
        }
      }
      revision = list_revision_;
    }
    for (size_t i = 0; i < objects.size(); i += 2) {
      ferry::v1::ObjectBatch batch;
      for (size_t j = i; j < std::min(objects.size(), i + 2); ++j)
        *batch.add_objects() = objects[j];
      writer->Write(batch);
    }
    if (!revision.empty()) context->AddTrailingMetadata(api::kListRevisionMetadata, revision);
    return grpc::Status::OK;
  }

  grpc::Status Delete(grpc::ServerContext*, const ferry::v1::DeleteRequest* request,
                      ferry::v1::DeleteResponse*) override {
    absl::MutexLock lock(&mu_);
    if (objects_.erase(Key(request->kind(), request->name())) == 0) {
      return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such object");
    }
    deleted_.push_back(ObjectRef(request->kind(), request->name()));
    return grpc::Status::OK;
  }

  // The events set, two to a batch (ferryctl watches only so), then the
  // stream is held.
  grpc::Status WatchBatches(grpc::ServerContext* context, const ferry::v1::WatchRequest* request,
                            grpc::ServerWriter<ferry::v1::WatchEventBatch>* writer) override {
    std::vector<ferry::v1::WatchEvent> events;
    {
      absl::MutexLock lock(&mu_);
      watch_requests_.push_back(*request);
      events = watch_events_;
    }
    for (size_t i = 0; i < events.size(); i += 2) {
      ferry::v1::WatchEventBatch batch;
      for (size_t j = i; j < std::min(events.size(), i + 2); ++j) *batch.add_events() = events[j];
      writer->Write(batch);
    }
    HoldLikeAWatch(context);
    return grpc::Status::OK;
  }

 private:
  // Holds the stream like a real watch, until the client goes away.
  static void HoldLikeAWatch(grpc::ServerContext* context) {
    const absl::Time give_up = absl::Now() + absl::Seconds(20);
    while (!context->IsCancelled() && absl::Now() < give_up) {
      absl::SleepFor(absl::Milliseconds(5));
    }
  }

  static std::pair<int, std::string> Key(ferry::v1::ResourceKind kind, const std::string& name) {
    return {static_cast<int>(kind), name};
  }

  absl::Mutex mu_;
  std::map<std::pair<int, std::string>, ferry::v1::Object> objects_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::ApplyRequest> apply_requests_ ABSL_GUARDED_BY(mu_);
  int apply_messages_ ABSL_GUARDED_BY(mu_) = 0;
  std::vector<ferry::v1::WatchRequest> watch_requests_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::WatchEvent> watch_events_ ABSL_GUARDED_BY(mu_);
  std::vector<std::string> deleted_ ABSL_GUARDED_BY(mu_);
  std::string list_revision_ ABSL_GUARDED_BY(mu_);
  grpc::Status diff_status_ ABSL_GUARDED_BY(mu_);
  ferry::v1::DiffResponse diff_response_ ABSL_GUARDED_BY(mu_);
  std::vector<ferry::v1::ApplyRequest> diff_requests_ ABSL_GUARDED_BY(mu_);
};

// The fake, served in-process, and a client for it.
class FakeServer {
 public:
  FakeServer() {
    grpc::ServerBuilder builder;
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    channel_ = server_->InProcessChannel(grpc::ChannelArguments());
  }
  ~FakeServer() { server_->Shutdown(absl::ToChronoTime(absl::Now() + absl::Seconds(1))); }

  FakeResourceService& service() { return service_; }
  std::shared_ptr<grpc::Channel> channel() { return channel_; }

 private:
  FakeResourceService service_;
  std::unique_ptr<grpc::Server> server_;
  std::shared_ptr<grpc::Channel> channel_;
};

}  // namespace ferry::cli::testing

#endif  // FERRY_TESTS_UNIT_CONTROLLER_CLI_FAKE_RESOURCE_SERVICE_H_
