// EncodeServed: a stored value encoded as served, without decoding it, must
// parse to exactly what decoding it and setting the status gives, for every
// kind and for the values it does not take the fast way.

#include "controller/store/served_object.h"

#include <optional>
#include <string>

#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::IPForwardStatus;
using ferry::v1::Object;
using google::protobuf::util::MessageDifferencer;

StoredObject Stored(const Object& object, int64_t revision) {
  StoredObject stored;
  stored.kind = api::KindName(object);
  stored.name = api::ObjectName(object);
  stored.revision = revision;
  stored.value = EncodeForStore(object);
  return stored;
}

IPForwardStatus ReadyStatus() {
  IPForwardStatus status;
  status.set_observed_generation(2);
  auto* ready = status.add_conditions();
  ready->set_type("Ready");
  ready->set_status("True");
  status.add_nodes()->set_name("node-a");
  return status;
}

// What the slow way serves: decode, then the status put in place.
Object Expected(const StoredObject& stored, bool replace, const std::optional<IPForwardStatus>& s) {
  absl::StatusOr<Object> object = DecodeStored(stored);
  EXPECT_TRUE(object.ok()) << object.status();
  if (replace && object->has_ip_forward()) {
    object->mutable_ip_forward()->clear_status();
    if (s.has_value()) *object->mutable_ip_forward()->mutable_status() = *s;
  }
  return *object;
}

void ExpectServedAsDecoded(const StoredObject& stored, bool replace,
                           const std::optional<IPForwardStatus>& status) {
  const std::string encoded_status = status.has_value() ? status->SerializeAsString() : "";
  absl::StatusOr<std::string> served =
      EncodeServed(stored, replace, status.has_value() ? &encoded_status : nullptr);
  ASSERT_TRUE(served.ok()) << served.status();
  Object parsed;
  ASSERT_TRUE(parsed.ParseFromString(*served));
  std::string diff;
  MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  EXPECT_TRUE(differ.Compare(Expected(stored, replace, status), parsed)) << diff;
}

TEST(ServedObjectTest, AForwardGetsItsRevisionAndTheGivenStatus) {
  Object web = TestForward("web", "192.0.2.1", 80);
  (*web.mutable_ip_forward()->mutable_metadata()->mutable_labels())["app"] = "web";
  web.mutable_ip_forward()->mutable_metadata()->set_uid("u-1");
  web.mutable_ip_forward()->mutable_metadata()->set_generation(2);
  const StoredObject stored = Stored(web, 42);
  ExpectServedAsDecoded(stored, true, ReadyStatus());
  ExpectServedAsDecoded(stored, true, std::nullopt);
  ExpectServedAsDecoded(stored, false, std::nullopt);
  absl::StatusOr<std::string> served = EncodeServed(stored, true, nullptr);
  ASSERT_TRUE(served.ok());
  Object parsed;
  ASSERT_TRUE(parsed.ParseFromString(*served));
  EXPECT_EQ(parsed.ip_forward().metadata().resource_version(), "42");
}

TEST(ServedObjectTest, AStatusAnOlderBuildStoredIsReplacedNotMergedInto) {
  Object web = TestForward("web", "192.0.2.1", 80);
  auto* old = web.mutable_ip_forward()->mutable_status()->add_conditions();
  old->set_type("Ready");
  old->set_status("False");
  const StoredObject stored = Stored(web, 7);
  ExpectServedAsDecoded(stored, true, ReadyStatus());
  ExpectServedAsDecoded(stored, true, std::nullopt);
  ExpectServedAsDecoded(stored, false, std::nullopt);  // a deletion: as stored
}

TEST(ServedObjectTest, NodesAndEventsGetTheirRevisionAndKeepWhatIsStored) {
  Object node;
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  node.mutable_node()->mutable_status()->add_addresses()->set_address("10.8.0.1");
  ExpectServedAsDecoded(Stored(node, 3), true, ReadyStatus());
  Object event;
  event.mutable_event()->mutable_metadata()->set_name("e-1");
  event.mutable_event()->set_reason("DriftDetected");
  ExpectServedAsDecoded(Stored(event, 4), false, std::nullopt);
}

TEST(ServedObjectTest, AValueThatIsNotOneObjectTakesTheSlowWayOrFailsClearly) {
  Object web = TestForward("web", "192.0.2.1", 80);
  StoredObject two = Stored(web, 5);
  two.value += EncodeForStore(web);  // two fields: a parse merges them
  ExpectServedAsDecoded(two, true, ReadyStatus());
  StoredObject garbage = Stored(web, 6);
  garbage.value = "\xff\xff\xff";
  absl::StatusOr<std::string> served = EncodeServed(garbage, true, nullptr);
  EXPECT_EQ(served.status().code(), absl::StatusCode::kDataLoss) << served.status();
}

}  // namespace
}  // namespace ferry::controller
