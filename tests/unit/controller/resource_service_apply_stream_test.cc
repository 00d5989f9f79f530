// ApplyStream: the chunks of one apply are one transaction, committed only
// when the last message arrived; a stream cut short, a bad object in a late
// chunk, a dry run flag that changes, or too many bytes write nothing, and
// the error says why.

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "api/lib/objects.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/resource_service_fixture.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;

class ApplyStreamTest : public ResourceServiceFixture {
 protected:
  // Forwards fwd-<first>.. in one message.
  static ApplyRequest Chunk(int first, int count, bool last, bool dry_run = false) {
    ApplyRequest message;
    for (int i = first; i < first + count; ++i) {
      *message.add_objects() = TestForward(absl::StrCat("fwd-", i), "192.0.2.1", 1000 + i);
    }
    message.set_last(last);
    message.set_dry_run(dry_run);
    return message;
  }

  // Sends `messages`, then half-closes (or cancels, with `cancel`).
  grpc::Status Send(const std::vector<ApplyRequest>& messages, ferry::v1::ApplyResponse* response,
                    bool cancel = false) {
    grpc::ClientContext context;
    std::unique_ptr<grpc::ClientWriter<ApplyRequest>> stream =
        stub_->ApplyStream(&context, response);
    for (const ApplyRequest& m : messages) {
      if (!stream->Write(m)) break;
    }
    if (cancel) {
      context.TryCancel();
    } else {
      stream->WritesDone();
    }
    return stream->Finish();
  }

  int Stored() {
    int count = 0;
    EXPECT_TRUE(store_
                    ->List(api::kKindIPForward,
                           [&](const StoredObject&) {
                             ++count;
                             return true;
                           })
                    .ok());
    return count;
  }
};

TEST_F(ApplyStreamTest, ChunksAreOneTransaction) {
  OpenAndServe("ferry-apply-stream");
  const int64_t before = store_->CurrentRevision();
  ferry::v1::ApplyResponse response;
  grpc::Status status =
      Send({Chunk(0, 300, false), Chunk(300, 300, false), Chunk(600, 5, true)}, &response);
  ASSERT_TRUE(status.ok()) << status.error_message();
  ASSERT_EQ(response.results_size(), 605);
  EXPECT_EQ(Stored(), 605);
  EXPECT_EQ(store_->CurrentRevision(), before + 1);
  for (const ferry::v1::ApplyResult& r : response.results()) {
    EXPECT_EQ(r.outcome(), "created");
    EXPECT_EQ(r.resource_version(), absl::StrCat(before + 1));
  }
}

TEST_F(ApplyStreamTest, AStreamWithoutItsLastMessageWritesNothing) {
  OpenAndServe("ferry-apply-stream");
  ferry::v1::ApplyResponse response;
  grpc::Status ended = Send({Chunk(0, 10, false), Chunk(10, 10, false)}, &response);
  EXPECT_EQ(ended.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_NE(ended.error_message().find("nothing was written"), std::string::npos)
      << ended.error_message();
  grpc::Status cancelled = Send({Chunk(0, 10, false)}, &response, /*cancel=*/true);
  EXPECT_EQ(cancelled.error_code(), grpc::StatusCode::CANCELLED);
  EXPECT_EQ(Stored(), 0);
}

TEST_F(ApplyStreamTest, ABadObjectInALateChunkIsNamedAndNothingIsWritten) {
  OpenAndServe("ferry-apply-stream");
  ApplyRequest late = Chunk(100, 3, true);
  late.mutable_objects(1)->mutable_ip_forward()->mutable_spec()->clear_ports();
  ferry::v1::ApplyResponse response;
  grpc::Status status = Send({Chunk(0, 100, false), late}, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(status.error_message().rfind("ipforward/fwd-101: spec.ports", 0), 0u)
      << status.error_message();
  EXPECT_EQ(Stored(), 0);
}

TEST_F(ApplyStreamTest, MixedDryRunAndMessagesAfterTheLastAreRefused) {
  OpenAndServe("ferry-apply-stream");
  ferry::v1::ApplyResponse response;
  grpc::Status mixed = Send({Chunk(0, 5, false, true), Chunk(5, 5, true, false)}, &response);
  EXPECT_EQ(mixed.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << mixed.error_message();
  grpc::Status after = Send({Chunk(0, 5, true), Chunk(5, 5, true)}, &response);
  EXPECT_EQ(after.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << after.error_message();
  EXPECT_EQ(Stored(), 0);

  // A dry run in every message is checked and writes nothing.
  grpc::Status dry = Send({Chunk(0, 5, false, true), Chunk(5, 5, true, true)}, &response);
  ASSERT_TRUE(dry.ok()) << dry.error_message();
  EXPECT_EQ(response.results_size(), 10);
  EXPECT_EQ(Stored(), 0);
}

TEST_F(ApplyStreamTest, MoreThanTheApplyLimitIsRefusedWithTheFlagNamed) {
  ResourceServiceImpl::Options options = FastWatchOptions();
  options.max_apply_bytes = 16 << 10;
  OpenAndServe("ferry-apply-stream", std::move(options));
  ferry::v1::ApplyResponse response;
  grpc::Status status = Send(
      {Chunk(0, 100, false), Chunk(100, 100, false), Chunk(200, 100, false), Chunk(300, 1, true)},
      &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  EXPECT_NE(status.error_message().find("--max-apply-bytes"), std::string::npos)
      << status.error_message();
  EXPECT_EQ(Stored(), 0);
}

}  // namespace
}  // namespace ferry::controller
