// Drift detection end to end inside a private namespace: the real netlink
// backends, the reconciler and the monitor, tampered with by nft, ip and
// sysctl as an operator would. Enforce drift is repaired and Alert drift
// reported (kernel untouched) within 1 s; detection latency is printed.

#include "node-agent/monitor/drift_monitor.h"

#include <fcntl.h>
#include <sched.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "node-agent/kernel/netlink_backends.h"
#include "node-agent/reconcile/drift_checker.h"
#include "node-agent/reconcile/reconciler.h"
#include "tests/netns/netns_fixture.h"

namespace ferry::agent {
namespace {

using ferry::testing::CommandResult;
using ferry::testing::RunCommand;
using ::testing::HasSubstr;
using ::testing::Not;

constexpr absl::Duration kRepairBound = absl::Seconds(1);

struct Received {
  ferry::v1::DriftReport report;
  absl::Time at;
};

bool HasItem(const ferry::v1::DriftReport& r, absl::string_view object_part, bool repaired) {
  for (const ferry::v1::DriftItem& item : r.items()) {
    if (absl::StrContains(item.object(), object_part) && item.repaired() == repaired) return true;
  }
  return false;
}

ferry::v1::NodeConfig Config(bool alert) {
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  config.set_ipv4_forwarding(true);
  ferry::v1::DnatRule* rule = config.add_dnat();
  rule->set_forward("web");
  rule->set_frontend_address("203.0.113.1");
  rule->set_protocol(ferry::v1::TCP);
  rule->set_port(80);
  rule->set_backend_address("10.8.0.2");
  rule->set_target_port(8080);
  rule->set_alert_only(alert);
  ferry::v1::ReturnRoute* route = config.add_return_routes();
  route->set_forward("web");
  route->set_source_address("10.8.0.2");
  route->set_protocol(ferry::v1::TCP);
  route->set_port(8080);
  route->set_via("10.8.0.1");
  route->set_alert_only(alert);
  return config;
}

// Its own namespace (fx-drift-<pid>-<n>), entered on the test thread before
// any socket is opened; the monitor thread inherits it.
class DriftMonitorTest : public ::testing::TestWithParam<bool> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: creates network namespaces";
    static std::atomic<int> counter{0};
    name_ = absl::StrCat("fx-drift-", getpid(), "-", counter++);
    CommandResult add = RunCommand(absl::StrCat("ip netns add ", name_));
    ASSERT_EQ(add.exit_code, 0) << add.output;
    created_ = true;
    original_ = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    ASSERT_GE(original_, 0);
    const int target = open(absl::StrCat("/run/netns/", name_).c_str(), O_RDONLY | O_CLOEXEC);
    ASSERT_GE(target, 0);
    const int rc = setns(target, CLONE_NEWNET);
    close(target);
    ASSERT_EQ(rc, 0);
    entered_ = true;
    Must("ip link add d0 type veth peer name d1");
    Must("ip link set d1 up");
    Must("ip link set d0 up");
    Must("ip addr add 10.8.0.2/24 dev d0");

    absl::StatusOr<std::unique_ptr<NatBackend>> nat = NewNetlinkNatBackend();
    ASSERT_TRUE(nat.ok()) << nat.status();
    nat_ = std::move(*nat);
    absl::StatusOr<std::unique_ptr<RouteBackend>> routes = NewNetlinkRouteBackend();
    ASSERT_TRUE(routes.ok()) << routes.status();
    routes_ = std::move(*routes);
    sysctls_ = NewProcSysctlBackend();
    reconciler_ = std::make_unique<Reconciler>(nat_.get(), routes_.get(), sysctls_.get(),
                                               Reconciler::Options{});
    ASSERT_TRUE(reconciler_->Adopt().ok());
    ASSERT_TRUE(reconciler_->Apply(Config(alert())).ok());
    checker_ = std::make_unique<DriftChecker>(reconciler_.get(), nat_.get(), routes_.get(),
                                              sysctls_.get());

