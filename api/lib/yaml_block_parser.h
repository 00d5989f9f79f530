#ifndef FERRY_API_LIB_YAML_BLOCK_PARSER_H_
#define FERRY_API_LIB_YAML_BLOCK_PARSER_H_

// A fast parser for the block-style YAML that manifests are written and
// generated in: "key: value" maps, "- " lists, plain words and one-line
// quoted text, comments, "---" between documents.
//
// It either builds exactly the tree that yaml-cpp and TreeBuilder build for
// a document (same nodes, values, lines and columns), or it declines, and
// YamlReader hands that document to yaml-cpp. So it never reports an
// error: anything unusual or wrong (flow collections, anchors, tags,
// multi-line or escaped scalars, tabs, CR, non-ASCII, duplicate keys, any
// limit) is declined, and the message comes from the one strict parser.
// tests/unit/api/yaml_block_parser_test.cc and tests/fuzz/yaml_fuzzer.cc
// compare the two.

#include <cstddef>

#include "absl/strings/string_view.h"
#include "api/lib/yaml_tree.h"

namespace ferry::api::yaml_internal {

// True when the line starting at `pos` is "---" and nothing but spaces
// after it: where the block parser ends one document and starts the next.
bool IsDocumentMarkerLine(absl::string_view text, size_t pos);

struct BlockDocument {
  YamlDocument document;
  size_t start = 0;  // byte offset of the document's start (its "---" line)
  size_t end = 0;    // where the next document starts: a "---" line, or the end
  int end_line = 0;  // 1-based line of `end`
};

enum class BlockResult { kDocument, kEnd, kDecline };

// Parses the document at `pos`, the start of line `line`: the start of the
// stream or a "---" line. `documents` is how many came before it. kEnd
// when only blank lines and comments are left. Nodes go to `arena`.
BlockResult ParseBlockDocument(absl::string_view text, size_t pos, int line,
                               const YamlLimits& limits, size_t documents, YamlNodeArena& arena,
                               BlockDocument* out);

}  // namespace ferry::api::yaml_internal

#endif  // FERRY_API_LIB_YAML_BLOCK_PARSER_H_
