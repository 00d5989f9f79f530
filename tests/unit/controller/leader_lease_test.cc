// Leader election on a real etcd: one leader at a time, a follower that
// takes over when the leader resigns or its lease expires, and a leader
// cut off from etcd that steps down before its lease could be given away.
#include "controller/etcd/leader_lease.h"

#include <atomic>
#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "controller/etcd/etcd_client.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/etcd_test_server.h"
#include "tests/unit/controller/loopback_proxy.h"

namespace ferry::controller {
namespace {

class LeaderLeaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
    absl::StatusOr<EtcdTestServer*> server = EtcdTestServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    server_ = *server;
    key_ = EtcdTestServer::TestPrefix() + "leader";
    ASSERT_TRUE(server_->DeletePrefix(EtcdTestServer::TestPrefix()).ok());
  }

  std::unique_ptr<EtcdClient> Client(const std::string& endpoint) {
    EtcdClientOptions options;
    options.endpoints = {endpoint};
    options.request_timeout = absl::Seconds(2);
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(options);
    EXPECT_TRUE(client.ok()) << client.status();
    return client.ok() ? *std::move(client) : nullptr;
  }

  LeaderLease::Options Lease(const std::string& identity, absl::Notification* elected,
                             absl::Notification* lost = nullptr) {
    LeaderLease::Options options;
    options.key = key_;
    options.identity = identity;
    options.ttl = absl::Seconds(2);
    options.on_elected = [elected] { elected->Notify(); };
    options.on_lost = [lost](const absl::Status&) {
      if (lost != nullptr) lost->Notify();
    };
    return options;
  }

  EtcdTestServer* server_ = nullptr;
  std::string key_;
};

TEST_F(LeaderLeaseTest, OneLeadsTheOtherFollowsAndTakesOverWhenItResigns) {
  std::unique_ptr<EtcdClient> client = Client(server_->endpoint());
  absl::Notification first_elected, second_elected;
  LeaderLease first(client.get(), Lease("10.0.0.1:7443", &first_elected));
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(first_elected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  LeaderLease second(client.get(), Lease("10.0.0.2:7443", &second_elected));
  ASSERT_TRUE(second.Start().ok());

  // The follower learns who leads, holds no fence, and is not elected.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (second.leader().empty() && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  EXPECT_EQ(second.leader(), "10.0.0.1:7443");
  EXPECT_TRUE(first.leading());
  EXPECT_FALSE(second.leading());
  EXPECT_NE(first.fence().lease, 0);
  EXPECT_EQ(second.fence().lease, 0);

  // A clean stop hands over at the follower's next round, not after a TTL.
  const absl::Time stopped = absl::Now();
  first.Stop();
  ASSERT_TRUE(second_elected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_LT(absl::Now() - stopped, absl::Seconds(2));
  EXPECT_TRUE(second.leading());
  EXPECT_EQ(second.leader(), "10.0.0.2:7443");
}

// The leader's etcd connection is cut: it must step down (on_lost) before
// etcd lets its lease go, and only then may the other replica be elected.
TEST_F(LeaderLeaseTest, ALeaderCutOffFromEtcdStepsDownBeforeAFollowerIsElected) {
  absl::StatusOr<std::unique_ptr<LoopbackProxy>> proxy = LoopbackProxy::Start(server_->endpoint());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  std::unique_ptr<EtcdClient> cut_client = Client((*proxy)->endpoint());
  std::unique_ptr<EtcdClient> client = Client(server_->endpoint());
  absl::Notification first_elected, first_lost, second_elected;
  std::atomic<int64_t> lost_at_ms{0}, elected_at_ms{0};
  LeaderLease::Options first_options = Lease("10.0.0.1:7443", &first_elected, &first_lost);
  first_options.on_lost = [&](const absl::Status&) {
    lost_at_ms = absl::ToUnixMillis(absl::Now());
    first_lost.Notify();
  };
  LeaderLease first(cut_client.get(), first_options);
  ASSERT_TRUE(first.Start().ok());
  ASSERT_TRUE(first_elected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  LeaderLease::Options second_options = Lease("10.0.0.2:7443", &second_elected);
  second_options.on_elected = [&] {
    elected_at_ms = absl::ToUnixMillis(absl::Now());
    second_elected.Notify();
  };
  LeaderLease second(client.get(), second_options);
  ASSERT_TRUE(second.Start().ok());

  (*proxy)->Cut();
  ASSERT_TRUE(first_lost.WaitForNotificationWithTimeout(absl::Seconds(10)));
  ASSERT_TRUE(second_elected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  EXPECT_FALSE(first.leading());
  EXPECT_LT(lost_at_ms.load(), elected_at_ms.load())
      << "the cut-off leader stepped down after its successor was elected";
}

}  // namespace
}  // namespace ferry::controller
