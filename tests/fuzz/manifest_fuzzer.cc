// libFuzzer target for the manifest decoder (api/lib/manifest.h).
//
// Properties checked on every input:
//  - DecodeManifests never crashes, leaks or hits undefined behaviour,
//    whatever the bytes (ASan/UBSan/libFuzzer catch those);
//  - whatever it accepts survives EncodeYaml -> DecodeManifests unchanged,
//    so `ferryctl get -o yaml | ferryctl apply -f -` is a no-op;
//  - EncodeJson of anything accepted does not crash;
//  - a rejection is INVALID_ARGUMENT pointing into the input
//    ("fuzz:<line>:<column>: ..."), as manifest.h promises.
// A broken property calls __builtin_trap, which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/match.h"
#include "absl/strings/string_view.h"
#include "api/lib/manifest.h"
#include "ferry/v1/ferry.pb.h"
#include "google/protobuf/util/message_differencer.h"

namespace {

using ferry::api::DecodeManifests;
using ferry::api::ManifestObject;

[[noreturn]] void Violation(const char* what, const std::string& detail) {
  std::fprintf(stderr, "manifest_fuzzer: %s\n%s\n", what, detail.c_str());
  __builtin_trap();
}

void CheckRoundTrip(const ManifestObject& decoded) {
  const std::string yaml = ferry::api::EncodeYaml(decoded.object);
  absl::StatusOr<std::vector<ManifestObject>> again = DecodeManifests(yaml, "roundtrip");
  if (!again.ok()) {
    Violation("EncodeYaml output does not decode",
              again.status().ToString() + "\n--- yaml ---\n" + yaml);
  }
  if (again->size() != 1) {
    Violation("EncodeYaml output is not exactly one document", yaml);
  }
  std::string diff;
  google::protobuf::util::MessageDifferencer differ;
  differ.ReportDifferencesToString(&diff);
  if (!differ.Compare(decoded.object, (*again)[0].object)) {
    Violation("YAML round trip changed the object", diff + "--- yaml ---\n" + yaml);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  absl::StatusOr<std::vector<ManifestObject>> objects = DecodeManifests(input, "fuzz");
  if (!objects.ok()) {
    const absl::Status& s = objects.status();
    if (s.code() != absl::StatusCode::kInvalidArgument || !absl::StartsWith(s.message(), "fuzz:")) {
      Violation("rejection is not a positioned INVALID_ARGUMENT", s.ToString());
    }
    return 0;
  }
  for (const ManifestObject& decoded : *objects) {
    CheckRoundTrip(decoded);
    (void)ferry::api::EncodeJson(decoded.object);
  }
  return 0;
}
