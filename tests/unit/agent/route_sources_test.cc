// Spec: which backends the agent reports route sources for, and when it
// reports them, against a fake route lookup.

#include "node-agent/monitor/route_sources.h"

#include <map>
#include <string>
#include <utility>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::agent {
namespace {

using ::testing::ElementsAre;

IpAddress Ip(const char* text) { return *IpAddress::Parse(text); }

ferry::v1::DnatRule Rule(const std::string& forward, const std::string& backend,
                         bool masquerade = false, uint32_t port = 80) {
  ferry::v1::DnatRule rule;
  rule.set_forward(forward);
  rule.set_frontend_address("192.0.2.1");
  rule.set_protocol(ferry::v1::TCP);
  rule.set_port(port);
  rule.set_backend_address(backend);
  rule.set_masquerade(masquerade);
  return rule;
}

ferry::v1::NodeConfig Config(std::vector<ferry::v1::DnatRule> rules) {
  ferry::v1::NodeConfig config;
  config.set_version("v1");
  for (auto& rule : rules) *config.add_dnat() = std::move(rule);
  return config;
}

ferry::v1::NodeConfigDelta Delta(std::vector<std::string> forwards,
                                 std::vector<ferry::v1::DnatRule> rules) {
  ferry::v1::NodeConfigDelta delta;
  for (auto& forward : forwards) delta.add_forwards(std::move(forward));
  for (auto& rule : rules) *delta.add_dnat() = std::move(rule);
  return delta;
}

TEST(PreserveBackendsTest, HoldsEachBackendThatKeepsClientSourcesOnce) {
  PreserveBackends backends;
  backends.Applied(
      Config({Rule("web", "10.8.0.2", false, 80), Rule("web", "10.8.0.2", false, 443),
              Rule("api", "10.8.0.2"), Rule("dns", "fd00:8::2"),
              Rule("masq", "10.8.0.9", /*masquerade=*/true), Rule("db", "10.8.0.10")}));
  // Sorted; a masquerading backend replies to this node itself.
  EXPECT_THAT(backends.Addresses(), ElementsAre(Ip("10.8.0.2"), Ip("10.8.0.10"), Ip("fd00:8::2")));
}

TEST(PreserveBackendsTest, AFullConfigReplacesEverything) {
  PreserveBackends backends;
  backends.Applied(Config({Rule("web", "10.8.0.2"), Rule("db", "10.8.0.10")}));
  backends.Applied(Config({Rule("web", "10.8.0.3")}));
  EXPECT_THAT(backends.Addresses(), ElementsAre(Ip("10.8.0.3")));
  backends.Applied(Config({}));
  EXPECT_TRUE(backends.Addresses().empty());
}

TEST(PreserveBackendsTest, ADeltaReplacesOnlyTheForwardsItNames) {
  PreserveBackends backends;
  backends.Applied(
      Config({Rule("web", "10.8.0.2"), Rule("api", "10.8.0.2"), Rule("db", "10.8.0.10")}));
  // web moves; api still holds 10.8.0.2; db is gone; dns is new.
  backends.Applied(Delta({"web", "db", "dns"}, {Rule("web", "10.8.0.3"), Rule("dns", "10.8.0.4")}));
  EXPECT_THAT(backends.Addresses(), ElementsAre(Ip("10.8.0.2"), Ip("10.8.0.3"), Ip("10.8.0.4")));
  backends.Applied(Delta({"api"}, {}));
  EXPECT_THAT(backends.Addresses(), ElementsAre(Ip("10.8.0.3"), Ip("10.8.0.4")));
  // Masquerading now: no hop needed any more.
  backends.Applied(Delta({"web"}, {Rule("web", "10.8.0.3", /*masquerade=*/true)}));
  EXPECT_THAT(backends.Addresses(), ElementsAre(Ip("10.8.0.4")));
}

// Answers from a table the test sets; counts the lookups.
class FakeRouteLookup : public RouteLookup {
 public:
  absl::StatusOr<ferry::v1::RouteSource> Get(const IpAddress& destination) override {
    absl::MutexLock lock(&mu_);
    ++lookups_;
    auto it = routes_.find(destination);
    if (it == routes_.end()) {
      return absl::FailedPreconditionError(absl::StrCat(
          "looking up the route to ", destination.ToString(), ": Network is unreachable"));
    }
    ferry::v1::RouteSource out;
    out.set_destination(destination.ToString());
    out.set_source(it->second.first);
    out.set_interface(it->second.second);
    return out;
  }
  void Set(const char* destination, const char* source, const char* interface) {
    absl::MutexLock lock(&mu_);
    routes_[Ip(destination)] = {source, interface};
  }
  void Remove(const char* destination) {
    absl::MutexLock lock(&mu_);
    routes_.erase(Ip(destination));
  }
  int lookups() {
    absl::MutexLock lock(&mu_);
    return lookups_;
  }

 private:
  absl::Mutex mu_;
  std::map<IpAddress, std::pair<std::string, std::string>> routes_ ABSL_GUARDED_BY(mu_);
  int lookups_ ABSL_GUARDED_BY(mu_) = 0;
};

// "destination>source@interface" per entry, for readable expectations.
std::vector<std::string> Brief(const std::vector<ferry::v1::RouteSource>& sources) {
  std::vector<std::string> out;
  for (const auto& s : sources) {
    out.push_back(absl::StrCat(s.destination(), ">", s.source(), "@", s.interface()));
  }
  return out;
}

class RouteSourceMonitorTest : public ::testing::Test {
 protected:
  RouteSourceMonitor::Options Interval(absl::Duration interval) {
    RouteSourceMonitor::Options options;
    options.interval = interval;
    return options;
  }