    monitor_ = std::make_unique<DriftMonitor>(
        DriftMonitor::Options{}, [this](const DriftCheck& check) { return checker_->Check(check); },
        [this](const ferry::v1::DriftReport& report) {
          absl::MutexLock lock(&mu_);
          received_.push_back(Received{report, absl::Now()});
        });
    ASSERT_TRUE(monitor_->Start().ok());
  }

  void TearDown() override {
    if (monitor_) monitor_->Stop();
    monitor_.reset();
    checker_.reset();
    reconciler_.reset();
    nat_.reset();
    routes_.reset();
    sysctls_.reset();
    if (entered_) {
      EXPECT_EQ(setns(original_, CLONE_NEWNET), 0);
    }
    if (original_ >= 0) close(original_);
    if (created_) RunCommand(absl::StrCat("ip netns del ", name_));
  }

  bool alert() const { return GetParam(); }

  std::string Must(const std::string& command) {
    CommandResult r = RunCommand(absl::StrCat("ip netns exec ", name_, " ", command));
    EXPECT_EQ(r.exit_code, 0) << command << ": " << r.output;
    return r.output;
  }

  CommandResult InNamespace(const std::string& command) {
    return RunCommand(absl::StrCat("ip netns exec ", name_, " ", command));
  }

  // Tampers, then waits (bounded) for a report naming `object_part` with
  // the policy's outcome, and prints how long detection took.
  std::optional<Received> TamperAndWait(const std::string& command, absl::string_view object_part) {
    const absl::Time start = absl::Now();
    Must(command);
    const absl::Time done = absl::Now();
    const bool repaired = !alert();
    auto found = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      for (const Received& r : received_) {
        if (HasItem(r.report, object_part, repaired)) return true;
      }
      return false;
    };
    absl::MutexLock lock(&mu_);
    mu_.AwaitWithDeadline(absl::Condition(&found), done + kRepairBound);
    for (const Received& r : received_) {
      if (!HasItem(r.report, object_part, repaired)) continue;
      const absl::Time detected = absl::FromUnixSeconds(r.report.detected_at().seconds()) +
                                  absl::Nanoseconds(r.report.detected_at().nanos());
      std::printf(
          "[ latency ] %-28s %s: event->report %.2f ms, command "
          "end->report %.2f ms, "
          "command start->report %.2f ms (trigger %s)\n",
          command.substr(0, 28).c_str(), alert() ? "alert" : "enforce",
          absl::ToDoubleMilliseconds(r.at - detected), absl::ToDoubleMilliseconds(r.at - done),
          absl::ToDoubleMilliseconds(r.at - start), r.report.trigger().c_str());
      return r;
    }
    return std::nullopt;
  }

  std::string name_;
  bool created_ = false;
  bool entered_ = false;
  int original_ = -1;
  std::unique_ptr<NatBackend> nat_;
  std::unique_ptr<RouteBackend> routes_;
  std::unique_ptr<SysctlBackend> sysctls_;
  std::unique_ptr<Reconciler> reconciler_;
  std::unique_ptr<DriftChecker> checker_;
  std::unique_ptr<DriftMonitor> monitor_;
  absl::Mutex mu_;
  std::vector<Received> received_ ABSL_GUARDED_BY(mu_);
};

constexpr char kElement[] = "203.0.113.1 . tcp . 80";

TEST_P(DriftMonitorTest, FlushRuleset) {
  ASSERT_TRUE(TamperAndWait("nft flush ruleset", "table inet ferry").has_value());
  CommandResult list = RunCommand(absl::StrCat("ip netns exec ", name_, " nft list ruleset"));
  if (alert()) {
    EXPECT_THAT(list.output, Not(HasSubstr("table inet ferry")));
  } else {
    EXPECT_THAT(list.output, HasSubstr(kElement));
  }
}

