// The agent's one-per-namespace lock against real network namespaces: the
// abstract socket name is taken per namespace, so agents in different
// namespaces on one host do not block each other.

#include "node-agent/cmd/namespace_lock.h"

#include <sched.h>

#include <thread>

#include "gtest/gtest.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using NamespaceLockNetnsTest = testing::NetnsTest;

TEST_F(NamespaceLockNetnsTest, ASecondAgentInTheNamespaceIsRefusedOneInAnotherIsNot) {
  absl::StatusOr<NamespaceLock> agent = NamespaceLock::Acquire();  // the real name
  ASSERT_TRUE(agent.ok()) << agent.status();
  absl::StatusOr<NamespaceLock> second = NamespaceLock::Acquire();
  EXPECT_EQ(second.status().message(),
            "another ferry-agent is running in this network namespace (abstract socket "
            "@ferry-agent is taken)");

  // unshare() moves only the calling thread into a new namespace, which
  // goes away with the thread.
  absl::Status elsewhere = absl::UnknownError("not run");
  std::thread other([&elsewhere] {
    if (unshare(CLONE_NEWNET) != 0) {
      elsewhere = absl::InternalError("unshare(CLONE_NEWNET) failed");
      return;
    }
    elsewhere = NamespaceLock::Acquire().status();
  });
  other.join();
  EXPECT_TRUE(elsewhere.ok()) << elsewhere;
}

}  // namespace
}  // namespace ferry::agent
