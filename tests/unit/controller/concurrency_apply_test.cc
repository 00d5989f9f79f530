// Concurrent applies from several clients never lose an update: clients on
// their own connections and threads, against the real server over the real
// SqliteStore.

#include <grpcpp/grpcpp.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <latch>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "controller/server/resource_service.h"
#include "controller/server/server_limits.h"
#include "controller/store/sqlite_store.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

constexpr int kClients = 4;

ferry::v1::Object Forward(const std::string& name, uint32_t port) {
  return TestForward(name, "203.0.113.1", port);
}

class ConcurrencyApplyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore("ferry-conc", &dir_);
    ASSERT_NE(store_, nullptr);
    // The controller's defaults, rate limits included.
    service_ = std::make_unique<ResourceServiceImpl>(store_.get(), ResourceServiceImpl::Options());
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
  std::unique_ptr<ferry::v1::ResourceService::Stub> NewClient(int id) {
    grpc::ChannelArguments args;
    args.SetInt("ferry.test.client", id);  // distinct args: no shared subchannel
    return ferry::v1::ResourceService::NewStub(grpc::CreateCustomChannel(
        absl::StrCat("127.0.0.1:", port_), grpc::InsecureChannelCredentials(), args));
  }

  static grpc::Status Apply(ferry::v1::ResourceService::Stub* stub, const ferry::v1::Object& o) {
    ferry::v1::ApplyRequest request;
    *request.add_objects() = o;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    ferry::v1::ApplyResponse response;
    return stub->Apply(&context, request, &response);
  }

  static grpc::Status Get(ferry::v1::ResourceService::Stub* stub, const std::string& name,
                          ferry::v1::Object* out) {
    ferry::v1::GetRequest request;
    request.set_kind(ferry::v1::IP_FORWARD);
    request.set_name(name);
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(20));
    return stub->Get(&context, request, out);
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<ResourceServiceImpl> service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(ConcurrencyApplyTest, DisjointForwardsFromSeveralClientsAreAllPresent) {
  constexpr int kPerClient = 50;
  std::vector<std::thread> clients;
  std::vector<int> failures(kClients, 0);
  std::vector<std::string> first_error(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = NewClient(c);
      for (int i = 0; i < kPerClient; ++i) {
        const uint32_t port = 1000 + c * kPerClient + i;
        grpc::Status s = Apply(stub.get(), Forward(absl::StrCat("c", c, "-", i), port));
        if (s.ok()) continue;
        if (failures[c]++ == 0) {
          first_error[c] =
              absl::StrCat("apply ", i, ": code ", s.error_code(), ": ", s.error_message());
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(failures[c], 0) << "client " << c << ", first: " << first_error[c];
  }

  std::map<std::string, bool> present;
  ASSERT_TRUE(store_
                  ->List("IPForward",
                         [&](const StoredObject& o) {
                           present[o.name] = true;
                           return true;
                         })
                  .ok());
  EXPECT_EQ(present.size(), static_cast<size_t>(kClients * kPerClient));
  for (int c = 0; c < kClients; ++c) {
    for (int i = 0; i < kPerClient; ++i) {
      EXPECT_TRUE(present.count(absl::StrCat("c", c, "-", i))) << "c" << c << "-" << i;
    }
  }
}

TEST_F(ConcurrencyApplyTest, ReadModifyWriteWithResourceVersionLosesNoIncrement) {
  constexpr int kIncrements = 20;
  constexpr int kMaxAttempts = 2000;  // per increment; conflicts are retried
  auto setup = NewClient(100);
  ASSERT_TRUE(Apply(setup.get(), Forward("shared", 80)).ok());

  std::vector<std::thread> clients;
  std::vector<int> conflicts(kClients, 0), errors(kClients, 0);
  // Every client reads the same resourceVersion before any writes its
  // first increment, so at least kClients - 1 of those writes are stale:
  // the test never passes without a conflict to survive.
  std::latch first_reads(kClients);
  for (int c = 0; c < kClients; ++c) {
    clients.emplace_back([&, c] {
      auto stub = NewClient(c);
      for (int n = 1; n <= kIncrements; ++n) {
        bool done = false;
        for (int attempt = 0; attempt < kMaxAttempts && !done; ++attempt) {
          ferry::v1::Object current;
          const bool got = Get(stub.get(), "shared", &current).ok();
          if (n == 1 && attempt == 0) first_reads.arrive_and_wait();
          if (!got) {
            ++errors[c];
            return;
          }
          // Modify: bump the shared counter and record this client's count.
          auto& labels = *current.mutable_ip_forward()->mutable_metadata()->mutable_labels();
          int count = 0;
          if (labels.count("count")) (void)absl::SimpleAtoi(labels["count"], &count);
          labels["count"] = absl::StrCat(count + 1);
          labels[absl::StrCat("client-", c)] = absl::StrCat(n);
          // Write, guarded by the resourceVersion the Get returned.
          grpc::Status s = Apply(stub.get(), current);
          if (s.ok()) {
            done = true;
          } else if (s.error_code() == grpc::StatusCode::ABORTED) {
            ++conflicts[c];
          } else {
            ADD_FAILURE() << "client " << c << ": " << s.error_message();
            ++errors[c];
            return;
          }
        }
        if (!done) {
          ++errors[c];
          return;
        }
      }
    });
  }
  for (std::thread& t : clients) t.join();
  int total_conflicts = 0;
  for (int c = 0; c < kClients; ++c) {
    EXPECT_EQ(errors[c], 0) << "client " << c;
    total_conflicts += conflicts[c];
  }

  ferry::v1::Object final_object;
  ASSERT_TRUE(Get(setup.get(), "shared", &final_object).ok());
  const auto& labels = final_object.ip_forward().metadata().labels();
  ASSERT_TRUE(labels.count("count"));
  EXPECT_EQ(labels.at("count"), absl::StrCat(kClients * kIncrements))
      << "after " << total_conflicts << " conflicts retried";
  EXPECT_GE(total_conflicts, kClients - 1);
  for (int c = 0; c < kClients; ++c) {
    auto it = labels.find(absl::StrCat("client-", c));
    ASSERT_NE(it, labels.end()) << "client " << c;
    EXPECT_EQ(it->second, absl::StrCat(kIncrements));
  }
}

}  // namespace
}  // namespace ferry::controller
