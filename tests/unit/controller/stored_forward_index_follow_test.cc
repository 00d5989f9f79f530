// StoredForwardIndex's following thread: given the owner's mutex, it reads
// the change log between the owner's calls once the index is loaded, so that
// after a status pass over many forwards the owner's CatchUp reads nothing,
// and what it holds is still exactly what is stored.

#include <atomic>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "controller/resources/stored_forward_index.h"
#include "controller/store/object_codec.h"
#include "controller/store/sqlite_store.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

// Forwards every call to a real store, counting the changes read.
class CountingStore : public Store {
 public:
  explicit CountingStore(Store* store) : store_(store) {}
  absl::StatusOr<int64_t> Commit(const std::vector<WriteOp>& ops) override {
    return store_->Commit(ops);
  }
  absl::StatusOr<StoredObject> Get(const std::string& kind, const std::string& name) override {
    return store_->Get(kind, name);
  }
  absl::StatusOr<int64_t> List(const std::string& kind,
                               const std::function<bool(const StoredObject&)>& visit) override {
    return store_->List(kind, visit);
  }
  int64_t CurrentRevision() override { return store_->CurrentRevision(); }
  absl::StatusOr<std::vector<Change>> ChangesSince(int64_t after, const std::string& kind,
                                                   size_t limit) override {
    {
      absl::MutexLock lock(&gate_mu_);
      ++entered_;
      // Bounded, so that a wrong CatchUp fails the test instead of hanging.
      gate_mu_.AwaitWithTimeout(absl::Condition(
                                    +[](bool* closed) { return !*closed; }, &closed_),
                                absl::Seconds(30));
    }
    absl::StatusOr<std::vector<Change>> changes = store_->ChangesSince(after, kind, limit);
    if (changes.ok()) read_ += changes->size();
    return changes;
  }
  // While closed, a ChangesSince call counts itself in and waits.
  void Close() {
    absl::MutexLock lock(&gate_mu_);
    closed_ = true;
  }
  void Open() {
    absl::MutexLock lock(&gate_mu_);
    closed_ = false;
  }
  bool AwaitEntered(int n) {
    absl::MutexLock lock(&gate_mu_);
    auto reached = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return entered_ >= n; };
    return gate_mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }
  bool WaitForChange(int64_t after, absl::Duration timeout) override {
    ++waits_;
    return store_->WaitForChange(after, timeout);
  }
  void StopWaiting() override { store_->StopWaiting(); }
  size_t read() const { return read_; }
  int waits() const { return waits_; }

 private:
  Store* const store_;
  std::atomic<size_t> read_{0};
  std::atomic<int> waits_{0};
  absl::Mutex gate_mu_;
  bool closed_ ABSL_GUARDED_BY(gate_mu_) = false;
  int entered_ ABSL_GUARDED_BY(gate_mu_) = 0;
};

WriteOp Put(const ferry::v1::Object& object) { return PutOp(object, WriteOp::kAnyRevision); }

