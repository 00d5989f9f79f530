// A created forward is encoded straight from the request
// (EncodeCreatedForward) instead of from a copy with the controller's
// fields set: both must store the same object.

#include <optional>
#include <string>

#include "api/lib/timestamps.h"
#include "controller/resources/stored_forward_index.h"
#include "controller/store/object_codec.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ferry::v1::Object;

constexpr char kUid[] = "0f8fad5b-d9cb-469f-a165-70867728950e";

Object Forward() {
  Object object;
  ferry::v1::IPForward* f = object.mutable_ip_forward();
  f->set_api_version("ferry.dev/v1");
  f->set_kind("IPForward");
  f->mutable_metadata()->set_name("web");
  (*f->mutable_metadata()->mutable_labels())["app"] = "e2e";
  (*f->mutable_metadata()->mutable_labels())["tier"] = "front";
  f->mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  f->mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  ferry::v1::PortMapping* port = f->mutable_spec()->add_ports();
  port->set_protocol(ferry::v1::TCP);
  port->set_port(80);
  port->set_target_port(8080);
  return object;
}

google::protobuf::Timestamp Created() {
  return api::ToTimestamp(absl::FromUnixSeconds(1764936000) + absl::Nanoseconds(123456789));
}

// What the copy path stores for a created forward.
std::string EncodeCopy(const Object& incoming) {
  Object copy = incoming;
  ferry::v1::ObjectMeta* meta = copy.mutable_ip_forward()->mutable_metadata();
  meta->clear_resource_version();
  meta->set_uid(kUid);
  meta->set_generation(1);
  *meta->mutable_creation_timestamp() = Created();
  copy.mutable_ip_forward()->clear_status();
  return EncodeForStore(copy);
}

void ExpectSameStored(const Object& incoming) {
  std::optional<std::string> direct = EncodeCreatedForward(incoming, kUid, Created());
  ASSERT_TRUE(direct.has_value());
  StoredObject a{"IPForward", "web", *direct, 7, 7};
  StoredObject b{"IPForward", "web", EncodeCopy(incoming), 7, 7};
  absl::StatusOr<Object> got = DecodeStored(a);
  absl::StatusOr<Object> want = DecodeStored(b);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_TRUE(want.ok()) << want.status();
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(*got, *want))
      << got->DebugString() << "\nwant:\n"
      << want->DebugString();
  // The stored forward index finds the spec in the value without a decode.
  std::optional<absl::string_view> spec = ForwardSpecBytes(*direct);
  ASSERT_TRUE(spec.has_value());
  EXPECT_EQ(*spec, incoming.ip_forward().spec().SerializeAsString());
}

TEST(EncodeCreatedForwardTest, StoresWhatTheCopyStores) { ExpectSameStored(Forward()); }

TEST(EncodeCreatedForwardTest, DropsTheClientsStatus) {
  Object incoming = Forward();
  incoming.mutable_ip_forward()->mutable_status()->set_observed_generation(3);
  ExpectSameStored(incoming);
}

TEST(EncodeCreatedForwardTest, MinimalForward) {
  Object incoming;
  incoming.mutable_ip_forward()->mutable_metadata()->set_name("web");
  ExpectSameStored(incoming);
}

TEST(EncodeCreatedForwardTest, LeavesControllerFieldsSetByTheClientToTheCopy) {
  Object uid = Forward();
  uid.mutable_ip_forward()->mutable_metadata()->set_uid("forged");
  Object generation = Forward();
  generation.mutable_ip_forward()->mutable_metadata()->set_generation(9);
  Object version = Forward();
  version.mutable_ip_forward()->mutable_metadata()->set_resource_version("3");
  Object timestamp = Forward();
  *timestamp.mutable_ip_forward()->mutable_metadata()->mutable_creation_timestamp() = Created();
  Object unknown = Forward();
  unknown.mutable_ip_forward()
      ->GetReflection()
      ->MutableUnknownFields(unknown.mutable_ip_forward())
      ->AddVarint(99, 1);
  Object node;
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  for (const Object& incoming : {uid, generation, version, timestamp, unknown, node}) {
    EXPECT_FALSE(EncodeCreatedForward(incoming, kUid, Created()).has_value())
        << incoming.DebugString();
  }
}

}  // namespace
}  // namespace ferry::controller
