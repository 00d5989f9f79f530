// Events in ferryctl: the `get events` table, --for, -w, and describe's
// Events section, against an in-process fake ResourceService.

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_split.h"
#include "controller/cli/describe.h"
#include "controller/cli/events.h"
#include "controller/cli/printers.h"
#include "controller/cli/runner.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/cli_fake_resource_service.h"

namespace ferry::cli {
namespace {

using ferry::v1::Object;
using ferry::v1::WatchEvent;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Not;
using ::testing::StartsWith;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

void SetTime(google::protobuf::Timestamp* ts, absl::Time t) {
  ts->set_seconds(absl::ToUnixSeconds(t));
}

// An event about `kind`/`object` last seen `last` ago, first seen `first` ago.
Object MakeEvent(const std::string& name, const std::string& kind, const std::string& object,
                 const std::string& reason, absl::Time last, int count = 1,
                 absl::Time first = absl::InfinitePast()) {
  Object o;
  ferry::v1::Event* e = o.mutable_event();
  e->set_api_version("ferry.dev/v1");
  e->set_kind("Event");
  e->mutable_metadata()->set_name(name);
  e->mutable_involved_object()->set_kind(kind);
  e->mutable_involved_object()->set_name(object);
  e->set_reason(reason);
  e->set_message(reason + " on " + object);
  e->set_type(reason == "DriftRepaired" || reason == "NodeConnected" ? "Normal" : "Warning");
  e->set_node("node-a");
  e->set_count(count);
  SetTime(e->mutable_first_timestamp(), first == absl::InfinitePast() ? last : first);
  SetTime(e->mutable_last_timestamp(), last);
  return o;
}

std::vector<std::string> Lines(const std::string& text) {
  return absl::StrSplit(text, '\n', absl::SkipEmpty());
}

std::vector<std::string> Columns(const std::string& line) {
  return absl::StrSplit(line, ' ', absl::SkipEmpty());
}

std::vector<std::string> Names(const std::vector<Object>& events) {
  std::vector<std::string> names;
  for (const Object& o : events) names.push_back(o.event().metadata().name());
  return names;
}

TEST(CliEventsTest, EventTableHasKubectlColumns) {
  Object e = MakeEvent("web.drift", "IPForward", "web", "DriftDetected", kNow - absl::Minutes(2), 3,
                       kNow - absl::Minutes(10));
  std::string out = PrintObjects(OutputFormat::kTable, ferry::v1::EVENT, {e}, kNow, true);
  std::vector<std::string> lines = Lines(out);
  ASSERT_EQ(lines.size(), 2u) << out;
  EXPECT_THAT(Columns(lines[0]),
              ElementsAre("LAST", "SEEN", "TYPE", "REASON", "OBJECT", "NODE", "COUNT", "MESSAGE"));
  EXPECT_THAT(Columns(lines[1]), ElementsAre("2m", "Warning", "DriftDetected", "ipforward/web",
                                             "node-a", "3", "DriftDetected", "on", "web"));
  EXPECT_EQ(lines[1].find("Warning"), lines[0].find("TYPE"));
}

TEST(CliEventsTest, WideEventTableAddsFirstSeenAndName) {
  Object e = MakeEvent("web.drift", "IPForward", "web", "DriftDetected", kNow - absl::Minutes(2), 3,
                       kNow - absl::Minutes(10));
  EXPECT_THAT(EventHeader(/*wide=*/true),
              ElementsAre("LAST SEEN", "TYPE", "REASON", "OBJECT", "NODE", "COUNT", "MESSAGE",
                          "FIRST SEEN", "NAME"));
  TableRow row = EventRow(e.event(), kNow, /*wide=*/true);
  EXPECT_EQ(row[7], "10m");
  EXPECT_EQ(row[8], "web.drift");
}

TEST(CliEventsTest, SortsOldestLastSeenFirst) {
  std::vector<Object> events = {
      MakeEvent("b", "IPForward", "web", "DriftRepaired", kNow - absl::Seconds(5)),
      MakeEvent("a", "IPForward", "web", "DriftDetected", kNow - absl::Minutes(5)),
      MakeEvent("c", "Node", "node-a", "NodeConnected", kNow - absl::Minutes(1))};
  SortEvents(events);
  EXPECT_THAT(Names(events), ElementsAre("a", "c", "b"));
}

TEST(CliEventsTest, RecentEventsKeepsTheNewestAboutTheObjectOldestFirst) {
  std::vector<Object> events;
  for (int i = 0; i < 15; ++i) {
    events.push_back(MakeEvent("web." + std::to_string(i), "IPForward", "web", "DriftDetected",
                               kNow - absl::Minutes(30 - i)));
  }
  events.push_back(MakeEvent("api.0", "IPForward", "api", "DriftDetected", kNow));
  events.push_back(MakeEvent("node.0", "Node", "web", "NodeConnected", kNow));
  std::reverse(events.begin(), events.end());

  std::vector<ferry::v1::Event> recent =
      RecentEvents(events, {ferry::v1::IP_FORWARD, "web"}, /*limit=*/10);
  ASSERT_EQ(recent.size(), 10u);
  EXPECT_EQ(recent.front().metadata().name(), "web.5");
  EXPECT_EQ(recent.back().metadata().name(), "web.14");
}

TEST(CliEventsTest, DescribeEventsSaysNoneWhenEmpty) {
  EXPECT_EQ(DescribeEvents({}, kNow), "Events:       <none>\n");
}

TEST(CliEventsTest, DescribeEventsShowsRepeatsLikeKubectl) {
  Object e = MakeEvent("web.drift", "IPForward", "web", "DriftDetected", kNow - absl::Seconds(10),
                       3, kNow - absl::Minutes(2));
  std::vector<std::string> lines = Lines(DescribeEvents({e.event()}, kNow));
  ASSERT_EQ(lines.size(), 4u);
  EXPECT_EQ(lines[0], "Events:");
  EXPECT_THAT(Columns(lines[1]), ElementsAre("TYPE", "REASON", "AGE", "FROM", "MESSAGE"));
  EXPECT_THAT(lines[3], StartsWith("  Warning   DriftDetected   10s (x3 over 2m)   node-a   "));
}

TEST(CliEventsTest, DescribeForwardEndsWithItsEvents) {
  Object forward;
  forward.mutable_ip_forward()->mutable_metadata()->set_name("web");
  forward.mutable_ip_forward()->mutable_spec()->set_drift_policy(ferry::v1::ALERT);
  Object e = MakeEvent("web.drift", "IPForward", "web", "DriftDetected", kNow - absl::Seconds(10));
  std::string out = DescribeObject(forward, {e.event()}, kNow);
  EXPECT_THAT(out, HasSubstr("  Drift policy: Alert\n"));
  const size_t events = out.find("\nEvents:\n");
  ASSERT_NE(events, std::string::npos) << out;
  EXPECT_NE(out.find("DriftDetected", events), std::string::npos);
}

class CliEventsCommandTest : public ::testing::Test {
 protected:
  CliEventsCommandTest() : client_(fake_.channel(), "in-process", absl::Seconds(5)) {}

