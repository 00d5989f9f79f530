#include "api/lib/manifest_locate.h"

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"

namespace ferry::api {
namespace {

// "[<n>]" at the start of `s`, as the decoder spells an index.
bool TakeIndex(absl::string_view& s, size_t* index) {
  const size_t close = s.find(']');
  if (s.empty() || s[0] != '[' || close == absl::string_view::npos || close < 2) return false;
  const absl::string_view digits = s.substr(1, close - 1);
  if ((digits.size() > 1 && digits[0] == '0') || !absl::SimpleAtoi(digits, index) ||
      digits.find_first_not_of("0123456789") != absl::string_view::npos) {
    return false;
  }
  s.remove_prefix(close + 1);
  return true;
}

// The node Decoder visited for `path`, or nullptr when the path names
// nothing visited.
const YamlNode* Visited(const YamlNode& root, absl::string_view path) {
  if (path.empty()) return &root;
  const YamlNode* node = &root;
  absl::string_view rest = path;
  for (int depth = 0;; ++depth) {
    const size_t cut = rest.find_first_of(".[");
    const absl::string_view name = rest.substr(0, cut);
    rest.remove_prefix(name.size());
    if (node->type != YamlNode::Type::kMap || name.empty()) return nullptr;
    const YamlNode* value = node->Find(name);
    if (value == nullptr) return nullptr;
    const bool in_metadata = depth == 1 && node == root.Find("metadata");
    if (depth == 0 && name == "status") return rest.empty() ? value : nullptr;
    if (in_metadata && name == "labels" && absl::StartsWith(rest, ".")) {
      if (value->type != YamlNode::Type::kMap) return nullptr;
      for (const auto& [k, v] : value->entries) {
        if (k->value == rest.substr(1)) return k;
      }
      return nullptr;
    }
    node = value;
    size_t index = 0;
    while (TakeIndex(rest, &index)) {
      if (node->type != YamlNode::Type::kSequence || index >= node->items.size()) return nullptr;
      node = node->items[index];
    }
    if (rest.empty()) return node;
    if (rest[0] != '.') return nullptr;
    rest.remove_prefix(1);
  }
}

}  // namespace

const YamlNode& LocateVisited(const YamlNode& root, std::string path) {
  while (true) {
    if (const YamlNode* n = Visited(root, path)) return *n;
    size_t cut = path.back() == ']' ? path.rfind('[') : path.rfind('.');
    path = cut == std::string::npos ? "" : path.substr(0, cut);
  }
}

}  // namespace ferry::api
