// ObjectWriter's admission hook: every forward of an apply is checked after
// validation, against the stored Node for returnVia, and a refusal writes
// nothing, dry run or not.

#include <filesystem>
#include <memory>
#include <string>

#include "controller/resources/object_writer.h"
#include "controller/security/admission.h"
#include "controller/store/object_codec.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "tests/unit/controller/test_forwards.h"

namespace ferry::controller {
namespace {

using ferry::v1::ApplyRequest;
using ferry::v1::Object;

class AdmissionWriterTest : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = OpenTestStore("ferry-admw", &dir_);
    ASSERT_NE(store_, nullptr);
    AdmissionPolicy policy;
    policy.reserved_ports = {22};
    admission_ = std::make_unique<Admission>(policy);
    writer_ = std::make_unique<ObjectWriter>(store_.get(), admission_.get());
  }
  void TearDown() override {
    writer_.reset();
    store_.reset();
    std::filesystem::remove_all(dir_);
  }

  // node-a as its agent would have registered it: status written by the
  // controller, straight into the store.
  void StoreNodeA(std::initializer_list<const char*> addresses) {
    Object node;
    node.mutable_node()->set_api_version("ferry.dev/v1");
    node.mutable_node()->set_kind("Node");
    node.mutable_node()->mutable_metadata()->set_name("node-a");
    for (const char* a : addresses) {
      node.mutable_node()->mutable_status()->add_addresses()->set_address(a);
    }
    WriteOp op;
    op.kind = kKindNode;
    op.name = "node-a";
    op.value = EncodeForStore(node);
    ASSERT_TRUE(store_->Commit({op}).ok());
  }

  absl::Status Apply(std::initializer_list<Object> objects, bool dry_run = false) {
    ApplyRequest request;
    for (const Object& o : objects) *request.add_objects() = o;
    request.set_dry_run(dry_run);
    return writer_->Apply(&request).status();
  }

  bool Stored(const std::string& name) { return store_->Get(kKindIPForward, name).ok(); }

  static Object WithReturnVia(Object forward, const std::string& via) {
    forward.mutable_ip_forward()->mutable_spec()->mutable_backend()->set_return_via(via);
    return forward;
  }

  std::string dir_;
  std::unique_ptr<SqliteStore> store_;
  std::unique_ptr<Admission> admission_;
  std::unique_ptr<ObjectWriter> writer_;
};

TEST_F(AdmissionWriterTest, ARefusedForwardIsInvalidArgumentPrefixedWithTheObject) {
  absl::Status s = Apply({TestForward("ssh", "192.0.2.1", 22)});
  EXPECT_TRUE(absl::IsInvalidArgument(s)) << s;
  EXPECT_EQ(s.message(), "ipforward/ssh: spec.ports[0].port: port 22 is reserved on node-a");
  EXPECT_FALSE(Stored("ssh"));
}

TEST_F(AdmissionWriterTest, OneRefusedForwardKeepsTheWholeApplyFromBeingWritten) {
  absl::Status s =
      Apply({TestForward("web", "192.0.2.1", 80), TestForward("ssh", "192.0.2.1", 22)});
  EXPECT_THAT(std::string(s.message()), ::testing::StartsWith("ipforward/ssh: "));
  EXPECT_FALSE(Stored("web"));
  EXPECT_EQ(store_->CurrentRevision(), 0);
}

TEST_F(AdmissionWriterTest, ADryRunIsRefusedTheSameWay) {
  absl::Status s = Apply({TestForward("ssh", "192.0.2.1", 22)}, /*dry_run=*/true);
  EXPECT_EQ(s.message(), "ipforward/ssh: spec.ports[0].port: port 22 is reserved on node-a");
}

TEST_F(AdmissionWriterTest, ValidationErrorsComeBeforeAdmission) {
  Object invalid = TestForward("ssh", "192.0.2.1", 22);
  invalid.mutable_ip_forward()->mutable_spec()->mutable_frontend()->set_address("not-an-ip");
  absl::Status s = Apply({invalid});
  EXPECT_THAT(std::string(s.message()), ::testing::HasSubstr("spec.frontend.address"));
  EXPECT_THAT(std::string(s.message()), ::testing::Not(::testing::HasSubstr("reserved")));
}

TEST_F(AdmissionWriterTest, ReturnViaIsCheckedAgainstTheStoredNode) {
  Object forward = WithReturnVia(TestForward("web", "192.0.2.1", 80), "10.8.0.1");
  EXPECT_EQ(Apply({forward}).message(),
            "ipforward/web: spec.backend.returnVia: 10.8.0.1 is not an address of node-a "
            "(node-a has not reported its addresses yet)");
  StoreNodeA({"192.0.2.1", "10.8.0.1"});
  EXPECT_TRUE(Apply({forward}).ok());
  EXPECT_TRUE(Stored("web"));
  EXPECT_EQ(Apply({WithReturnVia(TestForward("db", "192.0.2.1", 5432), "10.9.9.9")}).message(),
            "ipforward/db: spec.backend.returnVia: 10.9.9.9 is not an address of node-a (it "
            "reports 192.0.2.1, 10.8.0.1)");
}

TEST_F(AdmissionWriterTest, WithoutAdmissionReservedPortsAreAccepted) {
  ObjectWriter plain(store_.get());
  ApplyRequest request;
  *request.add_objects() = TestForward("ssh", "192.0.2.1", 22);
  EXPECT_TRUE(plain.Apply(&request).ok());
}

}  // namespace
}  // namespace ferry::controller
