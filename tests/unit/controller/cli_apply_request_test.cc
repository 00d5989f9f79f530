// Spec: ferryctl apply encodes its manifests object by object into
// ApplyStream messages that the controller merges into the same
// ApplyRequest a proto would have been; the index it keeps instead of the objects still
// points controller errors at the manifest, across several inputs; and a
// name defined in two inputs is reported only after the later input
// decodes, so that input's own errors come first.

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "controller/cli/manifest_files.h"
#include "controller/cli/resource_client.h"
#include "gmock/gmock.h"
#include "google/protobuf/util/message_differencer.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

using ::testing::HasSubstr;
using ::testing::StartsWith;

std::string Forward(const std::string& name, int port) {
  return absl::StrCat("apiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n  name: ", name,
                      "\nspec:\n  frontend:\n    nodeName: node-a\n    address: 192.0.2.1\n"
                      "  backend:\n    address: 10.8.0.2\n  sourceIP: Masquerade\n  ports:\n"
                      "  - protocol: TCP\n    port: ",
                      port, "\n");
}

// The messages as the server reads them, merged as ApplyStream merges
// them: objects in order, dry_run and last as sent.
ferry::v1::ApplyRequest Merge(const std::vector<ferry::v1::ApplyRequest>& messages) {
  ferry::v1::ApplyRequest merged;
  for (size_t i = 0; i < messages.size(); ++i) {
    ferry::v1::ApplyRequest parsed;
    EXPECT_TRUE(parsed.ParseFromString(messages[i].SerializeAsString()));
    EXPECT_EQ(parsed.last(), i + 1 == messages.size()) << "message " << i;
    for (const ferry::v1::Object& o : parsed.objects()) *merged.add_objects() = o;
    merged.set_dry_run(parsed.dry_run());
  }
  return merged;
}

// Every object through one chunker, as ApplyStreamed sends them.
std::vector<ferry::v1::ApplyRequest> Chunk(const ferry::v1::ApplyRequest& request) {
  ApplyChunker chunks(request.dry_run());
  std::vector<ferry::v1::ApplyRequest> messages;
  for (const ferry::v1::Object& o : request.objects()) {
    if (chunks.Add(o)) messages.push_back(chunks.Take());
  }
  messages.push_back(chunks.Take(/*last=*/true));
  return messages;
}

TEST(CliApplyRequestTest, StreamedMessagesParseAsTheProtoRequest) {
  std::istringstream in(Forward("web", 80) + "---\n" + Forward("api", 81) +
                        "---\napiVersion: ferry.dev/v1\nkind: Node\nmetadata: {name: n1}\n");
  ferry::v1::ApplyRequest want;
  absl::StatusOr<ManifestIndex> index =
      ReadManifests({"-"}, in, [&](const ferry::v1::Object& o) { *want.add_objects() = o; });
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_EQ(index->size(), 3u);
  for (bool dry_run : {false, true}) {
    want.set_dry_run(dry_run);
    const std::vector<ferry::v1::ApplyRequest> messages = Chunk(want);
    EXPECT_EQ(messages.size(), 1u);
    EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Merge(messages), want));
  }
}

TEST(CliApplyRequestTest, ManyObjectsSpanSeveralMessagesAndStayInOrder) {
  ferry::v1::ApplyRequest want;
  for (int i = 0; i < 20000; ++i) {
    ferry::v1::Object o;
    o.mutable_ip_forward()->mutable_metadata()->set_name(absl::StrCat("fwd-", i));
    o.mutable_ip_forward()->mutable_spec()->mutable_frontend()->set_address(std::string(40, 'x'));
    *want.add_objects() = o;
  }
  const std::vector<ferry::v1::ApplyRequest> messages = Chunk(want);
  EXPECT_GT(messages.size(), 1u);
  for (const ferry::v1::ApplyRequest& m : messages) {
    EXPECT_LE(m.ByteSizeLong(), (1u << 20) + 1024);  // one object over the mark at most
  }
  EXPECT_TRUE(google::protobuf::util::MessageDifferencer::Equals(Merge(messages), want));
}

class CliManifestIndexTest : public ::testing::Test {
 protected:
  std::string Write(const std::string& name, const std::string& text) {
    const std::filesystem::path path = dir_ / name;
    std::ofstream(path) << text;
    return path.string();
  }
  absl::StatusOr<ManifestIndex> Read(const std::vector<std::string>& paths) {
    std::istringstream in;
    return ReadManifests(paths, in, [](const ferry::v1::Object&) {});
  }
  ~CliManifestIndexTest() override { std::filesystem::remove_all(dir_); }

  std::filesystem::path dir_ = [] {
    std::string templ = (std::filesystem::temp_directory_path() / "ferry-index-XXXXXX").string();
    return std::filesystem::path(mkdtemp(templ.data()));
  }();
};

TEST_F(CliManifestIndexTest, PointsAtTheFieldInTheRightInputAndDocument) {
  const std::string a = Write("a.yaml", Forward("web", 80));
  // Lines 1-14 a forward, 15 "---", 16-29 the second one (port on line 29).
  const std::string b = Write("b.yaml", Forward("db", 5432) + "---\n" + Forward("api", 443));
  absl::StatusOr<ManifestIndex> index = Read({a, b});
  ASSERT_TRUE(index.ok()) << index.status();
  const absl::Status blamed =
      absl::InvalidArgumentError("ipforward/api: spec.ports[0].port: already claimed");
  EXPECT_EQ(index->PointAt(blamed).message(), absl::StrCat(b, ":29:11: ", blamed.message()));
  const absl::Status whole = absl::FailedPreconditionError("ipforward/web: being deleted");
  EXPECT_EQ(index->PointAt(whole).message(), absl::StrCat(a, ":1:1: ", whole.message()));
  const absl::Status other = absl::InvalidArgumentError("ipforward/nope: spec: bad");
  EXPECT_EQ(index->PointAt(other), other);
}

TEST_F(CliManifestIndexTest, ALaterInputsOwnErrorComesBeforeANameItReuses) {
  const std::string a = Write("a.yaml", Forward("web", 80));
  const std::string b = Write("b.yaml", Forward("web", 81) + "---\n" + Forward("api", 70000));
  absl::StatusOr<ManifestIndex> index = Read({a, b});
  ASSERT_FALSE(index.ok());
  EXPECT_THAT(std::string(index.status().message()), StartsWith(b + ":29:11: spec.ports[0].port"));

  const std::string c = Write("c.yaml", Forward("api", 82) + "---\n" + Forward("web", 81));
  index = Read({a, c});
  ASSERT_FALSE(index.ok());
  EXPECT_EQ(index.status().message(),
            absl::StrCat(c, ":15: ipforward/web is also defined at ", a, ":1"));
}

}  // namespace
}  // namespace ferry::cli