TEST_P(DriftMonitorTest, DeleteTable) {
  ASSERT_TRUE(TamperAndWait("nft delete table inet ferry", "table inet ferry").has_value());
  CommandResult list = RunCommand(absl::StrCat("ip netns exec ", name_, " nft list ruleset"));
  if (alert()) {
    EXPECT_THAT(list.output, Not(HasSubstr("table inet ferry")));
  } else {
    EXPECT_THAT(list.output, HasSubstr(kElement));
  }
}

TEST_P(DriftMonitorTest, DeleteElement) {
  std::optional<Received> r =
      TamperAndWait(absl::StrCat("nft delete element inet ferry dnat4 '{ ", kElement, " }'"),
                    "map dnat4 element 203.0.113.1 . tcp . 80");
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->report.items(0).forward(), "web");
  EXPECT_EQ(r->report.items(0).expected(), "10.8.0.2 . 8080");
  const std::string list = Must("nft list map inet ferry dnat4");
  if (alert()) {
    EXPECT_THAT(list, Not(HasSubstr(kElement)));
  } else {
    EXPECT_THAT(list, HasSubstr(kElement));
  }
}

TEST_P(DriftMonitorTest, DeleteRule) {
  ASSERT_TRUE(TamperAndWait("ip rule del pref 10000", "rule from 10.8.0.2").has_value());
  const std::string rules = Must("ip rule show");
  if (alert()) {
    EXPECT_THAT(rules, Not(HasSubstr("lookup 7100")));
  } else {
    EXPECT_THAT(rules, HasSubstr("lookup 7100"));
  }
}

TEST_P(DriftMonitorTest, DeleteRoute) {
  ASSERT_TRUE(
      TamperAndWait("ip route del default table 7100", "route default via 10.8.0.1").has_value());
  const std::string routes = Must("ip route show table 7100");
  if (alert()) {
    EXPECT_THAT(routes, Not(HasSubstr("default via 10.8.0.1")));
  } else {
    EXPECT_THAT(routes, HasSubstr("default via 10.8.0.1"));
  }
}

TEST_P(DriftMonitorTest, ResetForwardingSysctl) {
  ASSERT_TRUE(
      TamperAndWait("sysctl -qw net.ipv4.ip_forward=0", "sysctl net/ipv4/ip_forward").has_value());
  EXPECT_EQ(*sysctls_->Read("net/ipv4/ip_forward"), alert() ? "0" : "1");
}

// The chain's rules after a repair (Enforce) or as the tamper left them.
TEST_P(DriftMonitorTest, FlushPreroutingChain) {
  ASSERT_TRUE(
      TamperAndWait("nft flush chain inet ferry prerouting", "rule ferry:dnat4 in chain prerouting")
          .has_value());
  const std::string chain = Must("nft list chain inet ferry prerouting");
  if (alert()) {
    EXPECT_THAT(chain, Not(HasSubstr("ferry:dnat4")));
  } else {
    EXPECT_THAT(chain, HasSubstr("ferry:dnat4"));
    EXPECT_THAT(Must("nft list map inet ferry dnat4"), HasSubstr(kElement));
  }
}

// The data-path probe's chain is part of the table's shape: deleting it is
// drift, repaired (Enforce) by rebuilding the table with it.
TEST_P(DriftMonitorTest, DeleteOutputChain) {
  ASSERT_TRUE(TamperAndWait("nft delete chain inet ferry output", "chain output").has_value());
  CommandResult chain = InNamespace("nft list chain inet ferry output");
  if (alert()) {
    EXPECT_NE(chain.exit_code, 0) << chain.output;
  } else {
    EXPECT_EQ(chain.exit_code, 0) << chain.output;
    EXPECT_THAT(chain.output, HasSubstr("ferry:probe4"));
    EXPECT_THAT(chain.output, HasSubstr("ferry:probe6"));
    EXPECT_THAT(chain.output, HasSubstr("ferry:probe-drop"));
    EXPECT_THAT(Must("nft list map inet ferry dnat4"), HasSubstr(kElement));
  }
}

