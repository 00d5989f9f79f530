#ifndef FERRY_API_LIB_MANIFEST_LOCATE_H_
#define FERRY_API_LIB_MANIFEST_LOCATE_H_

// Internal to manifest.cc: which YAML node a field path of a decoded
// document names, found by walking the tree when an error needs it rather
// than recorded for every field of every document.

#include <string>

#include "absl/strings/string_view.h"
#include "api/lib/yaml_tree.h"

namespace ferry::api {

// The node the manifest decoder visited for `path` ("spec.ports[0].port")
// in a document it accepted: the value of a known field, a list item, or
// the key of a label ("metadata.labels.<key>"); status is not visited. When
// the field is missing, the node of its nearest parent that is there ("" is
// the document itself).
const YamlNode& LocateVisited(const YamlNode& root, std::string path);

}  // namespace ferry::api

#endif  // FERRY_API_LIB_MANIFEST_LOCATE_H_
