// What only the etcd backend does, on a real etcd (etcd_test_server.h):
// reaching members and failing over, guarding its prefix, fencing a
// leader's writes by its lease, etcd's compaction, and etcd's own limits.
// The Store contract both backends share is store_contract_test.cc. Every
// error a user could meet here names the endpoint it came from.

#include "controller/etcd/etcd_store.h"

#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "controller/etcd/etcd_client.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/etcd_test_server.h"
#include "tests/unit/controller/loopback_proxy.h"
#include "tests/unit/controller/write_ops.h"

namespace ferry::controller {
namespace {

using store_test::Create;
using store_test::Delete;
using store_test::Put;
using store_test::PutNode;

using ::testing::AllOf;
using ::testing::HasSubstr;

class EtcdStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!EtcdTestServer::Installed()) GTEST_SKIP() << EtcdTestServer::kNotInstalled;
    absl::StatusOr<EtcdTestServer*> server = EtcdTestServer::Shared();
    ASSERT_TRUE(server.ok()) << server.status();
    etcd_ = *server;
    prefix_ = EtcdTestServer::TestPrefix();
    absl::Status cleared = etcd_->DeletePrefix(prefix_);
    ASSERT_TRUE(cleared.ok()) << cleared;
    EtcdClientOptions raw;
    raw.endpoints = {etcd_->endpoint()};
    absl::StatusOr<std::unique_ptr<EtcdClient>> client = EtcdClient::Create(raw);
    ASSERT_TRUE(client.ok()) << client.status();
    raw_ = *std::move(client);
  }

  void TearDown() override {
    if (HasFailure() && etcd_ != nullptr) std::cerr << "etcd's log ends:\n" << etcd_->LogTail();
  }

  std::unique_ptr<EtcdStore> OpenStore(EtcdStore::Options options) {
    absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(std::move(options));
    EXPECT_TRUE(store.ok()) << store.status();
    return store.ok() ? *std::move(store) : nullptr;
  }
  std::unique_ptr<EtcdStore> OpenStore() { return OpenStore(etcd_->StoreOptions()); }

  // Writes `key` as some other program would: no Ferry involved.
  void RawPut(const std::string& key, const std::string& value, int64_t lease = 0) {
    etcdserverpb::TxnRequest txn;
    etcdserverpb::PutRequest* put = txn.add_success()->mutable_request_put();
    put->set_key(key);
    put->set_value(value);
    put->set_lease(lease);
    etcdserverpb::TxnResponse response;
    absl::Status status = raw_->Txn(txn, &response);
    ASSERT_TRUE(status.ok()) << status;
  }

  std::optional<mvccpb::KeyValue> RawGet(const std::string& key) {
    etcdserverpb::RangeRequest request;
    request.set_key(key);
    etcdserverpb::RangeResponse response;
    absl::Status status = raw_->Range(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    if (!status.ok() || response.kvs_size() == 0) return std::nullopt;
    return response.kvs(0);
  }

  // How many keys there are under the test's prefix.
  int64_t KeysUnderPrefix() {
    etcdserverpb::RangeRequest request;
    request.set_key(prefix_);
    request.set_range_end(PrefixRangeEnd(prefix_));
    request.set_count_only(true);
    etcdserverpb::RangeResponse response;
    absl::Status status = raw_->Range(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response.count();
  }

  int64_t GrantLease() {
    etcdserverpb::LeaseGrantRequest request;
    request.set_ttl(60);
    etcdserverpb::LeaseGrantResponse response;
    absl::Status status = raw_->LeaseGrant(request, &response);
    EXPECT_TRUE(status.ok()) << status;
    return response.id();
  }

  EtcdTestServer* etcd_ = nullptr;
  std::string prefix_;
  std::unique_ptr<EtcdClient> raw_;
};

// ---- Reaching etcd ----

TEST_F(EtcdStoreTest, OpenOfAnUnreachableEtcdFailsWithinTheConnectTimeoutNamingIt) {
  EtcdStore::Options options = etcd_->StoreOptions();
  options.client.endpoints = {EtcdTestServer::DeadEndpoint()};
  options.connect_timeout = absl::Seconds(2);
  const absl::Time start = absl::Now();
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(options);
  const absl::Duration took = absl::Now() - start;
  ASSERT_FALSE(store.ok());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kUnavailable) << store.status();
  EXPECT_THAT(store.status().message(), HasSubstr(EtcdTestServer::DeadEndpoint()));
  EXPECT_LE(took, options.connect_timeout + absl::Milliseconds(500));
}

