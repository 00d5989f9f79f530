// One replica's parts on a real etcd: elected alone, it fences its fleet's
// writes with its lease, and compacts etcd's history as it goes.
#include "controller/etcd/replication.h"

#include <memory>
#include <string>

#include "absl/synchronization/notification.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/etcd_test_server.h"
#include "tests/unit/controller/write_ops.h"

namespace ferry::controller {
namespace {

TEST(ReplicationTest, TheLeaderWritesThroughItsFenceAndCompactsHistory) {
  if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
  absl::StatusOr<EtcdTestServer*> server = EtcdTestServer::Shared();
  ASSERT_TRUE(server.ok()) << server.status();
  ASSERT_TRUE((*server)->DeletePrefix(EtcdTestServer::TestPrefix()).ok());
  Replication::Options options;
  options.store = (*server)->StoreOptions();
  options.lease_ttl = absl::Seconds(2);
  options.compaction_interval = absl::Milliseconds(200);
  absl::StatusOr<std::unique_ptr<Replication>> replica = Replication::Open(options);
  ASSERT_TRUE(replica.ok()) << replica.status();
  ASSERT_TRUE((*replica)->store()->ClaimOwner("test").ok());

  // Not elected yet: the fleet's store writes nothing.
  absl::StatusOr<int64_t> early = (*replica)->fleet_store()->Commit({store_test::Put("a", "1")});
  EXPECT_TRUE(absl::IsAborted(early.status())) << early.status();

  absl::Notification elected;
  ASSERT_TRUE((*replica)
                  ->StartElection(
                      "127.0.0.1:7443", [&] { elected.Notify(); }, [](auto&) {})
                  .ok());
  ASSERT_TRUE(elected.WaitForNotificationWithTimeout(absl::Seconds(10)));
  absl::StatusOr<int64_t> first = (*replica)->fleet_store()->Commit({store_test::Put("a", "1")});
  ASSERT_TRUE(first.ok()) << first.status();
  ASSERT_TRUE((*replica)->fleet_store()->Commit({store_test::Put("a", "2")}).ok());

  // Within a few intervals the revision of the first write is compacted:
  // a read at it is refused.
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  absl::Status read;
  do {
    absl::SleepFor(absl::Milliseconds(50));
    etcdserverpb::RangeRequest at_first;
    at_first.set_key(EtcdTestServer::TestPrefix() + "o/IPForward/a");
    at_first.set_revision(*first);
    etcdserverpb::RangeResponse response;
    read = (*replica)->store()->client()->Range(at_first, &response);
  } while (read.ok() && absl::Now() < deadline);
  EXPECT_TRUE(absl::IsOutOfRange(read)) << read;
  EXPECT_NE(read.message().find("compacted"), std::string::npos) << read;
  (*replica)->StopElection();
}

}  // namespace
}  // namespace ferry::controller
