#include "api/lib/yaml_block_parser.h"

#include <cstdint>

namespace ferry::api::yaml_internal {
namespace {

// Beyond these a document goes to yaml-cpp, which has the real limits and
// their messages; they also keep the duplicate-key scan linear enough.
constexpr size_t kMaxKeysPerMap = 64;

bool IsAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

// What may follow the first character of a plain scalar: no indicator, no
// space, nothing yaml-cpp would read differently. ':' is checked apart.
bool IsPlainChar(char c) {
  return IsAlnum(c) || c == '.' || c == '_' || c == '-' || c == '/' || c == '+' || c == '@';
}

bool IsKeyChar(char c) { return IsAlnum(c) || c == '.' || c == '_' || c == '-' || c == '/'; }

// yaml-cpp's null words (plain only; "" and "~" are declined anyway).
bool IsNullWord(absl::string_view s) { return s == "null" || s == "Null" || s == "NULL"; }

class BlockParser {
 public:
  BlockParser(absl::string_view text, const YamlLimits& limits, YamlNodeArena& arena)
      : text_(text), limits_(limits), arena_(arena) {}

  BlockResult Document(size_t pos, int line, size_t documents, BlockDocument* out) {
    ls_ = pos;
    lineno_ = line;
    if (!LoadLine() || !SkipBlankLines()) return BlockResult::kDecline;
    if (AtEof()) return BlockResult::kEnd;
    if (documents >= limits_.max_documents || documents > text_.size()) {
      return BlockResult::kDecline;
    }
    out->start = ls_;
    out->document.line = lineno_;
    if (marker_ && !(NextLine() && SkipBlankLines())) return BlockResult::kDecline;
    YamlNode* root = nullptr;
    if (AtDocumentEnd()) {
      // yaml-cpp puts an empty document's null at the next token.
      root = &New(YamlNode::Type::kNull, lineno_, 1);
      if (AtEof() && !text_.empty() && text_.back() != '\n') return BlockResult::kDecline;
    } else if (indent_ != 0 || !IsKey(content_) || !ParseMap(0, content_, &root)) {
      return BlockResult::kDecline;
    }
    if (!AtDocumentEnd()) return BlockResult::kDecline;
    if (ls_ - out->start > limits_.max_document_bytes) return BlockResult::kDecline;
    if (nodes_ > limits_.max_expanded_nodes) return BlockResult::kDecline;
    out->document.root = root;
    out->end = ls_;
    out->end_line = lineno_;
    return BlockResult::kDocument;
  }

 private:
  YamlNode& New(YamlNode::Type type, int line, int column) {
    ++nodes_;
    return arena_.New(type, line, column);
  }

  // Reads the line at ls_. False (decline) on a byte outside printable
  // ASCII: tabs, CR (a line break to yaml-cpp), control and UTF-8 bytes.
  bool LoadLine() {
    size_t eol = text_.find('\n', ls_);
    eol_ = eol == absl::string_view::npos ? text_.size() : eol;
    for (size_t i = ls_; i < eol_; ++i) {
      const auto c = static_cast<unsigned char>(text_[i]);
      if (c < 0x20 || c > 0x7e) return false;
    }
    content_ = ls_;
    while (content_ < eol_ && text_[content_] == ' ') ++content_;
    indent_ = static_cast<int>(content_ - ls_);
    blank_ = ls_ < text_.size() && (content_ == eol_ || text_[content_] == '#');
    marker_ = ls_ < text_.size() && IsDocumentMarkerLine(text_, ls_);
    return true;
  }

  bool NextLine() {
    ls_ = eol_ < text_.size() ? eol_ + 1 : text_.size();
    ++lineno_;
    return LoadLine();
  }

  bool SkipBlankLines() {
    while (blank_) {
      if (!NextLine()) return false;
    }
    return true;
  }

  // Past the current line to the next one with content.
  bool NextContentLine() { return NextLine() && SkipBlankLines(); }

  bool AtEof() const { return ls_ >= text_.size(); }
  bool AtDocumentEnd() const { return AtEof() || marker_; }

  bool IsSequenceEntry(size_t p) const {
    return text_[p] == '-' && (p + 1 == eol_ || text_[p + 1] == ' ');
  }

  // A plain key followed by ':' and a space or the end of the line.
  bool IsKey(size_t p, size_t* end = nullptr) const {
    if (p >= eol_ || !IsAlnum(text_[p])) return false;
    size_t q = p + 1;
    while (q < eol_ && IsKeyChar(text_[q])) ++q;
    if (q == eol_ || text_[q] != ':' || (q + 1 < eol_ && text_[q + 1] != ' ')) return false;
    if (end != nullptr) *end = q;
    return true;
  }

  bool Enter() {
    ++depth_;
    return depth_ < limits_.max_depth;
  }