TEST_F(EtcdStoreTest, ADeadEndpointListedBeforeTheLiveOneIsPassedOver) {
  EtcdStore::Options options = etcd_->StoreOptions();
  options.client.endpoints = {EtcdTestServer::DeadEndpoint(), etcd_->endpoint()};
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  absl::StatusOr<int64_t> rev = store->Commit({Put("web", "v1")});
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(store->Get("IPForward", "web")->value, "v1");
  EXPECT_EQ(store->CurrentRevision(), *rev);
}

// ---- The prefix: Ferry's own, and one Ferry's ----

TEST_F(EtcdStoreTest, APrefixThatIsNotAnAbsolutePathIsInvalidNamingTheFlag) {
  EtcdStore::Options options = etcd_->StoreOptions();
  options.prefix = "ferry/";
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(options);
  EXPECT_EQ(store.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("--etcd-prefix"), HasSubstr("\"ferry/\""), HasSubstr("/ferry/")));
}

TEST_F(EtcdStoreTest, APrefixHoldingAnotherProgramsKeysIsRefusedAndLeftUntouched) {
  RawPut(prefix_ + "config/theirs", "their value");
  const std::optional<mvccpb::KeyValue> before = RawGet(prefix_ + "config/theirs");
  ASSERT_TRUE(before.has_value());
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(etcd_->StoreOptions());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("not Ferry's data"), HasSubstr(etcd_->endpoint()), HasSubstr(prefix_),
                    HasSubstr("--etcd-prefix")));
  const std::optional<mvccpb::KeyValue> after = RawGet(prefix_ + "config/theirs");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->value(), "their value");
  EXPECT_EQ(after->mod_revision(), before->mod_revision());
  EXPECT_EQ(KeysUnderPrefix(), 1);
}

TEST_F(EtcdStoreTest, APrefixWhoseMetaKeyIsNotFerrysIsRefused) {
  RawPut(prefix_ + "meta", "version: 7");
  absl::StatusOr<std::unique_ptr<EtcdStore>> store = EtcdStore::Open(etcd_->StoreOptions());
  EXPECT_EQ(store.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(store.status().message(),
              AllOf(HasSubstr("not a Ferry meta key"), HasSubstr(etcd_->endpoint())));
  EXPECT_EQ(RawGet(prefix_ + "meta")->value(), "version: 7");
}

TEST_F(EtcdStoreTest, ClaimOwnerRefusesAnotherFerrysPrefixNamingBothOwners) {
  auto a = OpenStore();
  ASSERT_NE(a, nullptr);
  ASSERT_TRUE(a->ClaimOwner("ca-sha256-aaaa").ok());
  ASSERT_TRUE(a->ClaimOwner("ca-sha256-aaaa").ok()) << "a replica of the same Ferry";
  const std::optional<mvccpb::KeyValue> meta = RawGet(prefix_ + "meta");
  ASSERT_TRUE(meta.has_value());

  auto b = OpenStore();
  ASSERT_NE(b, nullptr);
  absl::Status claimed = b->ClaimOwner("ca-sha256-bbbb");
  EXPECT_EQ(claimed.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(claimed.message(), AllOf(HasSubstr("ca-sha256-aaaa"), HasSubstr("ca-sha256-bbbb"),
                                       HasSubstr(etcd_->endpoint()), HasSubstr(prefix_)));
  const std::optional<mvccpb::KeyValue> after = RawGet(prefix_ + "meta");
  ASSERT_TRUE(after.has_value());
  EXPECT_EQ(after->value(), meta->value());
  EXPECT_EQ(after->mod_revision(), meta->mod_revision());
  EXPECT_EQ(KeysUnderPrefix(), 1);
}

// ---- The leader's fence ----

TEST_F(EtcdStoreTest, CommitFencedWritesWhileTheLeaderKeyIsHeldByItsLease) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t lease = GrantLease();
  RawPut(store->LeaderKey(), "controller-1", lease);
  absl::StatusOr<int64_t> rev =
      store->CommitFenced({Put("web", "v1")}, WriteFence{store->LeaderKey(), lease});
  ASSERT_TRUE(rev.ok()) << rev.status();
  EXPECT_EQ(store->Get("IPForward", "web")->revision, *rev);
}

TEST_F(EtcdStoreTest, CommitFencedByAnotherLeaseIsNotTheLeaderAndWritesNothing) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  const int64_t leader = GrantLease();
  const int64_t deposed = GrantLease();
  RawPut(store->LeaderKey(), "controller-1", leader);
  const int64_t before = store->CurrentRevision();
  absl::StatusOr<int64_t> rev = store->CommitFenced({Put("web", "v1"), Put("api", "v1")},
                                                    WriteFence{store->LeaderKey(), deposed});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(),
              AllOf(HasSubstr("not the leader"), HasSubstr(absl::StrCat("held by lease ", leader)),
                    HasSubstr(absl::StrCat("lease is ", deposed)), HasSubstr(etcd_->endpoint())));
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->Get("IPForward", "api").status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(store->CurrentRevision(), before);
}

