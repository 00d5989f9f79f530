// NetlinkNatBackend against a real kernel, inside a private namespace.

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ::testing::HasSubstr;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

DnatKey Key(const char* addr, uint16_t port, uint8_t proto = kProtoTcp) {
  return DnatKey{Ip(addr), proto, port};
}

DnatTarget Target(const char* addr, uint16_t port, std::string comment) {
  return DnatTarget{Ip(addr), port, std::move(comment)};
}

// Wall, user and kernel time of this thread, for the scale report.
struct CpuTimes {
  double wall = 0, user = 0, sys = 0;
  std::string operator-(const CpuTimes& o) const {
    return absl::StrCat(static_cast<int>((wall - o.wall) * 1000), " ms wall, ",
                        static_cast<int>((user - o.user) * 1000), " ms user, ",
                        static_cast<int>((sys - o.sys) * 1000), " ms kernel");
  }
};

CpuTimes Now() {
  rusage ru{};
  getrusage(RUSAGE_THREAD, &ru);
  auto sec = [](const timeval& tv) { return tv.tv_sec + tv.tv_usec / 1e6; };
  return CpuTimes{
      std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(),
      sec(ru.ru_utime), sec(ru.ru_stime)};
}

class NatBackendTest : public testing::NetnsTest {
 protected:
  void SetUp() override {
    NetnsTest::SetUp();
    if (IsSkipped() || HasFatalFailure()) return;
    absl::StatusOr<std::unique_ptr<NatBackend>> b = NewNetlinkNatBackend();
    ASSERT_TRUE(b.ok()) << b.status();
    backend_ = std::move(*b);
  }
  void TearDown() override {
    backend_.reset();  // close the socket inside the namespace
    NetnsTest::TearDown();
  }

  // The plan of the spec example: one element in dnat4, dnat6 and masq4.
  static NatPlan ExamplePlan() {
    NatPlan plan;
    plan.create_table = true;
    plan.dnat_add = {
        {Key("192.0.2.1", 80), Target("10.8.0.2", 8080, "ipforward/web")},
        {Key("2001:db8::1", 53, kProtoUdp), Target("2001:db8::2", 5353, "ipforward/dns")}};
    plan.masq_add = {{MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}, "ipforward/web"}};
    return plan;
  }

  std::unique_ptr<NatBackend> backend_;
};

TEST_F(NatBackendTest, ColdCreateListsReadableTypesAndComments) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());

  const std::string listed = MustInNetns("nft list table inet ferry");
  EXPECT_EQ(listed, R"(table inet ferry {
	comment "managed by ferry-agent; do not edit"
	map dnat4 {
		type ipv4_addr . inet_proto . inet_service : ipv4_addr . inet_service
		comment "client-facing addr . proto . port : backend addr . port"
		elements = { 192.0.2.1 . tcp . 80 comment "ipforward/web" : 10.8.0.2 . 8080 }
	}

	map dnat6 {
		type ipv6_addr . inet_proto . inet_service : ipv6_addr . inet_service
		elements = { 2001:db8::1 . udp . 53 comment "ipforward/dns" : 2001:db8::2 . 5353 }
	}

	set masq4 {
		type ipv4_addr . inet_proto . inet_service
		elements = { 10.8.0.2 . tcp . 8080 comment "ipforward/web" }
	}

	set masq6 {
		type ipv6_addr . inet_proto . inet_service
	}

	chain prerouting {
		type nat hook prerouting priority dstnat; policy accept;
		dnat ip to ip daddr . meta l4proto . th dport map @dnat4 comment "ferry:dnat4"
		dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat6 comment "ferry:dnat6"
	}

	chain postrouting {
		type nat hook postrouting priority srcnat; policy accept;
		ct status dnat ip daddr . meta l4proto . th dport @masq4 masquerade comment "ferry:masq4"
		ct status dnat ip6 daddr . meta l4proto . th dport @masq6 masquerade comment "ferry:masq6"
	}

	chain output {
		type nat hook output priority -100; policy accept;
		meta mark 0xff000000/8 dnat ip to ip daddr . meta l4proto . th dport map @dnat4 comment "ferry:probe4"
		meta mark 0xff000000/8 dnat ip6 to ip6 daddr . meta l4proto . th dport map @dnat6 comment "ferry:probe6"
		meta mark 0xff000000/8 drop comment "ferry:probe-drop"
	}
}
)");
  std::printf("nft list table inet ferry:\n%s", listed.c_str());
}

