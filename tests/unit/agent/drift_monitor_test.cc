// Spec: kernel events are coalesced into one check per burst, bounded in
// delay; the nftables generation lets a check skip the element dump only
// when nothing but Ferry touched the table; reports go out when the view
// of drift changes.

// <arpa/inet.h> before <linux/netfilter.h>, which would define in_addr.
#include <arpa/inet.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <linux/netconf.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/rtnetlink.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <thread>
#include <vector>

#include "absl/synchronization/notification.h"
#include "node-agent/monitor/check_scheduler.h"
#include "node-agent/monitor/drift_reporter.h"
#include "node-agent/monitor/kernel_events.h"

namespace ferry::agent {
namespace {

using ::testing::Field;
using ::testing::Optional;

const absl::Time kStart = absl::FromUnixSeconds(1000);

absl::Time At(int ms) { return kStart + absl::Milliseconds(ms); }

TEST(CheckSchedulerTest, BurstIsOneCheckAfterAQuietGap) {
  CheckScheduler s({}, kStart);
  s.OnEvent(At(0));
  s.OnEvent(At(3));
  EXPECT_EQ(s.NextDeadline(), At(8));
  EXPECT_FALSE(s.TakeDue(At(7)).has_value());
  std::optional<CheckScheduler::Due> due = s.TakeDue(At(8));
  ASSERT_TRUE(due.has_value());
  EXPECT_EQ(due->kind, CheckKind::kEvent);
  EXPECT_EQ(due->first_event, At(0));
  EXPECT_FALSE(s.TakeDue(At(9)).has_value());
}

TEST(CheckSchedulerTest, EndlessBurstIsCheckedWithinTheBound) {
  CheckScheduler s({}, kStart);
  for (int ms = 0; ms <= 50; ms += 2) s.OnEvent(At(ms));
  EXPECT_EQ(s.NextDeadline(), At(50));
  EXPECT_TRUE(s.TakeDue(At(50)).has_value());
}

TEST(CheckSchedulerTest, IdleWakesOnlyForThePeriodicVerificationByDefault) {
  CheckScheduler s({.verify_interval = absl::Seconds(30)}, kStart);
  // Sysctl changes arrive as events: nothing is due before the safety net.
  EXPECT_EQ(s.NextDeadline(), At(30000));
  EXPECT_FALSE(s.TakeDue(At(29999)).has_value());
  EXPECT_THAT(s.TakeDue(At(30000)),
              Optional(Field(&CheckScheduler::Due::kind, CheckKind::kPeriodic)));
  EXPECT_EQ(s.NextDeadline(), At(60000));
}

TEST(CheckSchedulerTest, AnOptionalSysctlPollIsScheduledWhenAsked) {
  CheckScheduler s({.sysctl_poll = absl::Milliseconds(100), .verify_interval = absl::Seconds(1)},
                   kStart);
  EXPECT_EQ(s.NextDeadline(), At(100));
  EXPECT_THAT(s.TakeDue(At(100)), Optional(Field(&CheckScheduler::Due::kind, CheckKind::kSysctl)));
  EXPECT_THAT(s.TakeDue(At(1000)),
              Optional(Field(&CheckScheduler::Due::kind, CheckKind::kPeriodic)));
}

// One nf_tables message: header, nfgenmsg, attributes.
class NftMessage {
 public:
  NftMessage(int type, uint8_t family) : buf_(NLMSG_HDRLEN + NLMSG_ALIGN(sizeof(nfgenmsg))) {
    nlmsghdr* h = header();
    h->nlmsg_type = (NFNL_SUBSYS_NFTABLES << 8) | type;
    nfgenmsg gen{};
    gen.nfgen_family = family;
    std::memcpy(buf_.data() + NLMSG_HDRLEN, &gen, sizeof(gen));
    h->nlmsg_len = buf_.size();
  }
  NftMessage& Attr(uint16_t type, const void* data, size_t len) {
    nlattr a{static_cast<uint16_t>(sizeof(nlattr) + len), type};
    const size_t at = buf_.size();
    buf_.resize(at + NLA_ALIGN(a.nla_len));
    std::memcpy(buf_.data() + at, &a, sizeof(a));
    std::memcpy(buf_.data() + at + sizeof(a), data, len);
    header()->nlmsg_len = buf_.size();
    return *this;
  }
  NftMessage& Str(uint16_t type, const char* s) { return Attr(type, s, std::strlen(s) + 1); }
  NftMessage& Be32(uint16_t type, uint32_t v) {
    v = htonl(v);
    return Attr(type, &v, 4);
  }
  NftEvent Classify() const { return ClassifyNftMessage(header(), buf_.size()); }