  void Record(std::vector<ferry::v1::RouteSource> sources) {
    absl::MutexLock lock(&mu_);
    reports_.push_back(Brief(sources));
  }
  std::vector<std::vector<std::string>> reports() {
    absl::MutexLock lock(&mu_);
    return reports_;
  }
  // Waits (bounded) until `n` reports arrived.
  bool WaitForReports(size_t n) {
    absl::MutexLock lock(&mu_);
    auto enough = [&]() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_) { return reports_.size() >= n; };
    return mu_.AwaitWithTimeout(absl::Condition(&enough), absl::Seconds(10));
  }

  FakeRouteLookup lookup_;
  absl::Mutex mu_;
  std::vector<std::vector<std::string>> reports_ ABSL_GUARDED_BY(mu_);
};

TEST_F(RouteSourceMonitorTest, ReportsTheRoutesOfTheBackendsSortedAndOnlyWhenTheyChange) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg0");
  lookup_.Set("10.8.0.10", "192.0.2.1", "eth0");
  monitor.Applied(Config({Rule("web", "10.8.0.10"), Rule("api", "10.8.0.2")}));
  monitor.Refresh();
  monitor.Refresh();  // nothing changed: nothing reported
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_THAT(reports()[0], ElementsAre("10.8.0.2>10.8.0.1@wg0", "10.8.0.10>192.0.2.1@eth0"));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg1");
  monitor.Refresh();
  ASSERT_EQ(reports().size(), 2u);
  EXPECT_THAT(reports()[1], ElementsAre("10.8.0.2>10.8.0.1@wg1", "10.8.0.10>192.0.2.1@eth0"));
}

TEST_F(RouteSourceMonitorTest, AFailedLookupLeavesItsDestinationOut) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg0");
  monitor.Applied(Config({Rule("web", "10.8.0.2"), Rule("api", "10.77.0.9")}));
  monitor.Refresh();
  monitor.Refresh();
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_THAT(reports()[0], ElementsAre("10.8.0.2>10.8.0.1@wg0"));
  // The route appears: reported with it.
  lookup_.Set("10.77.0.9", "10.8.0.1", "wg0");
  monitor.Refresh();
  ASSERT_EQ(reports().size(), 2u);
  EXPECT_THAT(reports()[1], ElementsAre("10.8.0.2>10.8.0.1@wg0", "10.77.0.9>10.8.0.1@wg0"));
}

TEST_F(RouteSourceMonitorTest, AnEmptyListIsReportedOnceAndThenOnlyChanges) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  monitor.Applied(Config({Rule("masq", "10.8.0.9", /*masquerade=*/true)}));
  monitor.Refresh();
  ASSERT_EQ(reports().size(), 1u);
  EXPECT_TRUE(reports()[0].empty());  // known to be none, which clears the controller's
  EXPECT_EQ(lookup_.lookups(), 0);
  monitor.Refresh();
  EXPECT_EQ(reports().size(), 1u);
}

TEST_F(RouteSourceMonitorTest, AnAppliedPushIsLookedUpByTheThread) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg0");
  monitor.Start();
  monitor.Applied(Config({Rule("web", "10.8.0.2")}));
  ASSERT_TRUE(WaitForReports(1));
  EXPECT_THAT(reports()[0], ElementsAre("10.8.0.2>10.8.0.1@wg0"));
  // The route is there before the push, so the second report must hold it.
  lookup_.Set("10.8.0.3", "10.8.0.1", "wg0");
  monitor.Applied(Delta({"web"}, {Rule("web", "10.8.0.3")}));
  ASSERT_TRUE(WaitForReports(2));
  EXPECT_THAT(reports()[1], ElementsAre("10.8.0.3>10.8.0.1@wg0"));
  monitor.Stop();
}

TEST_F(RouteSourceMonitorTest, RecheckAfterAnAddressChangeReportsTheNewSource) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg0");
  monitor.Start();
  monitor.Applied(Config({Rule("web", "10.8.0.2")}));
  ASSERT_TRUE(WaitForReports(1));
  lookup_.Set("10.8.0.2", "10.8.0.5", "wg0");
  monitor.Recheck();
  ASSERT_TRUE(WaitForReports(2));
  EXPECT_THAT(reports()[1], ElementsAre("10.8.0.2>10.8.0.5@wg0"));
  monitor.Stop();
}

TEST_F(RouteSourceMonitorTest, PeriodicLookupSeesARouteThatChangedWithoutAnyEvent) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); },
      Interval(absl::Milliseconds(5)));
  lookup_.Set("10.8.0.2", "10.8.0.1", "wg0");
  monitor.Start();
  monitor.Applied(Config({Rule("web", "10.8.0.2")}));
  ASSERT_TRUE(WaitForReports(1));
  lookup_.Remove("10.8.0.2");  // e.g. a WireGuard peer's route went away
  ASSERT_TRUE(WaitForReports(2));
  EXPECT_TRUE(reports()[1].empty());
  monitor.Stop();
}

TEST_F(RouteSourceMonitorTest, NothingIsLookedUpOrReportedBeforeTheFirstPush) {
  RouteSourceMonitor monitor(
      &lookup_, [this](auto sources) { Record(std::move(sources)); }, Interval(absl::Hours(1)));
  monitor.Recheck();  // an address change before any push
  monitor.Refresh();
  // The backends are unknown, not none: an empty report would clear the
  // controller's list from before a restart.
  EXPECT_TRUE(reports().empty());
  EXPECT_EQ(lookup_.lookups(), 0);
}

}  // namespace
}  // namespace ferry::agent
