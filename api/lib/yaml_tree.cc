#include "api/lib/yaml_tree.h"

#include <sstream>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/exceptions.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace ferry::api {
namespace {

constexpr absl::string_view kStrTag = "tag:yaml.org,2002:str";

// Raised inside the event handler to stop the parser at the first problem;
// caught in ParseYamlStream so nothing escapes the module.
struct TreeError {
  int line;
  int column;
  std::string message;
};

// Checks UTF-8 and returns the 1-based position of the first bad byte.
// Columns count characters, as yaml-cpp's do.
absl::Status CheckUtf8(absl::string_view text, absl::string_view source) {
  int line = 1, column = 1;
  size_t i = 0;
  while (i < text.size()) {
    auto c = static_cast<unsigned char>(text[i]);
    size_t len = c < 0x80           ? 1
                 : (c >> 5) == 0x6  ? 2
                 : (c >> 4) == 0xe  ? 3
                 : (c >> 3) == 0x1e ? 4
                                    : 0;
    bool ok = len != 0 && i + len <= text.size();
    uint32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; ok && k < len; ++k) {
      auto cc = static_cast<unsigned char>(text[i + k]);
      ok = (cc & 0xc0) == 0x80;
      cp = (cp << 6) | (cc & 0x3f);
    }
    // Reject overlong forms, surrogates and values past U+10FFFF.
    if (ok && ((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) ||
               (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) || (cp >= 0xd800 && cp <= 0xdfff))) {
      ok = false;
    }
    if (!ok) {
      return absl::InvalidArgumentError(AtPosition(
          source, line, column,
          absl::StrFormat("invalid UTF-8 (byte 0x%02x); manifests must be UTF-8 text", c)));
    }
    if (c == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
    i += len;
  }
  return absl::OkStatus();
}

class TreeBuilder : public YAML::EventHandler {
 public:
  TreeBuilder(YamlStream& stream, const YamlLimits& limits, absl::string_view input)
      : stream_(stream), limits_(limits), input_(input) {}

  void OnDocumentStart(const YAML::Mark& mark) override {
    CheckProgress(mark);
    anchors_.clear();
    expanded_ = 0;
    doc_ = YamlDocument{mark.line + 1, nullptr};
    doc_start_pos_ = mark.pos;
  }

  void OnDocumentEnd() override {
    if (doc_.root == nullptr) {
      YamlNode& empty = stream_.nodes.emplace_back();
      empty.line = doc_.line;
      empty.column = 1;
      doc_.root = &empty;
    }
    stream_.documents.push_back(doc_);
  }

  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    YamlNode& n = NewNode(YamlNode::Type::kNull, mark);
    // yaml-cpp marks an empty value at the token after it, often on the
    // next line; the key's position is the useful one.
    if (!stack_.empty() && stack_.back().pending_key != nullptr) {
      n.line = stack_.back().pending_key->line;
      n.column = stack_.back().pending_key->column;
    }
    Register(anchor, n);
    Attach(n);
  }

  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override {
    auto it = anchors_.find(anchor);
    if (it == anchors_.end()) throw TreeError{mark.line + 1, mark.column + 1, "unknown alias"};
    if (!it->second.finished) {
      throw TreeError{mark.line + 1, mark.column + 1,
                      "an alias may not refer to a node that contains it"};
    }
    expanded_ += it->second.expanded;
    CheckExpanded(mark);
    Attach(*it->second.node);
  }

  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override {
    CheckExtent(mark, value.size());
    if (tag != "?" && tag != "!" && tag != kStrTag) {
      throw TreeError{mark.line + 1, mark.column + 1,
                      absl::StrCat("unsupported YAML tag \"", tag, "\"; remove the tag")};
    }
    YamlNode& n = NewNode(YamlNode::Type::kScalar, mark);
    n.is_string = tag != "?";
    n.value = value;
    Register(anchor, n);
    Attach(n);
  }

  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override {
    Open(YamlNode::Type::kSequence, mark, anchor);
  }
  void OnSequenceEnd() override { Close(); }

  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override {
    Open(YamlNode::Type::kMap, mark, anchor);
  }
  void OnMapEnd() override { Close(); }

