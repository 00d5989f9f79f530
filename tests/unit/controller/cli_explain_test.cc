// explain's docs table (explain_schema.cc) against the generated
// descriptors: a proto field added without docs fails here.

#include <set>
#include <string>
#include <vector>

#include "controller/cli/explain.h"
#include "ferry/v1/ferry.pb.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using google::protobuf::Descriptor;
using google::protobuf::FieldDescriptor;

// `type` and every ferry.v1 message below it (map entries and Timestamp
// are not explained as messages).
void Collect(const Descriptor& type, std::set<const Descriptor*>& out) {
  if (!out.insert(&type).second) return;
  for (int i = 0; i < type.field_count(); ++i) {
    const FieldDescriptor& f = *type.field(i);
    if (f.type() != FieldDescriptor::TYPE_MESSAGE || f.is_map()) continue;
    if (f.message_type()->file()->package() != "ferry.v1") continue;
    Collect(*f.message_type(), out);
  }
}

TEST(CliExplainTest, EveryFieldOfEveryResourceHasDocs) {
  std::set<const Descriptor*> types;
  Collect(*ferry::v1::IPForward::descriptor(), types);
  Collect(*ferry::v1::Node::descriptor(), types);
  Collect(*ferry::v1::Event::descriptor(), types);
  EXPECT_GE(types.size(), 20u);  // the walk did reach the nested messages
  std::vector<std::string> missing;
  for (const Descriptor* type : types) {
    if (FieldDoc(type->full_name(), "") == nullptr) missing.push_back(type->full_name());
    for (int i = 0; i < type->field_count(); ++i) {
      if (FieldDoc(type->full_name(), type->field(i)->name()) == nullptr) {
        missing.push_back(type->field(i)->full_name());
      }
    }
  }
  EXPECT_THAT(missing, ::testing::IsEmpty())
      << "add their docs (ferry.proto's comments) to controller/cli/explain_schema.cc";
}

TEST(CliExplainTest, TheTableHasNoDocsForFieldsThatDoNotExist) {
  // A field renamed in the proto must not leave a stale entry behind: each
  // documented name must resolve. Spot-check with a made-up one.
  EXPECT_EQ(FieldDoc("ferry.v1.Frontend", "no_such_field"), nullptr);
  EXPECT_NE(FieldDoc("ferry.v1.Frontend", "node_name"), nullptr);
}

TEST(CliExplainTest, ExplainsAKindWithEachOfItsFields) {
  absl::StatusOr<std::string> text = Explain(ferry::v1::IP_FORWARD, "");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::HasSubstr("   spec\t<IPForwardSpec>\n"));
  EXPECT_THAT(*text, ::testing::HasSubstr("   metadata\t<ObjectMeta>\n"));
}

TEST(CliExplainTest, ShowsTypesOfMapsListsAndTimes) {
  absl::StatusOr<std::string> text = Explain(ferry::v1::NODE, "metadata");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::HasSubstr("   labels\t<map[string]string>\n"));
  EXPECT_THAT(*text, ::testing::HasSubstr("   creationTimestamp\t<string (RFC 3339 time)>\n"));
  text = Explain(ferry::v1::NODE, "status");
  ASSERT_TRUE(text.ok()) << text.status();
  EXPECT_THAT(*text, ::testing::HasSubstr("   addresses\t<[]NodeAddress>\n"));
}

}  // namespace
}  // namespace ferry::cli