TEST_F(NatBackendTest, LoadOfAbsentTableReportsNoTable) {
  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(*state, NatState{});
}

TEST_F(NatBackendTest, LoadReturnsWhatApplyWrote) {
  const NatPlan plan = ExamplePlan();
  ASSERT_TRUE(backend_->Apply(plan).ok());

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  NatState want;
  want.table_present = true;
  for (const auto& [k, v] : plan.dnat_add) want.dnat[k] = v;
  for (const auto& [k, v] : plan.masq_add) want.masq[k] = v;
  EXPECT_EQ(*state, want);
}

TEST_F(NatBackendTest, LoadNamesTheRulesOfAFlushedChainAndStillReadsElements) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  MustInNetns("nft flush chain inet ferry prerouting");

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->structure_drift.size(), 2u);
  EXPECT_EQ(state->structure_drift[0].object, "rule ferry:dnat4 in chain prerouting");
  EXPECT_EQ(state->structure_drift[0].found, "");
  EXPECT_EQ(state->structure_drift[1].object, "rule ferry:dnat6 in chain prerouting");
  EXPECT_EQ(state->dnat.size(), 2u);
}

TEST_F(NatBackendTest, LoadNamesAnExtraRuleAndAnExtraChain) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  MustInNetns("nft add rule inet ferry prerouting counter");
  MustInNetns("nft add chain inet ferry mine");

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  ASSERT_EQ(state->structure_drift.size(), 2u);
  EXPECT_THAT(state->structure_drift[0].object, HasSubstr("in chain prerouting"));
  EXPECT_THAT(state->structure_drift[0].object, HasSubstr("rule handle "));
  EXPECT_EQ(state->structure_drift[0].found, "counter");
  EXPECT_EQ(state->structure_drift[1].object, "chain mine");
  EXPECT_EQ(state->structure_drift[1].found, "regular chain with 0 rules");
}

TEST_F(NatBackendTest, CreateTableRepairsTheStructureKeepingElements) {
  NatPlan plan = ExamplePlan();
  ASSERT_TRUE(backend_->Apply(plan).ok());
  MustInNetns("nft flush chain inet ferry postrouting");
  MustInNetns("nft add chain inet ferry mine");
  ASSERT_FALSE(backend_->Load()->structure_drift.empty());

  ASSERT_TRUE(backend_->Apply(plan).ok());
  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_TRUE(state->structure_drift.empty());
  EXPECT_EQ(state->dnat.size(), plan.dnat_add.size());
}

TEST_F(NatBackendTest, TableOutlivesTheBackendSocket) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  backend_.reset();

  EXPECT_EQ(InNetns("nft list table inet ferry").exit_code, 0);
}

TEST_F(NatBackendTest, DeleteRemovesOnlyThatElement) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  NatPlan del;
  del.dnat_delete = {Key("192.0.2.1", 80)};
  ASSERT_TRUE(backend_->Apply(del).ok());

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_FALSE(state->dnat.contains(Key("192.0.2.1", 80)));
  EXPECT_TRUE(state->dnat.contains(Key("2001:db8::1", 53, kProtoUdp)));
  EXPECT_EQ(state->masq.size(), 1u);
}

