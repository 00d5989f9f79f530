// libFuzzer target for YamlReader (api/lib/yaml_reader.h), differential:
// on every input, the block parser's fast path plus its hand-over to
// yaml-cpp must read exactly what ParseYamlStream (yaml-cpp alone) reads:
// the same documents, nodes, values, lines and columns, and the same first
// error. Small limits are used too, so they are hit on both paths.
// A difference calls __builtin_trap, which libFuzzer reports as a crash.

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <string>

#include "absl/strings/string_view.h"
#include "tests/fuzz/yaml_differential.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  ferry::api::YamlLimits small;
  small.max_documents = 4;
  small.max_depth = 4;
  small.max_document_bytes = 256;
  small.max_expanded_nodes = 32;
  for (const ferry::api::YamlLimits& limits : {ferry::api::YamlLimits{}, small}) {
    const std::string diff = ferry::api::testing::DiffReaderAndYamlCpp(input, limits);
    if (!diff.empty()) {
      std::fprintf(stderr, "yaml_fuzzer: YamlReader and ParseYamlStream differ\n%s\n",
                   diff.c_str());
      __builtin_trap();
    }
  }
  return 0;
}
