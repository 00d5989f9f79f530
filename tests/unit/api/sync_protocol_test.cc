#include "api/lib/sync_protocol.h"

#include "absl/status/status.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::api {
namespace {

using ::testing::StartsWith;

TEST(SyncProtocolTest, BaseVersionMismatchCarriesItsReasonAndTheWordsPeopleRead) {
  absl::Status status = BaseVersionMismatch("holds v1");
  EXPECT_TRUE(absl::IsFailedPrecondition(status));
  EXPECT_EQ(status.message(), "base version mismatch: holds v1");
  EXPECT_EQ(NackReasonOf(status), ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH);
}

TEST(SyncProtocolTest, ARefusalWithTheSameWordsButNoReasonIsNotAMismatch) {
  // The controller decides by the field: text alone means nothing.
  absl::Status status = absl::FailedPreconditionError("base version mismatch: typed by hand");
  EXPECT_EQ(NackReasonOf(status), ferry::v1::NACK_REASON_UNSPECIFIED);
}

TEST(SyncProtocolTest, AckForAnErrorIsANackWithMessageAndReason) {
  ferry::v1::ConfigAck nack = AckFor("v2", "n1", BaseVersionMismatch("holds v1"));
  EXPECT_EQ(nack.version(), "v2");
  EXPECT_EQ(nack.nonce(), "n1");
  EXPECT_FALSE(nack.accepted());
  EXPECT_THAT(nack.error(), StartsWith("base version mismatch"));
  EXPECT_EQ(nack.reason(), ferry::v1::NACK_REASON_BASE_VERSION_MISMATCH);

  ferry::v1::ConfigAck ack = AckFor("v2", "n1", absl::OkStatus());
  EXPECT_TRUE(ack.accepted());
  EXPECT_TRUE(ack.error().empty());
  EXPECT_EQ(ack.reason(), ferry::v1::NACK_REASON_UNSPECIFIED);
}

TEST(SyncProtocolTest, AnAgentOfThisBuildAnnouncesDeltasAndAnOlderOneDoesNot) {
  ferry::v1::Hello current;
  AddAgentCapabilities(&current);
  EXPECT_TRUE(HasCapability(current, ferry::v1::CAPABILITY_CONFIG_DELTA));

  ferry::v1::Hello older;  // an agent from before capabilities: a version string only
  older.set_agent_version("0.2.0");
  EXPECT_FALSE(HasCapability(older, ferry::v1::CAPABILITY_CONFIG_DELTA));
}

}  // namespace
}  // namespace ferry::api