TEST_F(NatBackendTest, AddOfExistingKeyReplacesTargetAndComment) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  ASSERT_TRUE(backend_->Load().ok());
  NatPlan change;
  change.dnat_add = {{Key("192.0.2.1", 80), Target("10.8.0.3", 9090, "ipforward/web2")}};
  change.masq_add = {{MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}, "ipforward/renamed"}};
  absl::Status s = backend_->Apply(change);
  ASSERT_TRUE(s.ok()) << s;

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->dnat.at(Key("192.0.2.1", 80)), Target("10.8.0.3", 9090, "ipforward/web2"));
  EXPECT_EQ(state->masq.at(MasqKey{Ip("10.8.0.2"), kProtoTcp, 8080}), "ipforward/renamed");
  EXPECT_THAT(MustInNetns("nft list map inet ferry dnat4"),
              HasSubstr("192.0.2.1 . tcp . 80 comment \"ipforward/web2\" : 10.8.0.3 . 9090"));
}

TEST_F(NatBackendTest, FailingBatchChangesNothingAndNamesTheElement) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  absl::StatusOr<NatState> before = backend_->Load();
  ASSERT_TRUE(before.ok());
  NatPlan bad;
  bad.dnat_add = {{Key("192.0.2.7", 443), Target("10.8.0.9", 443, "ipforward/new")}};
  bad.dnat_delete = {Key("198.51.100.9", 443)};  // not in the map

  absl::Status s = backend_->Apply(bad);
  EXPECT_TRUE(absl::IsNotFound(s)) << s;
  EXPECT_THAT(s.message(), HasSubstr("deleting element 198.51.100.9 . tcp . 443 from map dnat4"));
  absl::StatusOr<NatState> after = backend_->Load();
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(*after, *before);
}

TEST_F(NatBackendTest, CreateTableOverAnExistingTableRebuildsIt) {
  ASSERT_TRUE(backend_->Apply(ExamplePlan()).ok());
  NatPlan rebuild;
  rebuild.create_table = true;
  rebuild.dnat_add = {{Key("192.0.2.5", 25), Target("10.8.0.5", 2525, "ipforward/mail")}};
  ASSERT_TRUE(backend_->Apply(rebuild).ok());

  absl::StatusOr<NatState> state = backend_->Load();
  ASSERT_TRUE(state.ok());
  EXPECT_EQ(state->dnat.size(), 1u);
  EXPECT_TRUE(state->masq.empty());
  // Exactly the two rules per chain, not four.
  const std::string listed = MustInNetns("nft list chain inet ferry prerouting");
  EXPECT_EQ(std::count(listed.begin(), listed.end(), '@'), 2) << listed;
}

TEST_F(NatBackendTest, HundredThousandElementsApplyAndLoadInOneTransaction) {
  constexpr int kCount = 100000;
  NatPlan plan;
  plan.create_table = true;
  plan.dnat_add.reserve(kCount);
  for (int i = 0; i < kCount; ++i) {
    const std::string daddr = absl::StrCat("198.18.", (i / 250) % 256, ".", i % 250 + 1);
    const uint16_t port = static_cast<uint16_t>(1000 + i / 64000);
    plan.dnat_add.push_back(
        {DnatKey{Ip(daddr.c_str()), kProtoTcp, port},
         Target("10.8.0.2", static_cast<uint16_t>(1 + i % 60000), "ipforward/bulk")});
  }
  const CpuTimes t0 = Now();
  absl::Status s = backend_->Apply(plan);
  const CpuTimes t1 = Now();
  ASSERT_TRUE(s.ok()) << s;
  absl::StatusOr<NatState> state = backend_->Load();
  const CpuTimes t2 = Now();
  ASSERT_TRUE(state.ok()) << state.status();
  EXPECT_EQ(state->dnat.size(), static_cast<size_t>(kCount));
  std::printf("100k elements: apply %s; load %s\n", (t1 - t0).c_str(), (t2 - t1).c_str());
}

}  // namespace
}  // namespace ferry::agent