 private:
  struct Frame {
    YamlNode* node;
    std::string path;
    size_t expanded_at_start;
    const YamlNode* pending_key = nullptr;
    absl::flat_hash_map<std::string, const YamlNode*> keys;
  };
  struct Anchor {
    const YamlNode* node;
    bool finished;
    size_t expanded;
  };

  YamlNode& NewNode(YamlNode::Type type, const YAML::Mark& mark) {
    CheckExtent(mark, 0);
    ++expanded_;
    CheckExpanded(mark);
    YamlNode& n = stream_.nodes.emplace_back();
    n.type = type;
    n.line = mark.line + 1;
    n.column = mark.column + 1;
    return n;
  }

  void Register(YAML::anchor_t anchor, const YamlNode& n) {
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchor{&n, true, 1};
  }

  void Open(YamlNode::Type type, const YAML::Mark& mark, YAML::anchor_t anchor) {
    size_t start = expanded_;
    YamlNode& n = NewNode(type, mark);
    if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
      throw TreeError{n.line, n.column,
                      absl::StrCat("nesting deeper than ", limits_.max_depth, " levels")};
    }
    if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchor{&n, false, 0};
    std::string path = stack_.empty() ? "" : ChildPath(stack_.back());
    stack_.push_back(Frame{&n, std::move(path), start, nullptr, {}});
    open_anchors_.push_back(anchor);
  }

  void Close() {
    Frame frame = std::move(stack_.back());
    stack_.pop_back();
    YAML::anchor_t anchor = open_anchors_.back();
    open_anchors_.pop_back();
    if (anchor != YAML::NullAnchor) {
      anchors_[anchor] = Anchor{frame.node, true, expanded_ - frame.expanded_at_start};
    }
    Attach(*frame.node);
  }

  // Path of the node about to be attached to `parent`, for error messages.
  static std::string ChildPath(const Frame& parent) {
    if (parent.node->type == YamlNode::Type::kSequence) {
      return absl::StrCat(parent.path, "[", parent.node->items.size(), "]");
    }
    if (parent.pending_key == nullptr) return parent.path;  // a key itself
    return parent.path.empty() ? parent.pending_key->value
                               : absl::StrCat(parent.path, ".", parent.pending_key->value);
  }

  void Attach(const YamlNode& n) {
    if (stack_.empty()) {
      doc_.root = &n;
      return;
    }
    Frame& parent = stack_.back();
    if (parent.node->type == YamlNode::Type::kSequence) {
      parent.node->items.push_back(&n);
      return;
    }
    if (parent.pending_key == nullptr) {
      AddKey(parent, n);
      return;
    }
    parent.node->entries.emplace_back(parent.pending_key, &n);
    parent.pending_key = nullptr;
  }

  void AddKey(Frame& parent, const YamlNode& key) {
    if (key.type != YamlNode::Type::kScalar || key.value.empty()) {
      throw TreeError{key.line, key.column,
                      absl::StrCat(parent.path.empty() ? "" : absl::StrCat(parent.path, ": "),
                                   "map keys must be non-empty strings")};
    }
    auto [it, inserted] = parent.keys.emplace(key.value, &key);
    if (!inserted) {
      std::string path =
          parent.path.empty() ? key.value : absl::StrCat(parent.path, ".", key.value);
      throw TreeError{key.line, key.column,
                      absl::StrCat(path, ": duplicate key; first defined at line ",
                                   it->second->line, ", column ", it->second->column)};
    }
    parent.pending_key = &key;
  }

  void CheckExtent(const YAML::Mark& mark, size_t extra) {
    if (mark.pos < doc_start_pos_) return;
    if (static_cast<size_t>(mark.pos - doc_start_pos_) + extra > limits_.max_document_bytes) {
      throw TreeError{doc_.line, 1,
                      absl::StrCat("document is larger than ", limits_.max_document_bytes,
                                   " bytes; split it into smaller documents")};
    }
  }

  // yaml-cpp 0.7 returns an empty document, without consuming anything,
  // when a block node would start with a token it cannot handle (a `,`:
  // jbeder/yaml-cpp#1040), and does so again on every call. A document
  // starting where the previous one did is that loop; so is a stream with
  // more documents than bytes. The count cap bounds everything else.
  void CheckProgress(const YAML::Mark& mark) {
    const size_t count = stream_.documents.size();
    if ((count > 0 && mark.pos <= last_document_pos_) || count > input_.size()) {
      const bool comma =
          mark.pos >= 0 && static_cast<size_t>(mark.pos) < input_.size() && input_[mark.pos] == ',';
      throw TreeError{mark.line + 1, mark.column + 1,
                      comma ? "unexpected ','; a comma separates items only inside [ ] "
                              "or { } (quote a value that starts with one)"
                            : "the YAML parser cannot continue here; check the syntax "
                              "of this line"};
    }
    if (count >= limits_.max_documents) {
      throw TreeError{
          mark.line + 1, mark.column + 1,
          absl::StrCat("more than ", limits_.max_documents, " documents in one input; split it")};
    }
    last_document_pos_ = mark.pos;
  }

  void CheckExpanded(const YAML::Mark& mark) {
    if (expanded_ > limits_.max_expanded_nodes) {
      throw TreeError{mark.line + 1, mark.column + 1,
                      absl::StrCat("document expands to more than ", limits_.max_expanded_nodes,
                                   " nodes (too many aliases?)")};
    }
  }

  YamlStream& stream_;
  const YamlLimits& limits_;
  const absl::string_view input_;
  int last_document_pos_ = 0;
  YamlDocument doc_;
  int doc_start_pos_ = 0;
  size_t expanded_ = 0;
  std::vector<Frame> stack_;
  std::vector<YAML::anchor_t> open_anchors_;
  absl::flat_hash_map<YAML::anchor_t, Anchor> anchors_;
};

}  // namespace

