#ifndef FERRY_TESTS_UNIT_CONTROLLER_RESOURCE_SERVICE_FIXTURE_H_
#define FERRY_TESTS_UNIT_CONTROLLER_RESOURCE_SERVICE_FIXTURE_H_

// A ResourceService on a test's own SqliteStore, served in process, for the
// tests of the service. Torn down in the order the service needs: the
// server, then the service (its writer's following thread reads the store),
// then the store.

#include <grpcpp/grpcpp.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>

#include "absl/time/time.h"
#include "controller/fleet/forward_statuses.h"
#include "controller/server/resource_service.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {

class ResourceServiceFixture : public ::testing::Test {
 protected:
  // Watches notice a cancelled call within 20 ms.
  static ResourceServiceImpl::Options FastWatchOptions() {
    ResourceServiceImpl::Options options;
    options.watch_poll = absl::Milliseconds(20);
    return options;
  }

  // Opens a store in a fresh directory named after `prefix` and the test,
  // and serves it.
  void OpenAndServe(const std::string& prefix,
                    ResourceServiceImpl::Options options = FastWatchOptions()) {
    store_ = OpenTestStore(prefix, &dir_);
    ASSERT_NE(store_, nullptr);
    Serve(std::move(options));
  }

  // Serves store_ with a new service.
  void Serve(ResourceServiceImpl::Options options = FastWatchOptions()) {
    service_ = std::make_unique<ResourceServiceImpl>(store_.get(), std::move(options));
    grpc::ServerBuilder builder;
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = ferry::v1::ResourceService::NewStub(server_->InProcessChannel({}));
  }

  // Opens a store as OpenAndServe does and serves it with forward statuses
  // from statuses_ (ForwardStatuses keeping `retained_names`).
  void OpenAndServeWithStatuses(const std::string& prefix,
                                size_t retained_names = ForwardStatuses::kRetainedNames) {
    store_ = OpenTestStore(prefix, &dir_);
    ASSERT_NE(store_, nullptr);
    ServeWithStatuses(retained_names);
  }

  // Serves store_ anew, with a new statuses_.
  void ServeWithStatuses(size_t retained_names = ForwardStatuses::kRetainedNames) {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    service_.reset();
    statuses_ = std::make_unique<ForwardStatuses>(store_.get(), retained_names);
    ResourceServiceImpl::Options options = FastWatchOptions();
    options.statuses = statuses_.get();
    Serve(std::move(options));
  }

  // Stops serving, then closes the store; the directory stays.
  void StopAndClose() {
    if (server_) server_->Shutdown(std::chrono::system_clock::now());
    server_.reset();
    service_.reset();
    statuses_.reset();
    store_.reset();
  }

  void TearDown() override {
    StopAndClose();
    std::filesystem::remove_all(dir_);
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ForwardStatuses> statuses_;  // with OpenAndServeWithStatuses
  std::unique_ptr<ResourceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<ferry::v1::ResourceService::Stub> stub_;
};

}  // namespace ferry::controller

#endif  // FERRY_TESTS_UNIT_CONTROLLER_RESOURCE_SERVICE_FIXTURE_H_
