// A misbehaving ResourceService client (floods Apply, sends an oversized
// Apply, opens a Watch and never reads) cannot keep a well-behaved one from
// applying. A real server on loopback TCP, built as ferry-controller builds
// it, over the real SqliteStore.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "controller/protection/protection_metrics.h"
#include "controller/server/resource_service.h"
#include "controller/server/server_limits.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;

// Every client runs on this host, so the test tells them apart by a header
// (the server is given an identity function reading it); the default
// identity, the peer host, is tested in protection_limits_test.
constexpr char kClientHeader[] = "x-test-client";

ferry::v1::Object Forward(const std::string& name, uint32_t port, int label_bytes = 0) {
  ferry::v1::Object object = TestForward(name, "203.0.113.1", port);
  // Bulk, so a watch's events fill the HTTP/2 window quickly.
  auto& labels = *object.mutable_ip_forward()->mutable_metadata()->mutable_labels();
  for (int i = 0; label_bytes > 0; ++i, label_bytes -= 63) {
    labels[absl::StrCat("bulk", i)] = std::string(63, 'x');
  }
  return object;
}

class ProtectionClientTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore("ferry-prot", &dir_);
    ASSERT_NE(store_, nullptr);
  }

  void StartServer(ResourceServiceImpl::Options options) {
    options.watch_poll = absl::Milliseconds(20);
    options.metrics = &metrics_;
    options.client_identity = [](const grpc::ServerContext& context) {
      auto it = context.client_metadata().find(kClientHeader);
      if (it == context.client_metadata().end()) return std::string("anonymous");
      return std::string(it->second.data(), it->second.size());
    };
    service_ = std::make_unique<ResourceServiceImpl>(store_.get(), options);
    grpc::ServerBuilder builder;
    ConfigureServer(ServerLimits{}, &builder);
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(service_.get());
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }

  void TearDown() override {
    if (server_) server_->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
    server_.reset();
    service_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // A client with its own connection.
  std::unique_ptr<ferry::v1::ResourceService::Stub> NewClient() {
    grpc::ChannelArguments args;
    args.SetInt("ferry.test.unique", next_channel_++);  // no shared subchannel
    return ferry::v1::ResourceService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
  }

  static grpc::Status Apply(ferry::v1::ResourceService::Stub* stub, const std::string& client,
                            std::vector<ferry::v1::Object> objects,
                            std::string* retry_after = nullptr) {
    ferry::v1::ApplyRequest request;
    for (auto& o : objects) *request.add_objects() = std::move(o);
    grpc::ClientContext context;
    context.AddMetadata(kClientHeader, client);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    ferry::v1::ApplyResponse response;
    grpc::Status status = stub->Apply(&context, request, &response);
    if (retry_after != nullptr) {
      auto it = context.GetServerTrailingMetadata().find("retry-after-ms");
      if (it != context.GetServerTrailingMetadata().end()) {
        *retry_after = std::string(it->second.data(), it->second.size());
      }
    }
    return status;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  ProtectionMetrics metrics_{nullptr};
  std::unique_ptr<ResourceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
  int next_channel_ = 0;
};

TEST_F(ProtectionClientTest, FloodingClientIsRefusedWithResourceExhaustedAndARetryHint) {
  ResourceServiceImpl::Options options;
  options.writes = {/*per_second=*/1, /*burst=*/3};
  StartServer(options);
  auto flooder = NewClient();
  grpc::Status refused;
  std::string retry_after;
  for (int i = 0; i < 10 && refused.ok(); ++i) {
    refused =
        Apply(flooder.get(), "flooder", {Forward(absl::StrCat("f", i), 1000 + i)}, &retry_after);
  }
  EXPECT_EQ(refused.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(refused.error_message(), HasSubstr("rate limit: client flooder"));
  EXPECT_THAT(refused.error_message(), HasSubstr("retry in"));
  EXPECT_FALSE(retry_after.empty());
  EXPECT_EQ(metrics_.RateLimitedCount("Apply"), 1);
}

TEST_F(ProtectionClientTest, RateLimitedDeleteIsRefusedToo) {
  ResourceServiceImpl::Options options;
  options.writes = {1, 1};
  StartServer(options);
  auto client = NewClient();
  ASSERT_TRUE(Apply(client.get(), "c", {Forward("a", 80)}).ok());
  ferry::v1::DeleteRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_name("a");
  grpc::ClientContext context;
  context.AddMetadata(kClientHeader, "c");
  ferry::v1::DeleteResponse response;
  EXPECT_EQ(client->Delete(&context, request, &response).error_code(),
            grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_TRUE(store_->Get("IPForward", "a").ok());
}

TEST_F(ProtectionClientTest, WellBehavedClientAppliesPromptlyWhileAnotherFloods) {
  ResourceServiceImpl::Options options;
  options.writes = {/*per_second=*/20, /*burst=*/20};
  StartServer(options);
  std::atomic<bool> stop{false};
  std::atomic<int> flood_refused{0};
  std::thread flood([&] {
    auto flooder = NewClient();
    const absl::Time end = absl::Now() + absl::Seconds(30);
    for (int i = 0; i < 100000 && !stop && absl::Now() < end; ++i) {
      grpc::Status s =
          Apply(flooder.get(), "flooder", {Forward(absl::StrCat("f", i % 50), 1000 + i % 50)});
      if (s.error_code() == grpc::StatusCode::RESOURCE_EXHAUSTED) ++flood_refused;
    }
  });
  // Wait, bounded, until the flooder is over its limit.
  const absl::Time limit = absl::Now() + absl::Seconds(10);
  while (flood_refused == 0 && absl::Now() < limit) absl::SleepFor(absl::Milliseconds(5));
  ASSERT_GT(flood_refused.load(), 0);

  auto polite = NewClient();
  for (int i = 0; i < 5; ++i) {
    const absl::Time start = absl::Now();
    grpc::Status s = Apply(polite.get(), "polite", {Forward(absl::StrCat("p", i), 80 + i)});
    EXPECT_TRUE(s.ok()) << s.error_message();
    EXPECT_LT(absl::Now() - start, absl::Seconds(5)) << "apply " << i;
  }
  stop = true;
  flood.join();
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(store_->Get("IPForward", absl::StrCat("p", i)).ok());
}

TEST_F(ProtectionClientTest, OversizedApplyIsResourceExhaustedAndTheServerKeepsServing) {
  StartServer({});
  auto client = NewClient();
  ferry::v1::Object huge = Forward("huge", 80);
  (*huge.mutable_ip_forward()->mutable_metadata()->mutable_labels())["big"] =
      std::string(ServerLimits{}.max_receive_bytes + 1, 'x');
  grpc::Status s = Apply(client.get(), "c", {huge});
  EXPECT_EQ(s.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_THAT(s.error_message(), HasSubstr("larger than max"));
  EXPECT_FALSE(store_->Get("IPForward", "huge").ok());
  grpc::Status after = Apply(client.get(), "c", {Forward("small", 80)});
  EXPECT_TRUE(after.ok()) << after.error_message();
}

TEST_F(ProtectionClientTest, WatchThatNeverReadsIsCutOffWhileOthersApply) {
  ResourceServiceImpl::Options options;
  options.watch_stall_timeout = absl::Milliseconds(300);
  StartServer(options);
  auto watcher = NewClient();
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_resource_version("0");
  auto stream = watcher->Watch(&watch_context, request);  // and never Read

  // Enough bulky events to fill the stream's flow-control window, applied
  // in batches; the watch stops reading after none of them.
  auto writer = NewClient();
  const absl::Time limit = absl::Now() + absl::Seconds(30);
  for (int batch = 0; metrics_.WatchCutOffCount() == 0 && batch < 40 && absl::Now() < limit;
       ++batch) {
    std::vector<ferry::v1::Object> objects;
    for (int i = 0; i < 250; ++i) {
      const int n = batch * 250 + i;
      objects.push_back(Forward(absl::StrCat("w", n), 1 + n, /*label_bytes=*/1000));
    }
    grpc::Status s = Apply(writer.get(), "writer", objects);
    ASSERT_TRUE(s.ok()) << s.error_message();
  }
  while (metrics_.WatchCutOffCount() == 0 && absl::Now() < limit) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_EQ(metrics_.WatchCutOffCount(), 1);
  // The stalled watch does not hold anyone else up.
  const absl::Time start = absl::Now();
  grpc::Status s = Apply(writer.get(), "writer", {Forward("after", 60000)});
  EXPECT_TRUE(s.ok()) << s.error_message();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  // What the cut-off client finds when it reads again: what reached it
  // before the cut, in order, then a status that says why it ended and
  // where to resume.
  ferry::v1::WatchEvent event;
  int drained = 0;
  int64_t last = 0;
  while (drained < 100000 && stream->Read(&event)) {
    int64_t revision = 0;
    ASSERT_TRUE(absl::SimpleAtoi(event.resource_version(), &revision));
    EXPECT_GE(revision, last);
    last = revision;
    ++drained;
  }
  grpc::Status end = stream->Finish();
  EXPECT_EQ(end.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << end.error_message();
  EXPECT_THAT(end.error_message(), HasSubstr("watch cut off: the client did not read for 300ms"));
  EXPECT_THAT(end.error_message(),
              HasSubstr("re-list, then watch from the list's resourceVersion"));
  std::cerr << "cut-off watch ended after " << drained << " events: " << end.error_message()
            << "\n";
}

TEST_F(ProtectionClientTest, WatcherThatReadsGetsEveryEventInOrderAndIsNotCutOff) {
  ResourceServiceImpl::Options options;
  options.watch_stall_timeout = absl::Milliseconds(300);
  StartServer(options);
  auto watcher = NewClient();
  grpc::ClientContext watch_context;
  watch_context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
  ferry::v1::WatchRequest request;
  request.set_kind(ferry::v1::IP_FORWARD);
  request.set_resource_version("0");
  auto stream = watcher->Watch(&watch_context, request);

  // As many bulky events as cut off the one that never reads.
  constexpr int kBatches = 8, kPerBatch = 250;
  std::thread writer_thread([&] {
    auto writer = NewClient();
    for (int batch = 0; batch < kBatches; ++batch) {
      std::vector<ferry::v1::Object> objects;
      for (int i = 0; i < kPerBatch; ++i) {
        const int n = batch * kPerBatch + i;
        objects.push_back(Forward(absl::StrCat("w", n), 1 + n, /*label_bytes=*/1000));
      }
      grpc::Status s = Apply(writer.get(), "writer", objects);
      EXPECT_TRUE(s.ok()) << s.error_message();
    }
  });
  std::vector<std::string> names;
  int64_t last = 0;
  ferry::v1::WatchEvent event;
  while (names.size() < kBatches * kPerBatch && stream->Read(&event)) {
    int64_t revision = 0;
    ASSERT_TRUE(absl::SimpleAtoi(event.resource_version(), &revision));
    const std::string& name = event.object().ip_forward().metadata().name();
    // Revisions ascend; within one (one Apply) the change log is in name order.
    ASSERT_GE(revision, last);
    if (revision == last) {
      ASSERT_LT(names.back(), name);
    }
    last = revision;
    EXPECT_EQ(event.type(), ferry::v1::WatchEvent::ADDED);
    names.push_back(name);
  }
  writer_thread.join();
  ASSERT_EQ(names.size(), static_cast<size_t>(kBatches * kPerBatch));
  std::set<std::string> got(names.begin(), names.end());
  EXPECT_EQ(got.size(), names.size());
  EXPECT_EQ(metrics_.WatchCutOffCount(), 0);
  watch_context.TryCancel();
  stream->Finish();
}

}  // namespace
}  // namespace ferry::controller
