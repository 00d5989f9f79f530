// The small shared meanings of api/lib: port ranges, object accessors,
// errno and gRPC codes, protocol names and UUIDs.

#include <regex>

#include "absl/random/random.h"
#include "api/lib/errno_status.h"
#include "api/lib/grpc_status.h"
#include "api/lib/objects.h"
#include "api/lib/port_mapping.h"
#include "api/lib/protocol.h"
#include "api/lib/uuid.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

ferry::v1::PortMapping Mapping(uint32_t port, uint32_t end_port, uint32_t target_port) {
  ferry::v1::PortMapping m;
  m.set_protocol(ferry::v1::TCP);
  m.set_port(port);
  m.set_end_port(end_port);
  m.set_target_port(target_port);
  return m;
}

TEST(PortMappingTest, ZeroEndPortIsOnePortAndZeroTargetIsTheSamePort) {
  PortSpan s = ExpandPorts(Mapping(80, 0, 0));
  EXPECT_EQ(s.first, 80u);
  EXPECT_EQ(s.last, 80u);
  EXPECT_EQ(s.target_first, 80u);
  EXPECT_EQ(s.target_last, 80u);
  EXPECT_FALSE(s.is_range());
  EXPECT_EQ(s.count(), 1u);
}

TEST(PortMappingTest, EndPortEqualToPortIsOnePort) {
  EXPECT_FALSE(ExpandPorts(Mapping(80, 80, 0)).is_range());
  EXPECT_EQ(WireEndPort(80, 80), 0u);
}

TEST(PortMappingTest, ARangeMapsOneToOneOntoTheTarget) {
  PortSpan s = ExpandPorts(Mapping(8000, 8009, 9000));
  EXPECT_EQ(s.count(), 10u);
  EXPECT_EQ(s.target_first, 9000u);
  EXPECT_EQ(s.target_last, 9009u);
  EXPECT_EQ(s.TargetOf(8003), 9003u);
  EXPECT_EQ(WireEndPort(s.first, s.last), 8009u);
}

TEST(PortMappingTest, AHugeTargetDoesNotWrap) {
  PortSpan s = ExpandPorts(Mapping(1, 10, 0xFFFFFFFFu));
  EXPECT_EQ(s.target_last, uint64_t{0xFFFFFFFFu} + 9);
}

TEST(PortMappingTest, AReturnRouteHasNoTarget) {
  ferry::v1::ReturnRoute r;
  r.set_port(8080);
  r.set_end_port(8081);
  PortSpan s = ExpandPorts(r);
  EXPECT_EQ(s.target_first, 8080u);
  EXPECT_EQ(s.target_last, 8081u);
}

TEST(ObjectsTest, KindAndMetadataOfEachKind) {
  ferry::v1::Object fwd;
  fwd.mutable_ip_forward()->mutable_metadata()->set_name("web");
  ferry::v1::Object node;
  node.mutable_node()->mutable_metadata()->set_name("node-a");
  ferry::v1::Object event;
  event.mutable_event()->mutable_metadata()->set_name("e1");
  EXPECT_EQ(KindName(fwd), "IPForward");
  EXPECT_EQ(KindName(node), "Node");
  EXPECT_EQ(KindName(event), "Event");
  EXPECT_EQ(ObjectRef(fwd), "ipforward/web");
  EXPECT_EQ(ObjectRef(node), "node/node-a");
  EXPECT_EQ(MetaOf(event).name(), "e1");
  MutableMetaOf(&node)->set_resource_version("7");
  EXPECT_EQ(node.node().metadata().resource_version(), "7");
}

TEST(ObjectsTest, AnEmptyObjectHasNoKindAndNoName) {
  ferry::v1::Object empty;
  EXPECT_EQ(KindOf(empty), ferry::v1::RESOURCE_KIND_UNSPECIFIED);
  EXPECT_EQ(KindName(empty), "");
  EXPECT_EQ(ObjectName(empty), "");
  EXPECT_EQ(KindLower(ferry::v1::RESOURCE_KIND_UNSPECIFIED), "unknown");
}

TEST(ObjectsTest, SameSpecIgnoresMetadataAndStatus) {
  ferry::v1::Object a;
  a.mutable_ip_forward()->mutable_spec()->mutable_frontend()->set_address("192.0.2.1");
  ferry::v1::Object b = a;
  b.mutable_ip_forward()->mutable_metadata()->set_generation(5);
  b.mutable_ip_forward()->mutable_status()->set_observed_generation(5);
  EXPECT_TRUE(SameSpec(a, b));
  b.mutable_ip_forward()->mutable_spec()->mutable_frontend()->set_address("192.0.2.2");
  EXPECT_FALSE(SameSpec(a, b));
  ferry::v1::Object node;
  node.mutable_node();
  EXPECT_FALSE(SameSpec(a, node));
}

