// Spec: the address monitor (over the kernel layer's NetlinkSocket) reports
// an address added to or removed from the node, in a namespace of its own.

#include "node-agent/monitor/address_monitor.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

class AddressMonitorNetnsTest : public ferry::testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MustInNetns("ip link add d0 type veth peer name d1");
    MustInNetns("ip link set d0 up");
  }

  // Waits until the last reported list does (or does not) hold `address`.
  bool WaitForReport(const std::string& address, bool present) {
    absl::MutexLock lock(&mu_);
    auto holds = [&] {
      for (const ferry::v1::NodeAddress& a : last_) {
        if (a.address() == address) return present;
      }
      return !present && reports_ > 0;
    };
    return mu_.AwaitWithTimeout(absl::Condition(&holds), absl::Seconds(10));
  }

  void Record(const std::vector<ferry::v1::NodeAddress>& addresses) {
    absl::MutexLock lock(&mu_);
    last_ = addresses;
    ++reports_;
  }

  absl::Mutex mu_;
  std::vector<ferry::v1::NodeAddress> last_ ABSL_GUARDED_BY(mu_);
  int reports_ ABSL_GUARDED_BY(mu_) = 0;
};

TEST_F(AddressMonitorNetnsTest, ReportsAnAddressAddedAndThenRemoved) {
  AddressMonitor monitor([this](const auto& addresses) { Record(addresses); });
  ASSERT_TRUE(monitor.Start().ok());
  EXPECT_TRUE(monitor.current().empty());  // lo's address is not reported

  MustInNetns("ip addr add 10.9.0.1/24 dev d0");
  EXPECT_TRUE(WaitForReport("10.9.0.1", true));
  ASSERT_EQ(monitor.current().size(), 1u);
  EXPECT_EQ(monitor.current()[0].interface(), "d0");
  EXPECT_EQ(monitor.current()[0].prefix_length(), 24u);

  MustInNetns("ip addr del 10.9.0.1/24 dev d0");
  EXPECT_TRUE(WaitForReport("10.9.0.1", false));
  monitor.Stop();
}

}  // namespace
}  // namespace ferry::agent
