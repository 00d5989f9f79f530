#include <string>
#include <vector>

#include "controller/fleet/event_recorder.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/json_util.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/memory_store.h"

namespace ferry::controller {
namespace {

using ::testing::HasSubstr;
using ::testing::MatchesRegex;

EventOccurrence Drift(const std::string& object, absl::Time when) {
  EventOccurrence o;
  o.involved_kind = "IPForward";
  o.involved_name = "web";
  o.reason = kEventDriftDetected;
  o.type = kEventTypeWarning;
  o.node = "node-a";
  o.object = object;
  o.message = "node node-a drifted: " + object;
  o.time = when;
  return o;
}

std::vector<ferry::v1::Event> Stored(MemoryStore& store) {
  std::vector<ferry::v1::Event> out;
  EXPECT_TRUE(store
                  .List(kKindEvent,
                        [&](const StoredObject& s) {
                          out.push_back(DecodeStored(s)->event());
                          return true;
                        })
                  .ok());
  return out;
}

const absl::Time kT0 = absl::FromUnixSeconds(1700000000);

TEST(EventNameTest, IsTheInvolvedNameAndAnEightDigitHash) {
  EXPECT_THAT(EventName(Drift("set x", kT0)), MatchesRegex("web\\.[0-9a-f]{8}"));
}

TEST(EventNameTest, IsStableAcrossTimeAndMessage) {
  EventOccurrence later = Drift("set x", kT0 + absl::Hours(1));
  later.message = "something else";
  EXPECT_EQ(EventName(Drift("set x", kT0)), EventName(later));
}

TEST(EventNameTest, DiffersByObjectReasonAndNode) {
  std::string base = EventName(Drift("set x", kT0));
  EXPECT_NE(base, EventName(Drift("set y", kT0)));
  EventOccurrence repaired = Drift("set x", kT0);
  repaired.reason = kEventDriftRepaired;
  EXPECT_NE(base, EventName(repaired));
  EventOccurrence other_node = Drift("set x", kT0);
  other_node.node = "node-b";
  EXPECT_NE(base, EventName(other_node));
}

TEST(EventRecorderTest, RepeatsWithinOneFlushBecomeOneEventWithTheirCount) {
  MemoryStore store;
  EventRecorder recorder(&store, {});
  recorder.Record(Drift("set x", kT0));
  recorder.Record(Drift("set x", kT0 + absl::Seconds(5)));
  ASSERT_TRUE(recorder.Flush().ok());
  std::vector<ferry::v1::Event> events = Stored(store);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(events[0].count(), 2);
  EXPECT_EQ(events[0].first_timestamp().seconds(), 1700000000);
  EXPECT_EQ(events[0].last_timestamp().seconds(), 1700000005);
  EXPECT_FALSE(events[0].metadata().uid().empty());
  EXPECT_EQ(events[0].api_version(), "ferry.dev/v1");
}

TEST(EventRecorderTest, AFailedCommitKeepsTheOccurrencesForTheNextFlush) {
  MemoryStore store;
  EventRecorder recorder(&store, {});
  recorder.Record(Drift("set x", kT0));
  store.FailNextCommit(absl::UnavailableError("disk full"));
  EXPECT_EQ(recorder.Flush().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(Stored(store).empty());
  ASSERT_TRUE(recorder.Flush().ok());
  ASSERT_EQ(Stored(store).size(), 1u);
  EXPECT_EQ(Stored(store)[0].count(), 1);
}

TEST(EventRecorderTest, ALaterOccurrenceWithAnEarlierTimeKeepsTheLastTimestamp) {
  MemoryStore store;
  EventRecorder recorder(&store, {});
  recorder.Record(Drift("set x", kT0 + absl::Seconds(10)));
  ASSERT_TRUE(recorder.Flush().ok());
  recorder.Record(Drift("set x", kT0));
  ASSERT_TRUE(recorder.Flush().ok());
  EXPECT_EQ(Stored(store)[0].last_timestamp().seconds(), 1700000010);
  EXPECT_EQ(Stored(store)[0].count(), 2);
}

TEST(EventRecorderTest, OnlyAlertReasonsAreAlerts) {
  EXPECT_TRUE(IsAlertReason(kEventDriftDetected));
  EXPECT_TRUE(IsAlertReason(kEventDriftRepaired));
  EXPECT_TRUE(IsAlertReason(kEventApplyFailed));
  EXPECT_TRUE(IsAlertReason(kEventNodeDisconnected));
  EXPECT_FALSE(IsAlertReason(kEventNodeConnected));
}

TEST(EventWebhookBodyTest, WrapsTheEventAsProtobufJson) {
  ferry::v1::Event event;
  event.set_reason(kEventDriftDetected);
  event.set_count(3);
  event.mutable_involved_object()->set_name("web");
  event.mutable_first_timestamp()->set_seconds(1700000000);
  std::string body = EventWebhookBody(event);
  EXPECT_THAT(body, HasSubstr("\"event\":{"));
  EXPECT_THAT(body, HasSubstr("\"involvedObject\":{\"name\":\"web\"}"));
  EXPECT_THAT(body, HasSubstr("\"firstTimestamp\":\"2023-11-14T22:13:20Z\""));
  // The inner object parses back to the same Event.
  std::string inner = body.substr(std::string("{\"event\":").size());
  inner.pop_back();
  ferry::v1::Event parsed;
  ASSERT_TRUE(google::protobuf::util::JsonStringToMessage(inner, &parsed).ok());
  EXPECT_EQ(parsed.count(), 3);
}

}  // namespace
}  // namespace ferry::controller
