#include "controller/planner/conflicts.h"

#include <string>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::controller {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;

ferry::v1::IPForward Forward(const std::string& name, const std::string& fe_addr, uint32_t port,
                             uint32_t end_port = 0, ferry::v1::Protocol protocol = ferry::v1::TCP) {
  ferry::v1::IPForward f;
  f.mutable_metadata()->set_name(name);
  f.mutable_spec()->mutable_frontend()->set_node_name("node-a");
  f.mutable_spec()->mutable_frontend()->set_address(fe_addr);
  f.mutable_spec()->mutable_backend()->set_node_name("node-b");
  f.mutable_spec()->mutable_backend()->set_address("10.8.0.2");
  auto* p = f.mutable_spec()->add_ports();
  p->set_protocol(protocol);
  p->set_port(port);
  p->set_end_port(end_port);
  return f;
}

TEST(ConflictsTest, SamePortOnSameFrontendAddressIsAlreadyExistsNamingBoth) {
  absl::Status s =
      CheckConflicts(Forward("new", "192.0.2.1", 80), {Forward("web", "192.0.2.1", 80)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(),
              AllOf(HasSubstr("spec.ports[0]"), HasSubstr("TCP 192.0.2.1:80"), HasSubstr("node-a"),
                    HasSubstr("ipforward/web"), HasSubstr("ipforward/new")));
}

TEST(ConflictsTest, OverlappingRangesConflict) {
  absl::Status s =
      CheckConflicts(Forward("new", "192.0.2.1", 85, 95), {Forward("web", "192.0.2.1", 80, 90)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
}

TEST(ConflictsTest, AdjacentRangesDoNotConflict) {
  EXPECT_TRUE(
      CheckConflicts(Forward("new", "192.0.2.1", 91, 95), {Forward("web", "192.0.2.1", 80, 90)})
          .ok());
}

TEST(ConflictsTest, DifferentProtocolDoesNotConflict) {
  EXPECT_TRUE(CheckConflicts(Forward("new", "192.0.2.1", 80, 0, ferry::v1::UDP),
                             {Forward("web", "192.0.2.1", 80)})
                  .ok());
}

TEST(ConflictsTest, DifferentFrontendAddressDoesNotConflict) {
  EXPECT_TRUE(
      CheckConflicts(Forward("new", "192.0.2.2", 80), {Forward("web", "192.0.2.1", 80)}).ok());
}

TEST(ConflictsTest, DifferentFrontendNodeDoesNotConflict) {
  ferry::v1::IPForward other = Forward("web", "192.0.2.1", 80);
  other.mutable_spec()->mutable_frontend()->set_node_name("node-c");
  EXPECT_TRUE(CheckConflicts(Forward("new", "192.0.2.1", 80), {other}).ok());
}

TEST(ConflictsTest, IPv6AddressesCompareAsValues) {
  absl::Status s =
      CheckConflicts(Forward("new", "2001:db8:0::1", 80), {Forward("web", "2001:DB8::1", 80)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
}

TEST(ConflictsTest, ForwardDoesNotConflictWithItself) {
  EXPECT_TRUE(
      CheckConflicts(Forward("web", "192.0.2.1", 80), {Forward("web", "192.0.2.1", 80)}).ok());
}

TEST(ConflictsTest, SameBackendTupleThroughOneNodeWithDifferentSourceIPModesConflicts) {
  // Different frontend addresses, so only the backend tuple is shared.
  ferry::v1::IPForward masq = Forward("new", "192.0.2.2", 8080);
  masq.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  absl::Status s = CheckConflicts(masq, {Forward("web", "192.0.2.1", 8080)});
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("spec.sourceIP"), HasSubstr("ipforward/web"),
                                 HasSubstr("ipforward/new"), HasSubstr("10.8.0.2:8080")));
}

TEST(ConflictsTest, UnspecifiedSourceIPCountsAsPreserve) {
  ferry::v1::IPForward preserve = Forward("new", "192.0.2.2", 8080);
  preserve.mutable_spec()->set_source_ip(ferry::v1::PRESERVE);
  EXPECT_TRUE(CheckConflicts(preserve, {Forward("web", "192.0.2.1", 8080)}).ok());
}

TEST(ConflictsTest, SameBackendAddressOnOtherTargetPortsDoesNotConflict) {
  ferry::v1::IPForward masq = Forward("new", "192.0.2.2", 9090);
  masq.mutable_spec()->set_source_ip(ferry::v1::MASQUERADE);
  EXPECT_TRUE(CheckConflicts(masq, {Forward("web", "192.0.2.1", 8080)}).ok());
}

}  // namespace
}  // namespace ferry::controller
