// Spec: an error the controller finds in an applied object (a frontend
// another forward claims, a stale resourceVersion) is printed at the line
// of the manifest that holds the blamed field, as decoding errors are.

#include <sstream>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "api/lib/manifest.h"
#include "controller/cli/manifest_files.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace ferry::cli {
namespace {

// Line numbers below are of this text.
constexpr char kTwoForwards[] =
    "apiVersion: ferry.dev/v1\n"  // 1
    "kind: IPForward\n"           // 2
    "metadata:\n"                 // 3
    "  name: web\n"               // 4
    "spec:\n"                     // 5
    "  frontend:\n"               // 6
    "    nodeName: node-a\n"      // 7
    "    address: 192.0.2.1\n"    // 8
    "  backend:\n"                // 9
    "    address: 10.8.0.2\n"     // 10
    "  sourceIP: Masquerade\n"    // 11
    "  ports:\n"                  // 12
    "  - protocol: TCP\n"         // 13
    "    port: 80\n"              // 14
    "---\n"                       // 15
    "apiVersion: ferry.dev/v1\n"  // 16
    "kind: IPForward\n"           // 17
    "metadata:\n"                 // 18
    "  name: api\n"               // 19
    "spec:\n"                     // 20
    "  frontend:\n"               // 21
    "    nodeName: node-a\n"      // 22
    "    address: 192.0.2.1\n"    // 23
    "  backend:\n"                // 24
    "    address: 10.8.0.3\n"     // 25
    "  sourceIP: Masquerade\n"    // 26
    "  ports:\n"                  // 27
    "  - protocol: UDP\n"         // 28
    "    port: 53\n"              // 29
    "  - protocol: TCP\n"         // 30
    "    port: 443\n";            // 31

// ReadManifests' index of kTwoForwards, which ferryctl apply keeps to point
// the controller's errors.
ManifestIndex Load() {
  std::istringstream in(kTwoForwards);
  absl::StatusOr<ManifestIndex> index = ReadManifests({"-"}, in, [](const ferry::v1::Object&) {});
  EXPECT_TRUE(index.ok()) << index.status();
  return index.ok() ? *std::move(index) : ManifestIndex();
}

TEST(CliManifestPositionTest, ControllerErrorOnAFieldGetsThatFieldsLine) {
  const absl::Status blamed = absl::InvalidArgumentError(
      "ipforward/api: spec.ports[1]: TCP 192.0.2.1:443 on node node-a is already claimed by "
      "ipforward/other, so ipforward/api cannot claim it");
  const absl::Status pointed = Load().PointAt(blamed);
  EXPECT_EQ(pointed.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(pointed.message(), absl::StrCat("-:30:5: ", blamed.message()));
}

TEST(CliManifestPositionTest, MissingFieldGetsItsParentsLine) {
  // The stale-update error names a field the manifest does not set.
  const absl::Status stale = absl::AbortedError(
      "ipforward/web: metadata.resourceVersion: is 7, the stored object is at 9");
  EXPECT_EQ(Load().PointAt(stale).message(), absl::StrCat("-:4:3: ", stale.message()));
}

TEST(CliManifestPositionTest, ErrorNamingNoFieldGetsTheDocumentsLine) {
  const absl::Status error = absl::FailedPreconditionError("ipforward/api: being deleted");
  EXPECT_EQ(Load().PointAt(error).message(), absl::StrCat("-:16:1: ", error.message()));
}

TEST(CliManifestPositionTest, ErrorAboutNoAppliedObjectIsUnchanged) {
  const absl::Status error = absl::UnavailableError("connection refused");
  EXPECT_EQ(Load().PointAt(error), error);
  const absl::Status other = absl::InvalidArgumentError("ipforward/db: spec.ports[0]: bad");
  EXPECT_EQ(Load().PointAt(other), other);
}

TEST(CliManifestPositionTest, LocateFieldFindsTheNamedObjectsDocument) {
  auto named = [](bool node, const std::string& name) {
    ferry::v1::Object o;
    if (node) {
      o.mutable_node()->mutable_metadata()->set_name(name);
    } else {
      o.mutable_ip_forward()->mutable_metadata()->set_name(name);
    }
    return o;
  };
  std::optional<api::SourcePosition> at =
      api::LocateField(kTwoForwards, named(false, "api"), "spec.frontend.address");
  ASSERT_TRUE(at.has_value());
  EXPECT_EQ(at->line, 23);
  EXPECT_EQ(at->column, 14);
  EXPECT_FALSE(api::LocateField(kTwoForwards, named(true, "api"), "spec").has_value());
  EXPECT_FALSE(api::LocateField(kTwoForwards, named(false, "db"), "spec").has_value());
}

}  // namespace
}  // namespace ferry::cli
