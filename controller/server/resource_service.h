#ifndef FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_
#define FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_

// ferry.v1.ResourceService over a Store: a thin translation from protos to
// ObjectWriter and Store calls. Sync API: each call owns a thread, and
// Watch polls cancellation between bounded waits.

#include <grpcpp/grpcpp.h>

#include "absl/time/time.h"
#include "controller/server/object_writer.h"
#include "controller/store/store.h"
#include "ferry/v1/ferry.grpc.pb.h"

namespace ferry::controller {

class ResourceServiceImpl final : public ferry::v1::ResourceService::Service {
 public:
  explicit ResourceServiceImpl(Store* store, absl::Duration watch_poll = absl::Seconds(1))
      : store_(store), writer_(store), watch_poll_(watch_poll) {}

  grpc::Status Apply(grpc::ServerContext* context, const ferry::v1::ApplyRequest* request,
                     ferry::v1::ApplyResponse* response) override;
  grpc::Status Get(grpc::ServerContext* context, const ferry::v1::GetRequest* request,
                   ferry::v1::Object* response) override;
  grpc::Status List(grpc::ServerContext* context, const ferry::v1::ListRequest* request,
                    grpc::ServerWriter<ferry::v1::Object>* writer) override;
  grpc::Status Delete(grpc::ServerContext* context, const ferry::v1::DeleteRequest* request,
                      ferry::v1::DeleteResponse* response) override;
  grpc::Status Watch(grpc::ServerContext* context, const ferry::v1::WatchRequest* request,
                     grpc::ServerWriter<ferry::v1::WatchEvent>* writer) override;

 private:
  Store* const store_;
  ObjectWriter writer_;
  const absl::Duration watch_poll_;
};

}  // namespace ferry::controller

#endif  // FERRY_CONTROLLER_SERVER_RESOURCE_SERVICE_H_