TEST_F(EtcdStoreTest, CommitFencedOnAnUnheldLeaderKeyIsNotTheLeader) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  absl::StatusOr<int64_t> rev =
      store->CommitFenced({Put("web", "v1")}, WriteFence{store->LeaderKey(), GrantLease()});
  EXPECT_EQ(rev.status().code(), absl::StatusCode::kAborted);
  EXPECT_THAT(rev.status().message(), AllOf(HasSubstr("not the leader"), HasSubstr("not held")));
  EXPECT_EQ(store->Get("IPForward", "web").status().code(), absl::StatusCode::kNotFound);
}

// ---- etcd's compaction ----

// A store's change log begins where it opened: a reader that saw an older
// revision (from another replica, or before a restart) re-lists, even
// when etcd itself no longer has that history. A live store's log does
// not depend on etcd's history.
TEST_F(EtcdStoreTest, AStoreOpenedAfterACompactionSendsOlderReadersToReList) {
  auto first = OpenStore();
  ASSERT_NE(first, nullptr);
  // As the controller does before it writes: the next Open finds Ferry's.
  ASSERT_TRUE(first->ClaimOwner("ca-sha256-aaaa").ok());
  const int64_t r1 = *first->Commit({Put("a", "1")});
  ASSERT_TRUE(first->Commit({Put("b", "2")}).ok());
  const int64_t r3 = *first->Commit({Put("a", "3")});
  absl::Status compacted = first->CompactHistory(r3);
  ASSERT_TRUE(compacted.ok()) << compacted;

  absl::StatusOr<std::vector<Change>> kept = first->ChangesSince(r1, "", 100);
  ASSERT_TRUE(kept.ok()) << kept.status();
  EXPECT_EQ(kept->size(), 2u);

  auto fresh = OpenStore();
  ASSERT_NE(fresh, nullptr);
  const int64_t opened = fresh->CurrentRevision();
  EXPECT_GE(opened, r3);
  absl::StatusOr<std::vector<Change>> behind = fresh->ChangesSince(r1, "", 100);
  EXPECT_EQ(behind.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(behind.status().message(), AllOf(HasSubstr("re-list"), HasSubstr(absl::StrCat(r1)),
                                               HasSubstr(etcd_->endpoint())));
  // What the reader does next: a List, then the changes after it.
  std::vector<std::string> listed;
  absl::StatusOr<int64_t> at = fresh->List("IPForward", [&](const StoredObject& o) {
    listed.push_back(absl::StrCat(o.name, "=", o.value));
    return true;
  });
  ASSERT_TRUE(at.ok()) << at.status();
  EXPECT_THAT(listed, ::testing::ElementsAre("a=3", "b=2"));
  const int64_t r4 = *fresh->Commit({Put("c", "4")});
  absl::StatusOr<std::vector<Change>> after = fresh->ChangesSince(*at, "", 100);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 1u);
  EXPECT_EQ((*after)[0].object.revision, r4);
}

// A List reads page by page at the first page's revision; when etcd
// compacts past it in between, the List fails (naming the endpoint) rather
// than mix two snapshots, and the caller lists again.
TEST_F(EtcdStoreTest, AListWhoseSnapshotIsCompactedBetweenPagesFails) {
  auto store = OpenStore();
  ASSERT_NE(store, nullptr);
  std::vector<WriteOp> ops;
  for (int i = 0; i < 1500; ++i) ops.push_back(Create(absl::StrCat("f", 10000 + i), "v"));
  ASSERT_TRUE(store->Commit(ops).ok());
  int visited = 0;
  absl::StatusOr<int64_t> listed = store->List("IPForward", [&](const StoredObject&) {
    if (visited++ == 0) {
      const int64_t later = *store->Commit({Put("zzz", "moves the revision")});
      EXPECT_TRUE(store->CompactHistory(later).ok());
    }
    return true;
  });
  EXPECT_FALSE(listed.ok());
  EXPECT_EQ(listed.status().code(), absl::StatusCode::kOutOfRange) << listed.status();
  EXPECT_THAT(listed.status().message(),
              AllOf(HasSubstr("compacted"), HasSubstr(etcd_->endpoint())));
  int again = 0;
  ASSERT_TRUE(store->List("IPForward", [&](const StoredObject&) { return ++again > 0; }).ok());
  EXPECT_EQ(again, 1501);
}