  int Run(std::vector<std::string> args, std::ostream& out, WatchCanceller* interrupt = nullptr) {
    absl::StatusOr<Command> command = ParseCommandLine(args, "");
    EXPECT_TRUE(command.ok()) << command.status();
    if (!command.ok()) return -1;
    std::istringstream in;
    err_.str("");
    return RunCommand(*command, client_, {in, out, err_, interrupt});
  }
  int Run(std::vector<std::string> args) {
    out_.str("");
    return Run(std::move(args), out_);
  }

  Object Stored(Object o, const std::string& resource_version) {
    MetadataOfMutable(o).set_resource_version(resource_version);
    fake_.service().Put(o);
    return o;
  }
  static ferry::v1::ObjectMeta& MetadataOfMutable(Object& o) {
    return o.has_event() ? *o.mutable_event()->mutable_metadata()
                         : *o.mutable_ip_forward()->mutable_metadata();
  }

  testing::FakeServer fake_;
  ResourceClient client_;
  std::ostringstream out_;
  std::ostringstream err_;
};

TEST_F(CliEventsCommandTest, GetEventsListsThemByLastSeen) {
  const absl::Time now = absl::Now();
  Stored(MakeEvent("a", "IPForward", "web", "DriftRepaired", now - absl::Seconds(5)), "3");
  Stored(MakeEvent("b", "IPForward", "web", "DriftDetected", now - absl::Minutes(5)), "2");
  EXPECT_EQ(Run({"get", "events"}), kExitOk) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("LAST SEEN"));
  EXPECT_THAT(lines[1], HasSubstr("DriftDetected"));
  EXPECT_THAT(lines[2], HasSubstr("DriftRepaired"));
}

TEST_F(CliEventsCommandTest, GetEventsForShowsOnlyThatObject) {
  const absl::Time now = absl::Now();
  Stored(MakeEvent("web.1", "IPForward", "web", "DriftDetected", now), "2");
  Stored(MakeEvent("api.1", "IPForward", "api", "ApplyFailed", now), "3");
  Stored(MakeEvent("node.1", "Node", "web", "NodeConnected", now), "4");
  EXPECT_EQ(Run({"get", "events", "--for", "forward/web"}), kExitOk) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 2u) << out_.str();
  EXPECT_THAT(lines[1], HasSubstr("ipforward/web"));
  EXPECT_THAT(lines[1], HasSubstr("DriftDetected"));
}