std::string AtPosition(absl::string_view source, int line, int column, absl::string_view message) {
  return absl::StrCat(source, ":", line, ":", column, ": ", message);
}

const YamlNode* YamlNode::Find(absl::string_view key) const {
  for (const auto& [k, v] : entries) {
    if (k->value == key) return v;
  }
  return nullptr;
}

absl::string_view YamlNode::TypeName() const {
  switch (type) {
    case Type::kNull:
      return "null";
    case Type::kSequence:
      return "list";
    case Type::kMap:
      return "map";
    case Type::kScalar:
      break;
  }
  if (is_string || value.empty()) return "string";
  if (value == "true" || value == "false") return "boolean";
  bool numeric = true;
  for (char c : value) {
    numeric = numeric && (absl::ascii_isdigit(c) || c == '-' || c == '+' || c == '.');
  }
  return numeric ? "number" : "string";
}

absl::StatusOr<YamlStream> ParseYamlStream(absl::string_view yaml, absl::string_view source,
                                           const YamlLimits& limits) {
  if (yaml.size() > limits.max_input_bytes) {
    return absl::InvalidArgumentError(AtPosition(
        source, 1, 1,
        absl::StrCat("input is ", yaml.size(), " bytes; the limit is ", limits.max_input_bytes)));
  }
  if (absl::Status s = CheckUtf8(yaml, source); !s.ok()) return s;

  YamlStream stream;
  std::istringstream in{std::string(yaml)};
  try {
    YAML::Parser parser(in);
    TreeBuilder builder(stream, limits, yaml);
    while (parser.HandleNextDocument(builder)) {
    }
  } catch (const TreeError& e) {
    return absl::InvalidArgumentError(AtPosition(source, e.line, e.column, e.message));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.msg));
    return absl::InvalidArgumentError(
        AtPosition(source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  return stream;
}

}  // namespace ferry::api
