// Spec: one agent per network namespace. The lock is an abstract unix
// socket; a second bind of the same name in the namespace is refused with
// the reason, and the name is free again once the holder lets go.

#include "node-agent/cmd/namespace_lock.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

// Not "ferry-agent": a real agent may run in the namespace the tests use.
std::string TestName() { return absl::StrCat("ferry-agent-test-", getpid()); }

TEST(NamespaceLockTest, ASecondHolderInTheSameNamespaceIsRefusedWithTheReason) {
  absl::StatusOr<NamespaceLock> first = NamespaceLock::Acquire(TestName());
  ASSERT_TRUE(first.ok()) << first.status();
  absl::StatusOr<NamespaceLock> second = NamespaceLock::Acquire(TestName());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(second.status().message(),
            absl::StrCat("another ferry-agent is running in this network namespace (abstract "
                         "socket @",
                         TestName(), " is taken)"));
}

TEST(NamespaceLockTest, TheNameIsFreeAgainOnceTheHolderIsGone) {
  {
    absl::StatusOr<NamespaceLock> held = NamespaceLock::Acquire(TestName());
    ASSERT_TRUE(held.ok()) << held.status();
  }
  EXPECT_TRUE(NamespaceLock::Acquire(TestName()).ok());
}

TEST(NamespaceLockTest, AMovedLockStillHoldsTheName) {
  absl::StatusOr<NamespaceLock> held = NamespaceLock::Acquire(TestName());
  ASSERT_TRUE(held.ok());
  NamespaceLock moved = *std::move(held);
  EXPECT_FALSE(NamespaceLock::Acquire(TestName()).ok());
}

}  // namespace
}  // namespace ferry::agent
