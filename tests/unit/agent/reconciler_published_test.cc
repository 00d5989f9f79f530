// Spec: what the agent puts in an ACK (forward_errors) and logs after an
// apply (summary) never waits for a drift check that is reading the kernel.
// A check holds the reconciler while it dumps the table, which at 100k
// elements takes half a second; the ACK of a cold sync used to wait for it.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "absl/synchronization/notification.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/unit/agent/fake_kernel.h"
#include "tests/unit/agent/node_configs.h"

namespace ferry::agent {
namespace {

using testing::FakeNatBackend;
using testing::FakeRouteBackend;
using testing::FakeSysctlBackend;

// Once armed, Load waits (bounded) until released: a check stuck in a dump.
class BlockingLoadNat : public FakeNatBackend {
 public:
  absl::StatusOr<NatState> Load() override {
    if (armed.load()) {
      entered.Notify();
      release.WaitForNotificationWithTimeout(absl::Seconds(30));
    }
    return FakeNatBackend::Load();
  }

  std::atomic<bool> armed{false};
  absl::Notification entered;
  absl::Notification release;
};

TEST(ReconcilerPublishedTest, AckContentsDoNotWaitForACheckReadingTheKernel) {
  BlockingLoadNat nat;
  FakeRouteBackend routes;
  FakeSysctlBackend sysctls;
  sysctls.values[kIpv4ForwardingKey] = "0\n";
  sysctls.values[kIpv6ForwardingKey] = "0\n";
  Reconciler reconciler(&nat, &routes, &sysctls, Reconciler::Options{});
  DriftChecker checker(&reconciler, &nat, &routes, &sysctls);
  ASSERT_TRUE(reconciler.Adopt().ok());
  ASSERT_TRUE(reconciler.Apply(testing::Config("v1", {{"web", 80}})).ok());

  nat.armed = true;
  std::thread check([&checker] { checker.Check(DriftCheck{}); });
  ASSERT_TRUE(nat.entered.WaitForNotificationWithTimeout(absl::Seconds(10)));
  // The check now holds the reconciler, inside the dump.
  auto errors = std::async(std::launch::async, [&] { return reconciler.forward_errors(); });
  auto summary = std::async(std::launch::async, [&] { return reconciler.summary(); });
  const bool errors_ready = errors.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  const bool summary_ready = summary.wait_for(std::chrono::seconds(5)) == std::future_status::ready;
  // Released before asserting, so a failure cannot leave the futures and
  // the check thread blocked.
  nat.release.Notify();
  check.join();
  EXPECT_TRUE(errors_ready) << "forward_errors() waited for the check";
  EXPECT_TRUE(summary_ready) << "summary() waited for the check";
  EXPECT_TRUE(errors.get().empty());
  const Reconciler::Summary s = summary.get();
  EXPECT_EQ(s.version, "v1");
  EXPECT_EQ(s.dnat_elements, 1u);
}

}  // namespace
}  // namespace ferry::agent
