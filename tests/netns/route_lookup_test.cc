// NetlinkRouteLookup against a real kernel, inside a private namespace: it
// must say what `ip route get` says there.

#include "node-agent/kernel/route_lookup.h"

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/errno_status.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

std::string Brief(const ferry::v1::RouteSource& r) {
  return absl::StrCat(r.destination(), " src ", r.source(), " dev ", r.interface());
}

class RouteLookupNetnsTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    // rl0 has the frontend's hop; the backends' network is routed out of it.
    MustInNetns("ip link add rl0 type veth peer name rl1");
    MustInNetns("ip link set rl1 up");
    MustInNetns("ip link set rl0 up");
    MustInNetns("ip addr add 10.78.0.1/24 dev rl0");
    MustInNetns("ip route add 10.77.0.0/24 dev rl0");
    absl::StatusOr<std::unique_ptr<NetlinkRouteLookup>> lookup = NetlinkRouteLookup::Open();
    ASSERT_TRUE(lookup.ok()) << lookup.status();
    lookup_ = std::move(*lookup);
  }
  void TearDown() override {
    lookup_.reset();
    NetnsTest::TearDown();
  }

  std::unique_ptr<NetlinkRouteLookup> lookup_;
};

TEST_F(RouteLookupNetnsTest, GivesTheSourceAndDeviceIpRouteGetShows) {
  absl::StatusOr<ferry::v1::RouteSource> got = lookup_->Get(Ip("10.77.0.2"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Brief(*got), "10.77.0.2 src 10.78.0.1 dev rl0");
  EXPECT_THAT(MustInNetns("ip route get 10.77.0.2"), HasSubstr("dev rl0 src 10.78.0.1"));
}

TEST_F(RouteLookupNetnsTest, TheRoutesOwnSourceWins) {
  MustInNetns("ip addr add 10.78.0.7/24 dev rl0");
  MustInNetns("ip route add 10.79.0.0/24 dev rl0 src 10.78.0.7");
  absl::StatusOr<ferry::v1::RouteSource> got = lookup_->Get(Ip("10.79.0.4"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Brief(*got), "10.79.0.4 src 10.78.0.7 dev rl0");
}

TEST_F(RouteLookupNetnsTest, FollowsPolicyRulesAsAPacketWould) {
  // A tunnel's peers often live in a table of their own.
  MustInNetns("ip link add rl2 type veth peer name rl3");
  MustInNetns("ip link set rl3 up");
  MustInNetns("ip link set rl2 up");
  MustInNetns("ip addr add 10.88.0.1/24 dev rl2");
  MustInNetns("ip route add 10.77.0.0/24 dev rl2 table 51820");
  MustInNetns("ip rule add to 10.77.0.0/24 lookup 51820 priority 100");
  absl::StatusOr<ferry::v1::RouteSource> got = lookup_->Get(Ip("10.77.0.2"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Brief(*got), "10.77.0.2 src 10.88.0.1 dev rl2");
}

TEST_F(RouteLookupNetnsTest, Ipv6RouteHasItsSourceToo) {
  if (ProbeIpv6Support() != Ipv6Support::kAvailable) GTEST_SKIP() << "no IPv6 here";
  MustInNetns("ip -6 addr add fd00:78::1/64 dev rl0 nodad");
  MustInNetns("ip -6 route add fd00:77::/64 dev rl0");
  absl::StatusOr<ferry::v1::RouteSource> got = lookup_->Get(Ip("fd00:77::2"));
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(Brief(*got), "fd00:77::2 src fd00:78::1 dev rl0");
}

TEST_F(RouteLookupNetnsTest, UnroutedDestinationIsAnErrorNamingIt) {
  // The namespace has no default route.
  absl::StatusOr<ferry::v1::RouteSource> got = lookup_->Get(Ip("192.0.2.99"));
  EXPECT_EQ(got.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(got.status().message(),
              HasSubstr("looking up the route to 192.0.2.99: Network is unreachable"));
  // An unreachable route says so too.
  MustInNetns("ip route add unreachable 10.66.0.0/24");
  got = lookup_->Get(Ip("10.66.0.5"));
  EXPECT_FALSE(got.ok());
  EXPECT_THAT(got.status().message(),
              HasSubstr("looking up the route to 10.66.0.5: No route to host"));
}

}  // namespace
}  // namespace ferry::agent