// The change log's watch breaks (its member is cut off) while others write
// and etcd compacts past where it was: it cannot resume there, so it
// starts again later, and a reader behind it re-lists.
TEST_F(EtcdStoreTest, AWatchResumedPastACompactionRestartsTheLogAndReadersBehindReList) {
  absl::StatusOr<std::unique_ptr<LoopbackProxy>> proxy = LoopbackProxy::Start(etcd_->endpoint());
  ASSERT_TRUE(proxy.ok()) << proxy.status();
  EtcdStore::Options options = etcd_->StoreOptions();
  options.client.endpoints = {(*proxy)->endpoint()};
  auto cut_off = OpenStore(options);
  ASSERT_NE(cut_off, nullptr);
  auto other = OpenStore();
  ASSERT_NE(other, nullptr);
  const int64_t r1 = *cut_off->Commit({Put("a", "1")});

  (*proxy)->Cut();
  ASSERT_TRUE(other->Commit({Put("b", "2")}).ok());
  const int64_t r3 = *other->Commit({Put("a", "3")});
  absl::Status compacted = other->CompactHistory(r3);
  ASSERT_TRUE(compacted.ok()) << compacted;
  EXPECT_EQ(cut_off->CurrentRevision(), r1);
  (*proxy)->Resume();

  ASSERT_TRUE(cut_off->WaitForChange(r1, absl::Seconds(20)))
      << "the change log did not resume after the compaction";
  absl::StatusOr<std::vector<Change>> behind = cut_off->ChangesSince(r1, "", 100);
  EXPECT_EQ(behind.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_THAT(behind.status().message(), HasSubstr("re-list"));

  EXPECT_EQ(cut_off->Get("IPForward", "a")->value, "3");
  absl::StatusOr<int64_t> r4 = cut_off->Commit({Put("c", "4")});
  ASSERT_TRUE(r4.ok()) << r4.status();
  EXPECT_EQ(cut_off->CurrentRevision(), *r4);
  // The log starts again where etcd's history does: at the compaction.
  absl::StatusOr<std::vector<Change>> after = cut_off->ChangesSince(r3 - 1, "", 100);
  ASSERT_TRUE(after.ok()) << after.status();
  ASSERT_EQ(after->size(), 2u);
  EXPECT_EQ((*after)[0].object.name, "a");
  EXPECT_EQ((*after)[0].object.revision, r3);
  EXPECT_EQ((*after)[0].object.value, "3");
  EXPECT_EQ((*after)[1].object.name, "c");
  EXPECT_EQ((*after)[1].object.revision, *r4);
}

// ---- etcd's limits ----

TEST_F(EtcdStoreTest, AnApplyOverEtcdsMaxTxnOpsSaysToRaiseIt) {
  absl::StatusOr<std::unique_ptr<EtcdTestServer>> small = EtcdTestServer::Start({});
  ASSERT_TRUE(small.ok()) << small.status();
  EtcdStore::Options options = (*small)->StoreOptions();
  auto store = OpenStore(options);
  ASSERT_NE(store, nullptr);
  std::vector<WriteOp> ops;
  for (int i = 0; i < 200; ++i) ops.push_back(Create(absl::StrCat("f", i), "v"));
  absl::StatusOr<int64_t> rev = store->Commit(ops);
  ASSERT_FALSE(rev.ok());
  EXPECT_THAT(rev.status().message(), AllOf(HasSubstr("--max-txn-ops"), HasSubstr("200 writes"),
                                            HasSubstr((*small)->endpoint())));
  std::vector<std::string> names;
  ASSERT_TRUE(store
                  ->List("IPForward",
                         [&](const StoredObject& o) {
                           names.push_back(o.name);
                           return true;
                         })
                  .ok());
  EXPECT_TRUE(names.empty());
}

TEST_F(EtcdStoreTest, AnApplyOverEtcdsMaxRequestBytesSaysToRaiseIt) {
  absl::StatusOr<std::unique_ptr<EtcdTestServer>> small = EtcdTestServer::Start({});
  ASSERT_TRUE(small.ok()) << small.status();
  auto store = OpenStore((*small)->StoreOptions());
  ASSERT_NE(store, nullptr);
  std::vector<WriteOp> ops;
  // 100 writes: under the 128 ops, over the 1.5 MiB.
  for (int i = 0; i < 100; ++i) ops.push_back(Put(absl::StrCat("f", i), std::string(20000, 'x')));
  absl::StatusOr<int64_t> rev = store->Commit(ops);
  ASSERT_FALSE(rev.ok());
  EXPECT_THAT(rev.status().message(),
              AllOf(HasSubstr("--max-request-bytes"), HasSubstr("100 writes"),
                    HasSubstr((*small)->endpoint())));
  EXPECT_EQ(store->Get("IPForward", "f0").status().code(), absl::StatusCode::kNotFound);
}

}  // namespace
}  // namespace ferry::controller