  // A block map whose first key is at `at`, column `col` (0-based), on the
  // current line. Returns at the first line outside it.
  bool ParseMap(int col, size_t at, YamlNode** out) {
    if (!Enter()) return false;
    YamlNode& map = New(YamlNode::Type::kMap, lineno_, col + 1);
    while (true) {
      size_t key_end = 0;
      if (!IsKey(at, &key_end) || map.entries.size() >= kMaxKeysPerMap) return false;
      const absl::string_view key = text_.substr(at, key_end - at);
      if (IsNullWord(key)) return false;  // a null key: yaml-cpp's message
      for (const auto& entry : map.entries) {
        if (entry.first->value == key) return false;  // duplicate: yaml-cpp's message
      }
      YamlNode& k = New(YamlNode::Type::kScalar, lineno_, col + 1);
      k.value.assign(key.data(), key.size());
      size_t p = key_end + 1;
      while (p < eol_ && text_[p] == ' ') ++p;
      YamlNode* value = nullptr;
      if (p == eol_ || text_[p] == '#') {
        // The value is on the lines below, or absent.
        if (!NextContentLine()) return false;
        const bool more = !AtDocumentEnd();
        if (more && indent_ > col) {
          if (!(IsSequenceEntry(content_) ? ParseSequence(indent_, &value)
                                          : ParseMap(indent_, content_, &value))) {
            return false;
          }
        } else if (more && indent_ == col && IsSequenceEntry(content_)) {
          if (!ParseSequence(indent_, &value)) return false;
        } else {
          value = &New(YamlNode::Type::kNull, k.line, k.column);
        }
      } else if (!ParseScalar(p, &k, &value) || (!AtDocumentEnd() && indent_ > col)) {
        return false;  // a scalar continued on the next line
      }
      map.entries.emplace_back(&k, value);
      if (AtDocumentEnd() || indent_ < col) break;
      if (indent_ > col) return false;
      at = content_;
    }
    --depth_;
    *out = &map;
    return true;
  }

  // A block sequence whose first "- " is at column `col` of the current line.
  bool ParseSequence(int col, YamlNode** out) {
    if (!Enter()) return false;
    YamlNode& seq = New(YamlNode::Type::kSequence, lineno_, col + 1);
    while (true) {
      size_t p = content_ + 1;
      while (p < eol_ && text_[p] == ' ') ++p;
      // "-" alone or "- - x": a null item, a block below, a nested list.
      if (p == eol_ || text_[p] == '#' || text_[p] == '-') return false;
      YamlNode* item = nullptr;
      if (IsKey(p)) {
        if (!ParseMap(static_cast<int>(p - ls_), p, &item)) return false;
      } else if (!ParseScalar(p, nullptr, &item) || (!AtDocumentEnd() && indent_ > col)) {
        return false;
      }
      seq.items.push_back(item);
      if (AtDocumentEnd() || indent_ < col) break;
      if (indent_ > col) return false;
      if (!IsSequenceEntry(content_)) break;  // the next key of a map at this column
    }
    --depth_;
    *out = &seq;
    return true;
  }

  // A one-line scalar at `p`, then only spaces or a comment; moves to the
  // next content line. A null word in a map takes the key's position, as
  // TreeBuilder gives it.
  bool ParseScalar(size_t p, const YamlNode* key, YamlNode** out) {
    const char c = text_[p];
    const int column = static_cast<int>(p - ls_) + 1;
    size_t end = 0;
    if (c == '"' || c == '\'') {
      size_t q = p + 1;
      while (q < eol_ && text_[q] != c) {
        if (c == '"' && text_[q] == '\\') return false;  // escapes
        ++q;
      }
      if (q == eol_) return false;                                          // continues below
      if (c == '\'' && q + 1 < eol_ && text_[q + 1] == '\'') return false;  // '' escape
      YamlNode& n = New(YamlNode::Type::kScalar, lineno_, column);
      n.is_string = true;
      n.value.assign(text_.data() + p + 1, q - p - 1);
      *out = &n;
      end = q + 1;
    } else {
      if (!IsAlnum(c)) return false;
      size_t q = p + 1;
      while (q < eol_ && (IsPlainChar(text_[q]) ||
                          (text_[q] == ':' && q + 1 < eol_ && IsPlainChar(text_[q + 1])))) {
        ++q;
      }
      const absl::string_view word = text_.substr(p, q - p);
      if (IsNullWord(word)) {
        if (key == nullptr) return false;
        *out = &New(YamlNode::Type::kNull, key->line, key->column);
      } else {
        YamlNode& n = New(YamlNode::Type::kScalar, lineno_, column);
        n.value.assign(word.data(), word.size());
        *out = &n;
      }
      end = q;
    }
    size_t r = end;
    while (r < eol_ && text_[r] == ' ') ++r;
    if (r < eol_ && (text_[r] != '#' || r == end)) return false;
    return NextContentLine();
  }

  const absl::string_view text_;
  const YamlLimits& limits_;
  YamlNodeArena& arena_;
  size_t nodes_ = 0;
  int depth_ = 0;
  // The current line: its start, end ('\n' or the end of the text), first
  // non-space byte and 1-based number.
  size_t ls_ = 0;
  size_t eol_ = 0;
  size_t content_ = 0;
  int indent_ = 0;
  int lineno_ = 0;
  bool blank_ = false;   // only spaces or a comment
  bool marker_ = false;  // "---"
};

}  // namespace

bool IsDocumentMarkerLine(absl::string_view text, size_t pos) {
  if (text.size() < pos + 3 || text.compare(pos, 3, "---") != 0) return false;
  size_t p = pos + 3;
  while (p < text.size() && text[p] == ' ') ++p;
  return p == text.size() || text[p] == '\n';
}

BlockResult ParseBlockDocument(absl::string_view text, size_t pos, int line,
                               const YamlLimits& limits, size_t documents, YamlNodeArena& arena,
                               BlockDocument* out) {
  return BlockParser(text, limits, arena).Document(pos, line, documents, out);
}

}  // namespace ferry::api::yaml_internal