TEST_P(DriftMonitorTest, DeleteRuleByHandle) {
  // `nft -a` prints "... comment "ferry:masq4" # handle N".
  const std::string listed = Must("nft -a list chain inet ferry postrouting");
  const size_t tag = listed.find("\"ferry:masq4\" # handle ");
  ASSERT_NE(tag, std::string::npos) << listed;
  const std::string handle =
      listed.substr(tag + sizeof("\"ferry:masq4\" # handle ") - 1,
                    listed.find('\n', tag) - tag - (sizeof("\"ferry:masq4\" # handle ") - 1));
  ASSERT_TRUE(TamperAndWait(absl::StrCat("nft delete rule inet ferry postrouting handle ", handle),
                            "rule ferry:masq4 in chain postrouting")
                  .has_value());
  EXPECT_EQ(Must("nft list chain inet ferry postrouting").find("ferry:masq4") != std::string::npos,
            !alert());
}

TEST_P(DriftMonitorTest, ExtraRule) {
  ASSERT_TRUE(TamperAndWait("nft insert rule inet ferry prerouting counter", "in chain prerouting")
                  .has_value());
  EXPECT_EQ(Must("nft list chain inet ferry prerouting").find("counter") != std::string::npos,
            alert());
}

TEST_P(DriftMonitorTest, ExtraChain) {
  ASSERT_TRUE(TamperAndWait("nft add chain inet ferry mine", "chain mine").has_value());
  EXPECT_EQ(InNamespace("nft list chain inet ferry mine").exit_code == 0, alert());
}

TEST_P(DriftMonitorTest, OwnWritesAreNeverReported) {
  ferry::v1::NodeConfig config = Config(alert());
  config.set_version("v2");
  config.mutable_dnat(0)->set_port(81);
  ASSERT_TRUE(reconciler_->Apply(config).ok());
  // A foreign change afterwards is reported alone: nothing before it.
  std::optional<Received> r =
      TamperAndWait("nft delete element inet ferry dnat4 '{ 203.0.113.1 . tcp . 81 }'", "tcp . 81");
  ASSERT_TRUE(r.has_value());
  absl::MutexLock lock(&mu_);
  EXPECT_FALSE(received_.empty());
  EXPECT_TRUE(HasItem(received_.front().report, "tcp . 81", !alert()));
}

// A push that resolves standing drift writes nothing to the kernel here (the
// element is already gone), so no kernel event follows it: only Recheck
// makes the monitor compare again and report the drift gone.
TEST_P(DriftMonitorTest, PushResolvingStandingDriftIsReportedAfterRecheck) {
  if (!alert()) GTEST_SKIP() << "Enforce drift is repaired, not left standing";
  ASSERT_TRUE(
      TamperAndWait(absl::StrCat("nft delete element inet ferry dnat4 '{ ", kElement, " }'"),
                    "map dnat4 element 203.0.113.1 . tcp . 80")
          .has_value());
  ferry::v1::NodeConfig without = Config(alert());
  without.set_version("v2");
  without.clear_dnat();  // web keeps its return path on this node
  ASSERT_TRUE(reconciler_->Apply(without).ok());
  const absl::Time applied = absl::Now();
  monitor_->Recheck();
  auto in_sync = [&]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
    for (const Received& r : received_) {
      if (r.at >= applied && r.report.in_sync() && r.report.items_size() == 0) return true;
    }
    return false;
  };
  absl::MutexLock lock(&mu_);
  EXPECT_TRUE(mu_.AwaitWithTimeout(absl::Condition(&in_sync), kRepairBound));
}

INSTANTIATE_TEST_SUITE_P(Policies, DriftMonitorTest, ::testing::Values(false, true),
                         [](const ::testing::TestParamInfo<bool>& info) {
                           return info.param ? std::string("Alert") : std::string("Enforce");
                         });

}  // namespace
}  // namespace ferry::agent