// SameSpec compares serialized bytes, and so does the StatusWriter with a
// forward's published status: sound only for messages without map fields
// (a map's serialization order is unspecified).
bool HasMapField(const google::protobuf::Descriptor* d, int depth = 0) {
  if (depth > 16) return false;  // recursive message types end here
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (f->is_map()) return true;
    if (f->message_type() != nullptr && HasMapField(f->message_type(), depth + 1)) return true;
  }
  return false;
}

TEST(ObjectsTest, MessagesComparedByBytesHaveNoMapFields) {
  EXPECT_FALSE(HasMapField(ferry::v1::IPForwardSpec::descriptor()));
  EXPECT_FALSE(HasMapField(ferry::v1::IPForwardStatus::descriptor()));
  // A NodeSpec is compared by its one field, its labels, entry by entry.
  EXPECT_EQ(ferry::v1::NodeSpec::descriptor()->field_count(), 1);
}

TEST(ObjectsTest, NodeSpecsWithTheSameLabelsAreTheSameInAnyOrder) {
  ferry::v1::Object a, b;
  for (int i = 0; i < 32; ++i) {
    (*a.mutable_node()->mutable_spec()->mutable_labels())[absl::StrCat("k", i)] = "v";
    (*b.mutable_node()->mutable_spec()->mutable_labels())[absl::StrCat("k", 31 - i)] = "v";
  }
  EXPECT_TRUE(SameSpec(a, b));
  (*b.mutable_node()->mutable_spec()->mutable_labels())["k0"] = "w";
  EXPECT_FALSE(SameSpec(a, b));
  b.mutable_node()->mutable_spec()->mutable_labels()->erase("k0");
  EXPECT_FALSE(SameSpec(a, b));
}

TEST(ObjectsTest, SamePlanInputsNeedsTheSameGeneration) {
  ferry::v1::IPForward a;
  a.mutable_metadata()->set_generation(1);
  ferry::v1::IPForward b = a;
  EXPECT_TRUE(SamePlanInputs(a, b));
  b.mutable_metadata()->set_generation(2);
  EXPECT_FALSE(SamePlanInputs(a, b));
}

TEST(ErrnoStatusTest, CodesFollowTheErrno) {
  EXPECT_EQ(ErrnoCode(EACCES), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(ErrnoCode(-ENOENT), absl::StatusCode::kNotFound);
  EXPECT_EQ(ErrnoCode(EADDRINUSE), absl::StatusCode::kAlreadyExists);
  EXPECT_EQ(ErrnoCode(ECONNREFUSED), absl::StatusCode::kUnavailable);
  EXPECT_EQ(ErrnoCode(ENOBUFS), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(ErrnoCode(EIO), absl::StatusCode::kInternal);
  absl::Status s = ErrnoStatus("bind /run/x.sock", EACCES);
  EXPECT_EQ(s.message(), "bind /run/x.sock: Permission denied");
  EXPECT_TRUE(ErrnoStatus("nothing", 0).ok());
}

TEST(GrpcStatusTest, CodesAndMessagesPassThroughAndStrangeCodesBecomeUnknown) {
  grpc::Status g = ToGrpcStatus(absl::NotFoundError("ipforward/web not found"));
  EXPECT_EQ(g.error_code(), grpc::StatusCode::NOT_FOUND);
  EXPECT_EQ(g.error_message(), "ipforward/web not found");
  absl::Status back = FromGrpcStatus(g);
  EXPECT_TRUE(absl::IsNotFound(back));
  EXPECT_EQ(back.message(), "ipforward/web not found");
  EXPECT_EQ(FromGrpcStatus(grpc::Status(static_cast<grpc::StatusCode>(42), "x")).code(),
            absl::StatusCode::kUnknown);
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
}

TEST(ProtocolTest, OneSpellingForEachProtocol) {
  EXPECT_EQ(IpProtocolName(IpProtocolOf(ferry::v1::TCP)), "tcp");
  EXPECT_EQ(IpProtocolOf(ferry::v1::PROTOCOL_UNSPECIFIED), 0u);
  EXPECT_EQ(IpProtocolName(IpProtocolOf(ferry::v1::UDP)), "udp");
  EXPECT_EQ(IpProtocolName(132), "132");
}

TEST(UuidTest, VersionFourWithTheRfcVariant) {
  absl::BitGen gen;
  const std::regex form("[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}");
  std::string first = NewUuidV4(gen);
  EXPECT_TRUE(std::regex_match(first, form)) << first;
  EXPECT_NE(first, NewUuidV4(gen));
}

}  // namespace
}  // namespace ferry::api