class StoredForwardIndexFollowTest : public ::testing::Test {
 protected:
  void SetUp() override {
    sqlite_ = OpenTestStore("ferry-sfi-follow", &dir_);
    ASSERT_NE(sqlite_, nullptr);
    store_ = std::make_unique<CountingStore>(sqlite_.get());
  }
  // Blocks until the index has applied every change up to `revision`:
  // the condition is evaluated whenever the following thread releases mu_.
  bool AwaitRevision(const StoredForwardIndex& index, int64_t revision) {
    absl::MutexLock lock(&mu_);
    auto reached = [&]() ABSL_NO_THREAD_SAFETY_ANALYSIS { return index.revision() >= revision; };
    return mu_.AwaitWithTimeout(absl::Condition(&reached), absl::Seconds(30));
  }
  // Stores forwards f0..f<n-1> on ports 1000..1000+n-1 in one commit.
  std::vector<ferry::v1::Object> CommitForwards(int n) {
    std::vector<ferry::v1::Object> objects;
    std::vector<WriteOp> creates;
    for (int i = 0; i < n; ++i) {
      objects.push_back(TestForward(absl::StrCat("f", i), "192.0.2.1", 1000 + i));
      creates.push_back(Put(objects.back()));
    }
    EXPECT_TRUE(store_->Commit(creates).ok());
    return objects;
  }
  // The fleet's status pass over `objects`: one commit that changes no spec.
  absl::Status CommitStatusPass(std::vector<ferry::v1::Object>* objects) {
    std::vector<WriteOp> statuses;
    for (ferry::v1::Object& o : *objects) {
      o.mutable_ip_forward()->mutable_status()->set_observed_generation(1);
      statuses.push_back(Put(o));
    }
    return store_->Commit(statuses).status();
  }
  // An owner's CatchUp, under the owner's mutex; the first one loads the
  // index and starts its thread.
  absl::Status CatchUp(StoredForwardIndex& index) {
    absl::MutexLock lock(&mu_);
    return index.CatchUp();
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> sqlite_;
  std::unique_ptr<CountingStore> store_;
  absl::Mutex mu_;
};

TEST_F(StoredForwardIndexFollowTest, StatusPassIsReadInTheBackgroundAndCatchUpReadsNothing) {
  constexpr int kForwards = 5000;
  std::vector<ferry::v1::Object> objects = CommitForwards(kForwards);
  StoredForwardIndex index(store_.get(), &mu_);
  ASSERT_TRUE(CatchUp(index).ok());  // loads, and starts the thread

  // The fleet's status pass over all of them, then one spec changed.
  ASSERT_TRUE(CommitStatusPass(&objects).ok());
  ferry::v1::Object moved = objects[7];
  moved.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_port(80);
  ASSERT_TRUE(store_->Commit({Put(moved)}).ok());
  const int64_t revision = store_->CurrentRevision();
  ASSERT_TRUE(AwaitRevision(index, revision));
  EXPECT_GE(store_->read(), static_cast<size_t>(kForwards + 1));

  absl::MutexLock lock(&mu_);
  const size_t before = store_->read();
  ASSERT_TRUE(index.CatchUp().ok());
  EXPECT_EQ(store_->read(), before);
  EXPECT_EQ(index.size(), static_cast<size_t>(kForwards));
  // The moved forward's new port is claimed, its old one is free.
  ferry::v1::Object probe = TestForward("probe", "192.0.2.1", 80);
  EXPECT_THAT(std::string(index.Check(probe.ip_forward()).message()),
              ::testing::HasSubstr("claimed by ipforward/f7"));
  probe.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_port(1007);
  EXPECT_TRUE(index.Check(probe.ip_forward()).ok());
  probe.mutable_ip_forward()->mutable_spec()->mutable_ports(0)->set_port(1008);
  EXPECT_FALSE(index.Check(probe.ip_forward()).ok());
}

TEST_F(StoredForwardIndexFollowTest, CatchUpWaitsForTheThreadsReadInsteadOfReadingItTwice) {
  constexpr int kForwards = 1000;
  std::vector<ferry::v1::Object> objects = CommitForwards(kForwards);
  StoredForwardIndex index(store_.get(), &mu_);
  ASSERT_TRUE(CatchUp(index).ok());
  // The thread starts reading a status pass and is held in the read.
  store_->Close();
  ASSERT_TRUE(CommitStatusPass(&objects).ok());
  ASSERT_TRUE(store_->AwaitEntered(1));
  const size_t read_before = store_->read();

  // An apply's CatchUp meanwhile: it must wait for that read, releasing
  // mu_, not read the same changes again (it would be held too, keeping
  // mu_, and the LockWhen below would time out).
  bool owner_in = false;
  bool owner_done = false;
  std::thread owner([&] {
    absl::MutexLock lock(&mu_);
    owner_in = true;
    EXPECT_TRUE(index.CatchUp().ok());
    owner_done = true;
  });
  const bool waiting = mu_.LockWhenWithTimeout(absl::Condition(
                                                   +[](bool* in) { return *in; }, &owner_in),
                                               absl::Seconds(30));
  EXPECT_TRUE(waiting) << "CatchUp held mu_ while the thread was reading";
  EXPECT_FALSE(owner_done);
  mu_.Unlock();
  store_->Open();
  owner.join();
  EXPECT_TRUE(owner_done);
  EXPECT_EQ(store_->read() - read_before, static_cast<size_t>(kForwards));
}

TEST_F(StoredForwardIndexFollowTest, OwnersCommitsAndTheThreadAgreeOnWhereTheIndexStands) {
  StoredForwardIndex index(store_.get(), &mu_);
  for (int i = 0; i < 200; ++i) {
    ferry::v1::Object o = TestForward(absl::StrCat("f", i % 20), "192.0.2.1", 1000 + i);
    absl::MutexLock lock(&mu_);
    ASSERT_TRUE(index.CatchUp().ok());
    if (i % 2 == 0) {
      // As the ObjectWriter does: stage, check, commit, record.
      index.Stage(o.ip_forward());
      ASSERT_TRUE(index.Check(o.ip_forward()).ok());
      absl::StatusOr<int64_t> committed = store_->Commit({Put(o)});
      ASSERT_TRUE(committed.ok());
      index.Committed(*committed);
    } else {
      // A writer around the index, which the thread may read first.
      ASSERT_TRUE(store_->Commit({Put(o)}).ok());
    }
  }
  ASSERT_TRUE(AwaitRevision(index, store_->CurrentRevision()));
  absl::MutexLock lock(&mu_);
  ASSERT_TRUE(index.CatchUp().ok());
  ASSERT_EQ(index.size(), 20u);
  for (int n = 0; n < 20; ++n) {
    std::optional<ferry::v1::IPForward> held = index.Find(absl::StrCat("f", n));
    ASSERT_TRUE(held.has_value());
    EXPECT_EQ(held->spec().ports(0).port(), 1000u + 180 + n) << n;
  }
}

TEST_F(StoredForwardIndexFollowTest, AfterTheStoreStopsWaitingTheThreadDoesNotSpin) {
  CommitForwards(10);
  StoredForwardIndex index(store_.get(), &mu_);
  ASSERT_TRUE(CatchUp(index).ok());
  store_->StopWaiting();  // every WaitForChange now returns at once
  const int before = store_->waits();
  absl::SleepFor(StoredForwardIndex::kFollowPoll * 4);
  // About one wait per poll interval; a spinning thread makes thousands.
  EXPECT_LT(store_->waits() - before, 20);
}

}  // namespace
}  // namespace ferry::controller
