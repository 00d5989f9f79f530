#ifndef FERRY_TESTS_FUZZ_YAML_DIFFERENTIAL_H_
#define FERRY_TESTS_FUZZ_YAML_DIFFERENTIAL_H_

// YamlReader (block parser + yaml-cpp) against ParseYamlStream (yaml-cpp
// alone) on one input: the same documents, nodes, positions and errors.
// Shared by tests/unit/api/yaml_block_parser_test.cc and yaml_fuzzer.cc.

#include <algorithm>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "api/lib/yaml_block_parser.h"
#include "api/lib/yaml_reader.h"
#include "api/lib/yaml_tree.h"

namespace ferry::api::testing {

// Every field of every node, one line per node; `line_shift` is added to
// lines. Shared (alias) nodes are printed at each use.
inline void DumpNode(const YamlNode& n, int line_shift, int depth, std::string& out) {
  static constexpr absl::string_view kTypes[] = {"null", "scalar", "list", "map"};
  absl::StrAppend(&out, std::string(depth * 2, ' '), kTypes[static_cast<int>(n.type)], " ",
                  n.line + line_shift, ":", n.column, n.is_string ? " str" : "", " <", n.value,
                  ">\n");
  for (const YamlNode* item : n.items) DumpNode(*item, line_shift, depth + 1, out);
  for (const auto& [k, v] : n.entries) {
    DumpNode(*k, line_shift, depth + 1, out);
    DumpNode(*v, line_shift, depth + 2, out);
  }
}

inline std::string DumpDocument(const YamlDocument& d, int line_shift = 0) {
  std::string out = absl::StrCat("document at line ", d.line + line_shift, "\n");
  if (d.root != nullptr) DumpNode(*d.root, line_shift, 1, out);
  return out;
}

// Every document YamlReader reads, dumped, then "error: <message>" if it
// stopped at one.
inline std::vector<std::string> ReadAll(absl::string_view yaml, const YamlLimits& limits,
                                        std::vector<size_t>* offsets = nullptr) {
  std::vector<std::string> out;
  YamlReader reader(yaml, "s", limits);
  while (true) {
    absl::StatusOr<const YamlDocument*> doc = reader.Next();
    if (!doc.ok()) {
      out.push_back(absl::StrCat("error: ", doc.status().message()));
      return out;
    }
    if (*doc == nullptr) return out;
    out.push_back(DumpDocument(**doc));
    if (offsets != nullptr) offsets->push_back(reader.document_offset());
  }
}

// Empty when both agree on `yaml`, else a report of the first difference.
inline std::string DiffReaderAndYamlCpp(absl::string_view yaml, const YamlLimits& limits = {}) {
  std::vector<std::string> want;
  absl::StatusOr<YamlStream> stream = ParseYamlStream(yaml, "s", limits);
  if (stream.ok()) {
    for (const YamlDocument& d : stream->documents) want.push_back(DumpDocument(d));
  }
  std::vector<size_t> offsets;
  const std::vector<std::string> got = ReadAll(yaml, limits, &offsets);
  if (!stream.ok()) {
    // The reader hands out the documents before the error; the error must
    // be the same one.
    const std::string error = absl::StrCat("error: ", stream.status().message());
    if (got.empty() || got.back() != error) {
      return absl::StrCat("want ", error, "\ngot ", got.empty() ? "nothing" : got.back());
    }
    return "";
  }
  for (size_t i = 0; i < want.size() || i < got.size(); ++i) {
    const std::string w = i < want.size() ? want[i] : "(no document)";
    const std::string g = i < got.size() ? got[i] : "(no document)";
    if (w != g) return absl::StrCat("document ", i, ":\n--- yaml-cpp\n", w, "--- reader\n", g);
  }
  // Reading from a document's offset finds that document first, shifted,
  // when it starts the stream or a "---" line (as manifests do; a document
  // yaml-cpp starts inside a line, after a multi-line scalar, may not).
  for (size_t i = 0; i < offsets.size() && i < 4; ++i) {
    const bool starts_stream = i == 0 && offsets[i] == 0;
    if (!starts_stream && !yaml_internal::IsDocumentMarkerLine(yaml, offsets[i])) continue;
    const absl::string_view rest = yaml.substr(offsets[i]);
    const int shift = static_cast<int>(std::count(yaml.begin(), yaml.begin() + offsets[i], '\n'));
    YamlReader reader(rest, "s", limits);
    absl::StatusOr<const YamlDocument*> doc = reader.Next();
    const std::string g = !doc.ok()         ? absl::StrCat("error: ", doc.status().message())
                          : *doc == nullptr ? "(no document)"
                                            : DumpDocument(**doc, shift);
    if (g != want[i]) {
      return absl::StrCat("document ", i, " read from offset ", offsets[i], ":\n--- want\n",
                          want[i], "--- got\n", g);
    }
  }
  return "";
}

}  // namespace ferry::api::testing

#endif  // FERRY_TESTS_FUZZ_YAML_DIFFERENTIAL_H_
