#ifndef FERRY_API_LIB_YAML_TREE_H_
#define FERRY_API_LIB_YAML_TREE_H_

// A YAML document as a plain tree that keeps every node's position.
//
// yaml-cpp's YAML::Node silently merges duplicate keys, shares alias targets
// without bound and loses the difference between `80` and "80". Building our
// own tree from parser events lets the manifest decoder be strict about all
// three and point every error at a line and column.

#include <cstddef>
#include <deque>
#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace ferry::api {

// Abuse limits for one input stream. The defaults are far above any real
// manifest and far below what would hurt the controller.
struct YamlLimits {
  size_t max_input_bytes = 32u << 20;
  size_t max_document_bytes = 1u << 20;
  int max_depth = 64;
  // Nodes of one document after expanding aliases: caps "billion laughs".
  size_t max_expanded_nodes = 100000;
  // Documents per stream. Each needs at least a "---" line, so this also
  // bounds the work a stream of empty documents can cause.
  size_t max_documents = 100000;
};

struct YamlNode {
  enum class Type { kNull, kScalar, kSequence, kMap };

  Type type = Type::kNull;
  int line = 0;    // 1-based
  int column = 0;  // 1-based
  // Scalars: true when quoted or tagged !!str, so `"80"` is text, not a number.
  bool is_string = false;
  std::string value;
  std::vector<const YamlNode*> items;                                // kSequence
  std::vector<std::pair<const YamlNode*, const YamlNode*>> entries;  // kMap

  const YamlNode* Find(absl::string_view key) const;
  // "string", "integer", "list", "map", "null": for "got ..." messages.
  absl::string_view TypeName() const;
};

struct YamlDocument {
  int line = 0;                    // 1-based line where the document starts
  const YamlNode* root = nullptr;  // kNull for an empty document
};

// Owns nodes at stable addresses, so nodes can be shared by aliases.
// Reset() keeps them for reuse: a stream read one document at a time then
// allocates only for its largest document.
class YamlNodeArena {
 public:
  YamlNode& New(YamlNode::Type type, int line, int column);
  void Reset() { used_ = 0; }

 private:
  std::deque<YamlNode> nodes_;
  size_t used_ = 0;
};

struct YamlStream {
  YamlNodeArena nodes;  // of every document
  std::vector<YamlDocument> documents;
};

// Parses a whole multi-document stream with yaml-cpp. Errors are INVALID_ARGUMENT
//   "<source>:<line>:<column>: <message>"
// or, when the problem has a field path (duplicate keys),
//   "<source>:<line>:<column>: <path>: <message>".
// YamlReader (yaml_reader.h) reads the same stream one document at a time,
// with the same nodes and errors.
absl::StatusOr<YamlStream> ParseYamlStream(absl::string_view yaml, absl::string_view source,
                                           const YamlLimits& limits = {});

// Prefixes `message` with "<source>:<line>:<column>: ".
std::string AtPosition(absl::string_view source, int line, int column, absl::string_view message);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_YAML_TREE_H_
