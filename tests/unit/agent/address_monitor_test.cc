// Spec: which addresses the agent reports. The dump runs unprivileged.

#include "node-agent/monitor/address_monitor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <tuple>

namespace ferry::agent {
namespace {

bool Reportable(absl::string_view text) { return IsReportableAddress(*IpAddress::Parse(text)); }

TEST(AddressMonitorTest, LoopbackIsNotReported) {
  EXPECT_FALSE(Reportable("127.0.0.1"));
  EXPECT_FALSE(Reportable("127.255.0.9"));
  EXPECT_FALSE(Reportable("::1"));
}

TEST(AddressMonitorTest, Ipv6LinkLocalIsNotReported) {
  EXPECT_FALSE(Reportable("fe80::1"));
  EXPECT_FALSE(Reportable("febf::1"));
}

TEST(AddressMonitorTest, GlobalAndPrivateAddressesAreReported) {
  EXPECT_TRUE(Reportable("10.8.0.1"));
  EXPECT_TRUE(Reportable("203.0.113.7"));
  EXPECT_TRUE(Reportable("fd00::1"));
  EXPECT_TRUE(Reportable("fec0::1"));
  EXPECT_TRUE(Reportable("2001:db8::1"));
}

TEST(AddressMonitorTest, DumpReturnsSortedReportableAddresses) {
  absl::StatusOr<std::vector<ferry::v1::NodeAddress>> addresses = DumpNodeAddresses();
  ASSERT_TRUE(addresses.ok()) << addresses.status();
  auto key = [](const ferry::v1::NodeAddress& a) {
    return std::make_tuple(a.interface(), a.address(), a.prefix_length());
  };
  EXPECT_TRUE(std::is_sorted(addresses->begin(), addresses->end(),
                             [&](const auto& a, const auto& b) { return key(a) < key(b); }));
  for (const ferry::v1::NodeAddress& a : *addresses) {
    absl::StatusOr<IpAddress> ip = IpAddress::Parse(a.address());
    ASSERT_TRUE(ip.ok()) << a.address();
    EXPECT_TRUE(IsReportableAddress(*ip)) << a.address();
    EXPECT_FALSE(a.interface().empty());
  }
}

TEST(AddressMonitorTest, StartAndStopWithoutChanges) {
  std::atomic<int> calls = 0;
  AddressMonitor monitor([&calls](const auto&) { ++calls; });
  ASSERT_TRUE(monitor.Start().ok());
  monitor.Stop();
  monitor.Stop();  // idempotent
  EXPECT_EQ(calls.load(), 0);
}

}  // namespace
}  // namespace ferry::agent