 private:
  nlmsghdr* header() const { return reinterpret_cast<nlmsghdr*>(const_cast<char*>(buf_.data())); }
  std::vector<char> buf_;
};

NftEvent Gen(uint32_t id, uint32_t pid) {
  return NftMessage(NFT_MSG_NEWGEN, AF_UNSPEC)
      .Be32(NFTA_GEN_ID, id)
      .Be32(NFTA_GEN_PROC_PID, pid)
      .Classify();
}
NftEvent OurElementDeleted() {
  return NftMessage(NFT_MSG_DELSETELEM, NFPROTO_INET)
      .Str(NFTA_SET_ELEM_LIST_TABLE, "ferry")
      .Classify();
}

TEST(ClassifyNftMessageTest, RecognisesOurTableAndGenerations) {
  EXPECT_EQ(OurElementDeleted().kind, NftEvent::Kind::kOurTable);
  EXPECT_EQ(
      NftMessage(NFT_MSG_DELTABLE, NFPROTO_INET).Str(NFTA_TABLE_NAME, "filter").Classify().kind,
      NftEvent::Kind::kOther);
  EXPECT_EQ(
      NftMessage(NFT_MSG_DELTABLE, NFPROTO_IPV4).Str(NFTA_TABLE_NAME, "ferry").Classify().kind,
      NftEvent::Kind::kOther);
  const NftEvent gen = Gen(42, 7);
  EXPECT_EQ(gen.kind, NftEvent::Kind::kGeneration);
  EXPECT_EQ(gen.generation, 42u);
  EXPECT_EQ(gen.pid, 7u);
}

// A flushed chain (DELRULE), an extra chain or a replaced set must trigger
// a check as element changes do.
TEST(ClassifyNftMessageTest, ChainRuleAndSetChangesOfOurTableAreOurs) {
  for (int type : {NFT_MSG_NEWCHAIN, NFT_MSG_DELCHAIN, NFT_MSG_NEWRULE, NFT_MSG_DELRULE,
                   NFT_MSG_NEWSET, NFT_MSG_DELSET}) {
    // NFTA_CHAIN_TABLE, NFTA_RULE_TABLE and NFTA_SET_TABLE are all attribute 1.
    EXPECT_EQ(NftMessage(type, NFPROTO_INET).Str(NFTA_RULE_TABLE, "ferry").Classify().kind,
              NftEvent::Kind::kOurTable)
        << "message type " << type;
    EXPECT_EQ(NftMessage(type, NFPROTO_INET).Str(NFTA_RULE_TABLE, "filter").Classify().kind,
              NftEvent::Kind::kOther)
        << "message type " << type;
  }
}

TEST(GenerationTrackerTest, ForeignChangeToOurTableIsDueAndForgetsTheGeneration) {
  GenerationTracker t(/*own_pid=*/100);
  t.Verified(10);
  EXPECT_FALSE(t.OnEvent(OurElementDeleted()));
  EXPECT_TRUE(t.OnEvent(Gen(11, 200)));
  EXPECT_FALSE(t.Unchanged(11));
}

TEST(GenerationTrackerTest, OwnWritesAndOtherTablesKeepTheTableTrusted) {
  GenerationTracker t(/*own_pid=*/100);
  t.Verified(10);
  t.OnEvent(OurElementDeleted());
  EXPECT_FALSE(t.OnEvent(Gen(11, 100)));
  EXPECT_FALSE(t.OnEvent(Gen(12, 200)));  // another table only
  EXPECT_TRUE(t.Unchanged(12));
}

TEST(GenerationTrackerTest, MissedGenerationOrLostEventsForgetTheGeneration) {
  GenerationTracker t(/*own_pid=*/100);
  t.Verified(10);
  t.OnEvent(Gen(12, 200));
  EXPECT_FALSE(t.Unchanged(12));
  t.Verified(12);
  t.Invalidate();
  EXPECT_FALSE(t.Unchanged(12));
}

// An RTM_NEWNETCONF as the kernel sends it when a forwarding sysctl changes.
std::vector<char> Netconf(uint16_t type, int32_t ifindex, bool with_forwarding) {
  std::vector<char> buf(NLMSG_SPACE(sizeof(netconfmsg)));
  auto put = [&buf](uint16_t attr, int32_t value) {
    nlattr a{static_cast<uint16_t>(NLA_HDRLEN + sizeof(value)), attr};
    const size_t at = buf.size();
    buf.resize(at + NLA_ALIGN(a.nla_len));
    std::memcpy(buf.data() + at, &a, sizeof(a));
    std::memcpy(buf.data() + at + NLA_HDRLEN, &value, sizeof(value));
  };
  put(NETCONFA_IFINDEX, ifindex);
  if (with_forwarding) put(NETCONFA_FORWARDING, 0);
  nlmsghdr h{};
  h.nlmsg_len = static_cast<uint32_t>(buf.size());
  h.nlmsg_type = type;
  std::memcpy(buf.data(), &h, sizeof(h));
  netconfmsg ncm{AF_INET};
  std::memcpy(buf.data() + NLMSG_HDRLEN, &ncm, sizeof(ncm));
  return buf;
}

bool ForwardingChange(const std::vector<char>& m) {
  return IsForwardingChange(reinterpret_cast<const nlmsghdr*>(m.data()), m.size());
}

TEST(ForwardingChangeTest, AllForwardingNetconfIsAChange) {
  EXPECT_TRUE(ForwardingChange(Netconf(RTM_NEWNETCONF, NETCONFA_IFINDEX_ALL, true)));
}

TEST(ForwardingChangeTest, PerDeviceDefaultOrOtherSettingsAreNot) {
  EXPECT_FALSE(ForwardingChange(Netconf(RTM_NEWNETCONF, 2, true)));
  EXPECT_FALSE(ForwardingChange(Netconf(RTM_NEWNETCONF, NETCONFA_IFINDEX_DEFAULT, true)));
  EXPECT_FALSE(ForwardingChange(Netconf(RTM_NEWNETCONF, NETCONFA_IFINDEX_ALL, false)));
  EXPECT_FALSE(ForwardingChange(Netconf(RTM_DELNETCONF, NETCONFA_IFINDEX_ALL, true)));
}

TEST(ForwardingChangeTest, TruncatedMessageIsNot) {
  std::vector<char> m = Netconf(RTM_NEWNETCONF, NETCONFA_IFINDEX_ALL, true);
  EXPECT_FALSE(IsForwardingChange(reinterpret_cast<const nlmsghdr*>(m.data()), NLMSG_HDRLEN));
}

TEST(GenerationTrackerTest, CommitsFromAnyThreadOfThisProcessAreOwn) {
  // The kernel names the committing thread; the agent commits from several.
  std::atomic<uint32_t> live_tid{0};
  absl::Notification done;
  std::thread live([&] {
    live_tid = static_cast<uint32_t>(gettid());
    done.WaitForNotification();
  });
  for (int i = 0; i < 1000000 && live_tid == 0; ++i) std::this_thread::yield();
  ASSERT_NE(live_tid, 0u);
  EXPECT_TRUE(IsThreadOfThisProcess(static_cast<uint32_t>(getpid())));
  EXPECT_TRUE(IsThreadOfThisProcess(live_tid));
  EXPECT_FALSE(IsThreadOfThisProcess(0));
  EXPECT_FALSE(IsThreadOfThisProcess(1));  // init, never us in a test
  GenerationTracker t(IsThreadOfThisProcess);
  t.Verified(10);
  t.OnEvent(OurElementDeleted());
  EXPECT_FALSE(t.OnEvent(Gen(11, live_tid)));
  EXPECT_TRUE(t.Unchanged(11));
  done.Notify();
  live.join();
}

TEST(GenerationTrackerTest, ChangeAlreadyCoveredByAVerificationIsNotDue) {
  GenerationTracker t(/*own_pid=*/100);
  t.Verified(11);
  t.OnEvent(OurElementDeleted());
  EXPECT_FALSE(t.OnEvent(Gen(11, 200)));
}

DriftOutcome Outcome(std::vector<Drift> items, std::vector<bool> repaired) {
  DriftOutcome o;
  o.checked = true;
  o.items = std::move(items);
  o.repaired = std::move(repaired);
  for (bool r : o.repaired) o.in_sync = o.in_sync && r;
  o.config_version = "v1";
  return o;
}

const Drift kMissing{"web", "map dnat4 element 192.0.2.1 . tcp . 80", "nftables", "x", "", false};

TEST(DriftReporterTest, RepairIsReportedWithTriggerAndDetectionTime) {
  DriftReporter r;
  std::optional<ferry::v1::DriftReport> report =
      r.OnOutcome(Outcome({kMissing}, {true}), "event", At(5));
  ASSERT_TRUE(report.has_value());
  EXPECT_TRUE(report->in_sync());
  EXPECT_EQ(report->trigger(), "event");
  EXPECT_EQ(report->detected_at().seconds(), 1000);
  EXPECT_EQ(report->detected_at().nanos(), 5000000);
  ASSERT_EQ(report->items_size(), 1);
  EXPECT_TRUE(report->items(0).repaired());
  EXPECT_EQ(report->items(0).forward(), "web");
}

TEST(DriftReporterTest, PersistingAlertDriftIsReportedOnceThenClearedOnce) {
  DriftReporter r;
  EXPECT_TRUE(r.OnOutcome(Outcome({kMissing}, {false}), "event", At(0)).has_value());
  EXPECT_FALSE(r.OnOutcome(Outcome({kMissing}, {false}), "periodic", At(1)).has_value());
  std::optional<ferry::v1::DriftReport> cleared = r.OnOutcome(Outcome({}, {}), "event", At(2));
  ASSERT_TRUE(cleared.has_value());
  EXPECT_TRUE(cleared->in_sync());
  EXPECT_EQ(cleared->items_size(), 0);
  EXPECT_FALSE(r.OnOutcome(Outcome({}, {}), "sysctl", At(3)).has_value());
}

}  // namespace
}  // namespace ferry::agent
