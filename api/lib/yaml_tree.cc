#include "api/lib/yaml_tree.h"

#include <algorithm>
#include <cstring>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "api/lib/yaml_block_parser.h"
#include "api/lib/yaml_tree_builder.h"
#include "yaml-cpp/exceptions.h"

namespace ferry::api {
namespace yaml_internal {
namespace {

constexpr absl::string_view kStrTag = "tag:yaml.org,2002:str";

// Raised inside the event handler to stop the parser at the first problem;
// caught in TreeBuilder::Next so nothing escapes the module.
struct TreeError {
  int line;
  int column;
  std::string message;
};

// Raised at the start of a document the block parser may take back.
struct HandBack {};

// The 1-based line of byte `at` of `text`, and its column in characters
// (yaml-cpp counts columns so), the text before it being valid UTF-8.
std::pair<int, int> PositionOf(absl::string_view text, size_t at) {
  const absl::string_view before = text.substr(0, at);
  const int line = 1 + static_cast<int>(std::count(before.begin(), before.end(), '\n'));
  const size_t newline = before.rfind('\n');
  const size_t line_start = newline == absl::string_view::npos ? 0 : newline + 1;
  int column = 1;
  for (size_t k = line_start; k < at; ++k) {
    if ((static_cast<unsigned char>(text[k]) & 0xc0) != 0x80) ++column;  // not a continuation
  }
  return {line, column};
}

// Checks UTF-8 and returns the 1-based position of the first bad byte.
// Manifests are mostly ASCII, which is skipped eight bytes at a time, and a
// position is computed only for an error: this check runs over the whole
// input before its first document is decoded (a 26 MB manifest took
// ~90 ms of byte-at-a-time work, which delayed a streamed apply's start).
absl::Status CheckUtf8(absl::string_view text, absl::string_view source) {
  constexpr uint64_t kHighBits = 0x8080808080808080ull;
  size_t i = 0;
  while (i < text.size()) {
    if (i + 8 <= text.size()) {
      uint64_t word;
      std::memcpy(&word, text.data() + i, 8);
      if ((word & kHighBits) == 0) {
        i += 8;
        continue;
      }
    }
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
      const auto [line, column] = PositionOf(text, i);
      return absl::InvalidArgumentError(AtPosition(
          source, line, column,
          absl::StrFormat("invalid UTF-8 (byte 0x%02x); manifests must be UTF-8 text", c)));
    }
    i += len;
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status CheckInput(absl::string_view yaml, absl::string_view source,
                        const YamlLimits& limits) {
  if (yaml.size() > limits.max_input_bytes) {
    return absl::InvalidArgumentError(AtPosition(
        source, 1, 1,
        absl::StrCat("input is ", yaml.size(), " bytes; the limit is ", limits.max_input_bytes)));
  }
  return CheckUtf8(yaml, source);
}

ViewStream::Buf::Buf(absl::string_view text) {
  char* begin = const_cast<char*>(text.data());  // read only: no put area
  setg(begin, begin, begin + text.size());
}

ViewStream::ViewStream(absl::string_view text) : std::istream(nullptr), buf_(text) { rdbuf(&buf_); }

TreeBuilder::TreeBuilder(YamlNodeArena& arena, const YamlLimits& limits, absl::string_view input,
                         StreamProgress& progress, InputOffset offset, bool hand_back)
    : arena_(arena),
      limits_(limits),
      input_(input),
      progress_(progress),
      offset_(offset),
      hand_back_(hand_back) {}

absl::StatusOr<TreeBuilder::Step> TreeBuilder::Next(YAML::Parser& parser,
                                                    absl::string_view source) {
  try {
    return parser.HandleNextDocument(*this) ? Step::kDocument : Step::kEnd;
  } catch (const HandBack&) {
    return Step::kHandBack;
  } catch (const TreeError& e) {
    return absl::InvalidArgumentError(AtPosition(source, e.line, e.column, e.message));
  } catch (const YAML::Exception& e) {
    if (e.mark.is_null()) return absl::InvalidArgumentError(absl::StrCat(source, ": ", e.msg));
    const StreamMark at = Abs(e.mark);
    return absl::InvalidArgumentError(AtPosition(source, at.line, at.column, e.msg));
  }
}

StreamMark TreeBuilder::Abs(const YAML::Mark& mark) const {
  return StreamMark{mark.line + 1 + offset_.lines, mark.column + 1, mark.pos + offset_.pos};
}

void TreeBuilder::OnDocumentStart(const YAML::Mark& yaml_mark) {
  const StreamMark mark = Abs(yaml_mark);
  const int64_t previous_start = progress_.last_document_pos;
  CheckProgress(mark);
  if (hand_back_ && handled_ > 0 && mark.column == 1 && IsDocumentMarkerLine(input_, mark.pos)) {
    progress_.last_document_pos = previous_start;  // not started here after all
    hand_back_pos_ = mark.pos;
    hand_back_line_ = mark.line;
    throw HandBack{};
  }
  anchors_.clear();
  expanded_ = 0;
  doc_ = YamlDocument{mark.line, nullptr};
  doc_start_pos_ = mark.pos;
}

void TreeBuilder::OnDocumentEnd() {
  if (doc_.root == nullptr) doc_.root = &arena_.New(YamlNode::Type::kNull, doc_.line, 1);
  ++progress_.documents;
  ++handled_;
}

void TreeBuilder::OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) {
  YamlNode& n = NewNode(YamlNode::Type::kNull, Abs(mark));
  // yaml-cpp marks an empty value at the token after it, often on the
  // next line; the key's position is the useful one.
  if (!stack_.empty() && stack_.back().pending_key != nullptr) {
    n.line = stack_.back().pending_key->line;
    n.column = stack_.back().pending_key->column;
  }
  Register(anchor, n);
  Attach(n);
}

void TreeBuilder::OnAlias(const YAML::Mark& yaml_mark, YAML::anchor_t anchor) {
  const StreamMark mark = Abs(yaml_mark);
  auto it = anchors_.find(anchor);
  if (it == anchors_.end()) throw TreeError{mark.line, mark.column, "unknown alias"};
  if (!it->second.finished) {
    throw TreeError{mark.line, mark.column, "an alias may not refer to a node that contains it"};
  }
  expanded_ += it->second.expanded;
  CheckExpanded(mark);
  Attach(*it->second.node);
}

void TreeBuilder::OnScalar(const YAML::Mark& yaml_mark, const std::string& tag,
                           YAML::anchor_t anchor, const std::string& value) {
  const StreamMark mark = Abs(yaml_mark);
  CheckExtent(mark, value.size());
  if (tag != "?" && tag != "!" && tag != kStrTag) {
    throw TreeError{mark.line, mark.column,
                    absl::StrCat("unsupported YAML tag \"", tag, "\"; remove the tag")};
  }
  YamlNode& n = NewNode(YamlNode::Type::kScalar, mark);
  n.is_string = tag != "?";
  n.value = value;
  Register(anchor, n);
  Attach(n);
}

void TreeBuilder::OnSequenceStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                                  YAML::EmitterStyle::value) {
  Open(YamlNode::Type::kSequence, mark, anchor);
}

void TreeBuilder::OnMapStart(const YAML::Mark& mark, const std::string&, YAML::anchor_t anchor,
                             YAML::EmitterStyle::value) {
  Open(YamlNode::Type::kMap, mark, anchor);
}

YamlNode& TreeBuilder::NewNode(YamlNode::Type type, const StreamMark& mark) {
  CheckExtent(mark, 0);
  ++expanded_;
  CheckExpanded(mark);
  return arena_.New(type, mark.line, mark.column);
}

void TreeBuilder::Register(YAML::anchor_t anchor, const YamlNode& n) {
  if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchor{&n, true, 1};
}

void TreeBuilder::Open(YamlNode::Type type, const YAML::Mark& mark, YAML::anchor_t anchor) {
  size_t start = expanded_;
  YamlNode& n = NewNode(type, Abs(mark));
  if (static_cast<int>(stack_.size()) >= limits_.max_depth) {
    throw TreeError{n.line, n.column,
                    absl::StrCat("nesting deeper than ", limits_.max_depth, " levels")};
  }
  if (anchor != YAML::NullAnchor) anchors_[anchor] = Anchor{&n, false, 0};
  std::string path = stack_.empty() ? "" : ChildPath(stack_.back());
  stack_.push_back(Frame{&n, std::move(path), start, nullptr, {}});
  open_anchors_.push_back(anchor);
}

void TreeBuilder::Close() {
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
std::string TreeBuilder::ChildPath(const Frame& parent) {
  if (parent.node->type == YamlNode::Type::kSequence) {
    return absl::StrCat(parent.path, "[", parent.node->items.size(), "]");
  }
  if (parent.pending_key == nullptr) return parent.path;  // a key itself
  return parent.path.empty() ? parent.pending_key->value
                             : absl::StrCat(parent.path, ".", parent.pending_key->value);
}

void TreeBuilder::Attach(const YamlNode& n) {
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

void TreeBuilder::AddKey(Frame& parent, const YamlNode& key) {
  if (key.type != YamlNode::Type::kScalar || key.value.empty()) {
    throw TreeError{key.line, key.column,
                    absl::StrCat(parent.path.empty() ? "" : absl::StrCat(parent.path, ": "),
                                 "map keys must be non-empty strings")};
  }
  auto [it, inserted] = parent.keys.emplace(key.value, &key);
  if (!inserted) {
    std::string path = parent.path.empty() ? key.value : absl::StrCat(parent.path, ".", key.value);
    throw TreeError{key.line, key.column,
                    absl::StrCat(path, ": duplicate key; first defined at line ", it->second->line,
                                 ", column ", it->second->column)};
  }
  parent.pending_key = &key;
}

void TreeBuilder::CheckExtent(const StreamMark& mark, size_t extra) {
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
void TreeBuilder::CheckProgress(const StreamMark& mark) {
  const size_t count = progress_.documents;
  if ((count > 0 && mark.pos <= progress_.last_document_pos) || count > input_.size()) {
    const bool comma =
        mark.pos >= 0 && static_cast<size_t>(mark.pos) < input_.size() && input_[mark.pos] == ',';
    throw TreeError{mark.line, mark.column,
                    comma ? "unexpected ','; a comma separates items only inside [ ] "
                            "or { } (quote a value that starts with one)"
                          : "the YAML parser cannot continue here; check the syntax "
                            "of this line"};
  }
  if (count >= limits_.max_documents) {
    throw TreeError{
        mark.line, mark.column,
        absl::StrCat("more than ", limits_.max_documents, " documents in one input; split it")};
  }
  progress_.last_document_pos = mark.pos;
}

void TreeBuilder::CheckExpanded(const StreamMark& mark) {
  if (expanded_ > limits_.max_expanded_nodes) {
    throw TreeError{mark.line, mark.column,
                    absl::StrCat("document expands to more than ", limits_.max_expanded_nodes,
                                 " nodes (too many aliases?)")};
  }
}

}  // namespace yaml_internal

YamlNode& YamlNodeArena::New(YamlNode::Type type, int line, int column) {
  if (used_ == nodes_.size()) nodes_.emplace_back();
  YamlNode& n = nodes_[used_++];
  n.type = type;
  n.line = line;
  n.column = column;
  n.is_string = false;
  n.value.clear();
  n.items.clear();
  n.entries.clear();
  return n;
}

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
  using yaml_internal::TreeBuilder;
  if (absl::Status s = yaml_internal::CheckInput(yaml, source, limits); !s.ok()) return s;
  YamlStream stream;
  yaml_internal::StreamProgress progress;
  yaml_internal::ViewStream in(yaml);
  YAML::Parser parser(in);
  TreeBuilder builder(stream.nodes, limits, yaml, progress, {}, /*hand_back=*/false);
  while (true) {
    absl::StatusOr<TreeBuilder::Step> step = builder.Next(parser, source);
    if (!step.ok()) return step.status();
    if (*step != TreeBuilder::Step::kDocument) break;
    stream.documents.push_back(builder.document());
  }
  return stream;
}

}  // namespace ferry::api
