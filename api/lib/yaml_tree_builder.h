#ifndef FERRY_API_LIB_YAML_TREE_BUILDER_H_
#define FERRY_API_LIB_YAML_TREE_BUILDER_H_

// Internal to yaml_tree.cc and yaml_reader.cc: yaml-cpp's events to
// YamlNode trees, with every strict check and message of the YAML layer.
// ParseYamlStream runs it over a whole stream; YamlReader runs it from the
// start of any document the block parser hands over, so its marks are
// shifted by where that input starts.

#include <cstddef>
#include <cstdint>
#include <istream>
#include <streambuf>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/yaml_tree.h"
#include "yaml-cpp/eventhandler.h"
#include "yaml-cpp/mark.h"
#include "yaml-cpp/parser.h"

namespace ferry::api::yaml_internal {

// The checks on a whole input before any parsing: its size and UTF-8.
absl::Status CheckInput(absl::string_view yaml, absl::string_view source, const YamlLimits& limits);

// Counts that span every parser of one stream.
struct StreamProgress {
  size_t documents = 0;            // finished so far
  int64_t last_document_pos = -1;  // byte offset of the last document start
};

// Where a parser's input starts in the whole stream (always a line start).
struct InputOffset {
  int lines = 0;  // lines before it
  int64_t pos = 0;
};

// An istream over text it does not copy.
class ViewStream : public std::istream {
 public:
  explicit ViewStream(absl::string_view text);

 private:
  struct Buf : std::streambuf {
    explicit Buf(absl::string_view text);
  } buf_;
};

// A position in the whole stream, 1-based line and column.
struct StreamMark {
  int line;
  int column;
  int64_t pos;
};

class TreeBuilder : public YAML::EventHandler {
 public:
  // `input` is the whole stream; `offset` where the parser's input starts
  // in it. With `hand_back`, a later document that starts with a "---"
  // line is not parsed but reported by Step as kHandBack.
  TreeBuilder(YamlNodeArena& arena, const YamlLimits& limits, absl::string_view input,
              StreamProgress& progress, InputOffset offset, bool hand_back);

  enum class Step { kDocument, kEnd, kHandBack };
  // Parses the next document with `parser`; on kDocument it is document().
  // On kHandBack, hand_back_pos() is where the next document starts.
  absl::StatusOr<Step> Next(YAML::Parser& parser, absl::string_view source);
  const YamlDocument& document() const { return doc_; }
  // Byte offset in the whole stream where document() starts.
  int64_t document_pos() const { return doc_start_pos_; }
  int64_t hand_back_pos() const { return hand_back_pos_; }
  int hand_back_line() const { return hand_back_line_; }

  void OnDocumentStart(const YAML::Mark& mark) override;
  void OnDocumentEnd() override;
  void OnNull(const YAML::Mark& mark, YAML::anchor_t anchor) override;
  void OnAlias(const YAML::Mark& mark, YAML::anchor_t anchor) override;
  void OnScalar(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                const std::string& value) override;
  void OnSequenceStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                       YAML::EmitterStyle::value) override;
  void OnSequenceEnd() override { Close(); }
  void OnMapStart(const YAML::Mark& mark, const std::string& tag, YAML::anchor_t anchor,
                  YAML::EmitterStyle::value) override;
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

  StreamMark Abs(const YAML::Mark& mark) const;
  YamlNode& NewNode(YamlNode::Type type, const StreamMark& mark);
  void Register(YAML::anchor_t anchor, const YamlNode& n);
  void Open(YamlNode::Type type, const YAML::Mark& mark, YAML::anchor_t anchor);
  void Close();
  static std::string ChildPath(const Frame& parent);
  void Attach(const YamlNode& n);
  void AddKey(Frame& parent, const YamlNode& key);
  void CheckExtent(const StreamMark& mark, size_t extra);
  void CheckProgress(const StreamMark& mark);
  void CheckExpanded(const StreamMark& mark);

  YamlNodeArena& arena_;
  const YamlLimits& limits_;
  const absl::string_view input_;
  StreamProgress& progress_;
  const InputOffset offset_;
  const bool hand_back_;
  size_t handled_ = 0;  // documents this builder finished
  int64_t hand_back_pos_ = -1;
  int hand_back_line_ = 0;
  YamlDocument doc_;
  int64_t doc_start_pos_ = 0;
  size_t expanded_ = 0;
  std::vector<Frame> stack_;
  std::vector<YAML::anchor_t> open_anchors_;
  absl::flat_hash_map<YAML::anchor_t, Anchor> anchors_;
};

}  // namespace ferry::api::yaml_internal

#endif  // FERRY_API_LIB_YAML_TREE_BUILDER_H_