TEST_F(CliEventsCommandTest, DescribeForwardShowsItsRecentEvents) {
  Object forward;
  forward.mutable_ip_forward()->set_kind("IPForward");
  forward.mutable_ip_forward()->mutable_metadata()->set_name("web");
  Stored(forward, "1");
  const absl::Time now = absl::Now();
  Stored(MakeEvent("web.1", "IPForward", "web", "DriftRepaired", now), "2");
  Stored(MakeEvent("api.1", "IPForward", "api", "ApplyFailed", now), "3");
  EXPECT_EQ(Run({"describe", "forward", "web"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\nEvents:\n"));
  EXPECT_THAT(out_.str(), HasSubstr("DriftRepaired"));
  EXPECT_THAT(out_.str(), Not(HasSubstr("ApplyFailed")));
}

TEST_F(CliEventsCommandTest, DescribeNodeWithoutEventsSaysNone) {
  Object node;
  node.mutable_node()->set_kind("Node");
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  fake_.service().Put(node);
  EXPECT_EQ(Run({"describe", "node", "node-a"}), kExitOk) << err_.str();
  EXPECT_THAT(out_.str(), HasSubstr("\nEvents:       <none>\n"));
}

TEST_F(CliEventsCommandTest, WatchPrintsTheListThenEachNewEventAsARow) {
  const absl::Time now = absl::Now();
  Stored(MakeEvent("web.1", "IPForward", "web", "DriftDetected", now - absl::Seconds(3)), "5");
  Object repaired = MakeEvent("web.2", "IPForward", "web", "DriftRepaired", now);
  repaired.mutable_event()->mutable_metadata()->set_resource_version("6");
  fake_.service().AddWatchEvent(WatchEvent::ADDED, repaired, "6");

  EXPECT_EQ(Run({"get", "events", "-w", "--timeout", "1s"}), kExitOk) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(lines[0], StartsWith("LAST SEEN"));
  EXPECT_THAT(lines[1], HasSubstr("DriftDetected"));
  EXPECT_THAT(lines[2], HasSubstr("DriftRepaired"));
  EXPECT_EQ(lines[2].find("DriftRepaired"), lines[0].find("REASON"));
  ASSERT_FALSE(fake_.service().watch_requests().empty());
  EXPECT_EQ(fake_.service().watch_requests()[0].kind(), ferry::v1::EVENT);
  EXPECT_EQ(fake_.service().watch_requests()[0].resource_version(), "5");
}

TEST_F(CliEventsCommandTest, WatchSkipsEventsItAlreadyPrinted) {
  Object detected =
      Stored(MakeEvent("web.1", "IPForward", "web", "DriftDetected", absl::Now()), "5");
  fake_.service().AddWatchEvent(WatchEvent::ADDED, detected, "5");
  EXPECT_EQ(Run({"get", "events", "-w", "--timeout", "500ms"}), kExitOk) << err_.str();
  EXPECT_EQ(Lines(out_.str()).size(), 2u) << out_.str();
}

TEST_F(CliEventsCommandTest, WatchPrintsAnUpdatedEventAgain) {
  Object detected =
      Stored(MakeEvent("web.1", "IPForward", "web", "DriftDetected", absl::Now()), "5");
  detected.mutable_event()->set_count(2);
  fake_.service().AddWatchEvent(WatchEvent::MODIFIED, detected, "7");
  EXPECT_EQ(Run({"get", "events", "-w", "--timeout", "500ms"}), kExitOk) << err_.str();
  std::vector<std::string> lines = Lines(out_.str());
  ASSERT_EQ(lines.size(), 3u) << out_.str();
  EXPECT_THAT(Columns(lines[2]), ::testing::Contains("2"));
}

// An output stream that cancels the watch once `text` has been printed, as
// a user pressing Ctrl-C after seeing it would.
class CancelWhenPrinted : public std::stringbuf {
 public:
  CancelWhenPrinted(WatchCanceller& canceller, std::string text)
      : canceller_(canceller), text_(std::move(text)) {}

 protected:
  int sync() override {
    if (str().find(text_) != std::string::npos) canceller_.Cancel();
    return 0;
  }

 private:
  WatchCanceller& canceller_;
  std::string text_;
};

TEST_F(CliEventsCommandTest, InterruptEndsTheWatchWithSuccess) {
  Object repaired = MakeEvent("web.2", "IPForward", "web", "DriftRepaired", absl::Now());
  fake_.service().AddWatchEvent(WatchEvent::ADDED, repaired, "6");
  WatchCanceller interrupt;
  CancelWhenPrinted buffer(interrupt, "DriftRepaired");
  std::ostream out(&buffer);
  // The timeout only bounds the test should the interrupt be ignored.
  constexpr absl::Duration kBound = absl::Seconds(10);
  const absl::Time start = absl::Now();
  EXPECT_EQ(Run({"get", "events", "-w", "--timeout", "10s"}, out, &interrupt), kExitOk)
      << err_.str();
  EXPECT_LT(absl::Now() - start, kBound);
  EXPECT_TRUE(interrupt.cancelled());
  std::vector<std::string> lines = Lines(buffer.str());
  ASSERT_EQ(lines.size(), 2u) << buffer.str();
  EXPECT_THAT(lines[0], StartsWith("LAST SEEN"));
}

TEST(CliEventsParseTest, GetEventsTakesWatchForAndTimeout) {
  absl::StatusOr<Command> c = ParseCommandLine(
      {"get", "events", "-w", "--for", "node/node-a", "--timeout", "30s", "-o", "wide"}, "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->kind, ferry::v1::EVENT);
  EXPECT_TRUE(c->watch);
  EXPECT_EQ(c->events_for.kind, ferry::v1::NODE);
  EXPECT_EQ(c->events_for.name, "node-a");
  EXPECT_EQ(c->watch_timeout, absl::Seconds(30));
}

TEST(CliEventsParseTest, WatchRunsUntilInterruptedByDefault) {
  absl::StatusOr<Command> c = ParseCommandLine({"get", "ev", "-w"}, "");
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->watch_timeout, absl::InfiniteDuration());
}

void ExpectUsageError(std::vector<std::string> args, absl::string_view part) {
  absl::StatusOr<Command> c = ParseCommandLine(args, "");
  ASSERT_FALSE(c.ok()) << "accepted: " << ::testing::PrintToString(args);
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(std::string(c.status().message()), HasSubstr(std::string(part)));
}

TEST(CliEventsParseTest, ForNeedsKindSlashName) {
  ExpectUsageError({"get", "events", "--for", "web"}, "--for: want forward/NAME or node/NAME");
  ExpectUsageError({"get", "events", "--for", "event/x"}, "--for: want forward/NAME");
}

TEST(CliEventsParseTest, ForOnlyAppliesToEvents) {
  ExpectUsageError({"get", "forwards", "--for", "forward/web"}, "--for only applies");
}

TEST(CliEventsParseTest, TimeoutWithoutWatchIsUsageError) {
  ExpectUsageError({"get", "events", "--timeout", "5s"}, "--timeout only applies to 'get -w'");
}

TEST(CliEventsParseTest, DescribeEventsIsUsageError) {
  ExpectUsageError({"describe", "events"}, "describe does not take events");
}

}  // namespace
}  // namespace ferry::cli
