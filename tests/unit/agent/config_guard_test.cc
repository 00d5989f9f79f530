// Spec: the agent refuses, before touching the kernel, a push that would
// claim an address the node does not have, whose port arithmetic leaves
// 1..65535, or that holds more entries than --max-config-entries.

#include "node-agent/state/config_guard.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <limits>

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

ferry::v1::DnatRule Dnat(const std::string& forward, const std::string& frontend, uint32_t port,
                         uint32_t end_port = 0, uint32_t target_port = 0) {
  ferry::v1::DnatRule rule;
  rule.set_forward(forward);
  rule.set_frontend_address(frontend);
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(port);
  rule.set_end_port(end_port);
  rule.set_backend_address("10.9.0.5");
  rule.set_target_port(target_port);
  return rule;
}

ferry::v1::ReturnRoute Return(const std::string& forward, const std::string& source) {
  ferry::v1::ReturnRoute route;
  route.set_forward(forward);
  route.set_source_address(source);
  route.set_protocol(ferry::v1::TCP);
  route.set_port(8080);
  route.set_via("10.0.0.1");
  return route;
}

class ConfigGuardTest : public ::testing::Test {
 protected:
  ConfigGuard Guard(uint64_t max_entries = 1000) {
    return ConfigGuard(max_entries, [this] { return local_; });
  }
  std::vector<IpAddress> local_ = {Ip("192.0.2.10"), Ip("2001:db8::10")};
};

TEST_F(ConfigGuardTest, AcceptsFrontendsOnTheNodesOwnAddresses) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("web", "192.0.2.10", 80);
  ferry::v1::DnatRule web6 = Dnat("web6", "2001:db8:0::10", 80);  // another spelling
  web6.set_backend_address("2001:db8::99");
  *config.add_dnat() = web6;
  *config.add_return_routes() = Return("db", "192.0.2.10");
  EXPECT_TRUE(guard.Check(config).ok()) << guard.Check(config);
}

TEST_F(ConfigGuardTest, RefusesAFrontendThatIsNotLocalNamingForwardAndField) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("web", "192.0.2.10", 80);
  *config.add_dnat() = Dnat("steal", "198.51.100.7", 22);
  absl::Status status = guard.Check(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(status.message(),
              HasSubstr("forward \"steal\": dnat[1].frontend_address: 198.51.100.7 is not an "
                        "address of this node (it has 192.0.2.10, 2001:db8::10)"));
}

TEST_F(ConfigGuardTest, ARouteQueryNeedsNoLocalAddressSinceItTakesNoTraffic) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  ferry::v1::DnatRule query = Dnat("web-c", "10.8.0.2", 80);
  query.set_route_query(true);
  *config.add_dnat() = query;
  EXPECT_TRUE(guard.Check(config).ok()) << guard.Check(config);
}

TEST_F(ConfigGuardTest, RefusesEveryFrontendWhenTheNodeReportsNoAddresses) {
  local_.clear();
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("web", "192.0.2.10", 80);
  EXPECT_THAT(guard.Check(config).message(), HasSubstr("(it reports none)"));
}

TEST_F(ConfigGuardTest, RefusesAReturnRouteFromAnAddressThatIsNotLocal) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_return_routes() = Return("db", "203.0.113.4");
  EXPECT_THAT(guard.Check(config).message(),
              HasSubstr("forward \"db\": return_routes[0].source_address: 203.0.113.4 is not an "
                        "address of this node"));
}

TEST_F(ConfigGuardTest, RefusesATargetRangeThatEndsPast65535) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("big", "192.0.2.10", 1000, 1010, 65530);
  absl::Status status = guard.Check(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(
      status.message(),
      HasSubstr("forward \"big\": dnat[0].target_port: range 65530..65540 goes past 65535"));
}

TEST_F(ConfigGuardTest, RefusesATargetPortThatWouldWrapAroundIn32Bits) {
  // 4294967295 + 1 is 0 in 32 bits: it must not pass as port 0..1.
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("wrap", "192.0.2.10", 1000, 1001, std::numeric_limits<uint32_t>::max());
  EXPECT_THAT(guard.Check(config).message(),
              HasSubstr("forward \"wrap\": dnat[0].target_port: range 4294967295..4294967296 "
                        "goes past 65535"));
}

TEST_F(ConfigGuardTest, RefusesMoreEntriesThanTheCapCountingDnatAndReturnRoutes) {
  ConfigGuard guard = Guard(/*max_entries=*/2);
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("a", "192.0.2.10", 80);
  *config.add_dnat() = Dnat("b", "192.0.2.10", 81);
  EXPECT_TRUE(guard.Check(config).ok());
  *config.add_return_routes() = Return("c", "192.0.2.10");
  absl::Status status = guard.Check(config);
  EXPECT_EQ(status.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_THAT(status.message(),
              HasSubstr("config has 3 entries (dnat and return routes), more than the 2 this "
                        "agent accepts; raise its --max-config-entries"));
}

TEST_F(ConfigGuardTest, ADeltaIsCountedWithTheEntriesItDoesNotReplace) {
  ConfigGuard guard = Guard(/*max_entries=*/3);
  ferry::v1::NodeConfig config;
  *config.add_dnat() = Dnat("a", "192.0.2.10", 80);
  *config.add_dnat() = Dnat("b", "192.0.2.10", 81);
  ASSERT_TRUE(guard.Check(config).ok());
  guard.Applied(config);

  // Replaces b's one entry with two: 1 + 2 = 3 entries, at the cap.
  ferry::v1::NodeConfigDelta grow;
  grow.add_forwards("b");
  *grow.add_dnat() = Dnat("b", "192.0.2.10", 81);
  *grow.add_dnat() = Dnat("b", "192.0.2.10", 82);
  EXPECT_TRUE(guard.Check(grow).ok()) << guard.Check(grow);
  guard.Applied(grow);
  EXPECT_EQ(guard.held_entries(), 3u);

  // Adds forward c: 3 + 1 = 4, over the cap, though the delta holds one.
  ferry::v1::NodeConfigDelta add;
  add.add_forwards("c");
  *add.add_dnat() = Dnat("c", "192.0.2.10", 90);
  EXPECT_THAT(guard.Check(add).message(), HasSubstr("config has 4 entries"));

  // Removing a makes room.
  ferry::v1::NodeConfigDelta swap = add;
  swap.add_forwards("a");
  EXPECT_TRUE(guard.Check(swap).ok()) << guard.Check(swap);
}

TEST_F(ConfigGuardTest, ADeltaWithANonLocalFrontendIsRefused) {
  ConfigGuard guard = Guard();
  ferry::v1::NodeConfigDelta delta;
  delta.add_forwards("steal");
  *delta.add_dnat() = Dnat("steal", "198.51.100.7", 22);
  EXPECT_THAT(guard.Check(delta).message(),
              HasSubstr("forward \"steal\": dnat[0].frontend_address: 198.51.100.7 is not an "
                        "address of this node"));
}

TEST_F(ConfigGuardTest, AnEmptyConfigNeedsNoAddresses) {
  local_.clear();
  ConfigGuard guard = Guard();
  EXPECT_TRUE(guard.Check(ferry::v1::NodeConfig()).ok());
}

}  // namespace
}  // namespace ferry::agent
