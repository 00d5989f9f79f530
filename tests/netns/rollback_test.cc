// Spec: with the real backends, a push whose return route the kernel
// refuses (a gateway no interface can reach) after its NAT batch committed
// is NACKed and leaves the namespace exactly as before: `nft list`, `ip
// rule` and `ip route` print the same, and a delta on the old version
// applies. In a namespace of the test's own (fx-kern-<pid>-<n>).

#include <memory>
#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

void AddDnat(ferry::v1::NodeConfig& config, const std::string& name, uint32_t port) {
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward(name);
  rule->set_frontend_address("203.0.113.1");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(port);
  rule->set_backend_address("10.8.0.2");
  rule->set_target_port(port + 8000);
}

void AddReturn(ferry::v1::NodeConfig& config, const std::string& name, uint32_t port,
               const std::string& via) {
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward(name);
  route->set_source_address("10.8.0.2");
  route->set_protocol(ferry::v1::TCP);
  route->set_port(port);
  route->set_via(via);
}

class RollbackNetnsTest : public ferry::testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    MustInNetns("ip link add d0 type veth peer name d1");
    MustInNetns("ip link set d0 up");
    MustInNetns("ip link set d1 up");
    MustInNetns("ip addr add 10.8.0.2/24 dev d0");
    absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
    ASSERT_TRUE(nat.ok()) << nat.status();
    nat_ = *std::move(nat);
    absl::StatusOr<std::unique_ptr<RouteBackend>> routes = NewNetlinkRouteBackend();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = *std::move(routes);
    sysctls_ = NewProcSysctlBackend();
    reconciler_ = std::make_unique<Reconciler>(nat_.get(), routes_.get(), sysctls_.get(),
                                               Reconciler::Options{});
    ASSERT_TRUE(reconciler_->Adopt().ok());
  }

  void TearDown() override {
    reconciler_.reset();
    nat_.reset();
    routes_.reset();
    sysctls_.reset();
    NetnsTest::TearDown();
  }

  // What an operator would look at.
  std::string Kernel() const {
    return absl::StrCat(MustInNetns("nft list table inet ferry"), MustInNetns("ip rule show"),
                        MustInNetns("ip route show table all"),
                        MustInNetns("sysctl -n net.ipv4.ip_forward"));
  }

  std::unique_ptr<NatBackend> nat_;
  std::unique_ptr<RouteBackend> routes_;
  std::unique_ptr<SysctlBackend> sysctls_;
  std::unique_ptr<Reconciler> reconciler_;
};

TEST_F(RollbackNetnsTest, RefusedReturnRouteTakesBackTheCommittedDnatElements) {
  ferry::v1::NodeConfig v1;
  v1.set_version("v1");
  v1.set_ipv4_forwarding(true);
  AddDnat(v1, "a", 80);
  AddReturn(v1, "a", 8080, "10.8.0.1");
  absl::Status first = reconciler_->Apply(v1);
  ASSERT_TRUE(first.ok()) << first;
  const std::string before = Kernel();

  ferry::v1::NodeConfig v2 = v1;
  v2.set_version("v2");
  AddDnat(v2, "b", 81);
  AddReturn(v2, "b", 8081, "192.0.2.99");  // on no interface's network: refused
  absl::Status refused = reconciler_->Apply(v2);
  RecordProperty("nack", std::string(refused.message()));
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("192.0.2.99"));
  EXPECT_THAT(refused.message(), HasSubstr("rolled back: the kernel holds version \"v1\" again"));
  EXPECT_EQ(Kernel(), before);
  EXPECT_EQ(reconciler_->summary().version, "v1");

  // The controller's next delta still builds on v1.
  ferry::v1::NodeConfigDelta delta;
  delta.set_base_version("v1");
  delta.set_version("v3");
  delta.set_ipv4_forwarding(true);
  delta.add_forwards("c");
  ferry::v1::NodeConfig c;
  AddDnat(c, "c", 82);
  *delta.add_dnat() = c.dnat(0);
  absl::Status applied = reconciler_->ApplyDelta(delta);
  ASSERT_TRUE(applied.ok()) << applied;
  const std::string table = MustInNetns("nft list table inet ferry");
  EXPECT_THAT(table, HasSubstr("203.0.113.1 . tcp . 82"));
  EXPECT_THAT(table, Not(HasSubstr("203.0.113.1 . tcp . 81")));
}

// A commit-confirmed rollback reaches the agent as an ordinary push of the
// earlier generation. Refused part way (its DNAT change committed, a return
// route then refused), it is undone whole: the node keeps the generation it
// held, exactly, and says so; the next push of the earlier generation that
// the kernel takes lands whole.
TEST_F(RollbackNetnsTest, ARollbackPushRefusedPartwayLeavesTheNewGenerationWhole) {
  ferry::v1::NodeConfig bad;  // generation 2: the change whose probe failed
  bad.set_version("g2");
  bad.set_ipv4_forwarding(true);
  AddDnat(bad, "web", 80);
  bad.mutable_dnat(0)->set_generation(2);
  bad.mutable_dnat(0)->set_target_port(8081);
  AddReturn(bad, "web", 8081, "10.8.0.1");
  absl::Status applied = reconciler_->Apply(bad);
  ASSERT_TRUE(applied.ok()) << applied;
  const std::string before = Kernel();
  ASSERT_THAT(before, HasSubstr("10.8.0.2 . 8081"));

  // The rollback to generation 1 (target 8080), refused at its return route.
  ferry::v1::NodeConfig rollback;
  rollback.set_version("g1-refused");
  rollback.set_ipv4_forwarding(true);
  AddDnat(rollback, "web", 80);
  rollback.mutable_dnat(0)->set_generation(1);
  AddReturn(rollback, "web", 8080, "192.0.2.99");  // on no interface's network
  absl::Status refused = reconciler_->Apply(rollback);
  EXPECT_FALSE(refused.ok());
  EXPECT_THAT(refused.message(), HasSubstr("rolled back: the kernel holds version \"g2\" again"));
  EXPECT_EQ(Kernel(), before);  // not half of generation 1: all of generation 2
  EXPECT_EQ(reconciler_->summary().version, "g2");

  // Taken the next time, it lands whole.
  rollback.set_version("g1");
  rollback.mutable_return_routes(0)->set_via("10.8.0.1");
  applied = reconciler_->Apply(rollback);
  ASSERT_TRUE(applied.ok()) << applied;
  const std::string table = MustInNetns("nft list table inet ferry");
  EXPECT_THAT(table, HasSubstr("10.8.0.2 . 8080"));
  EXPECT_THAT(table, Not(HasSubstr("8081")));
  EXPECT_THAT(MustInNetns("ip rule show"), HasSubstr("sport 8080"));
  EXPECT_THAT(MustInNetns("ip rule show"), Not(HasSubstr("sport 8081")));
}

}  // namespace
}  // namespace ferry::agent
