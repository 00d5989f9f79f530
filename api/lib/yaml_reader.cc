#include "api/lib/yaml_reader.h"

#include <utility>

#include "absl/status/status.h"
#include "api/lib/yaml_block_parser.h"
#include "api/lib/yaml_tree_builder.h"
#include "yaml-cpp/parser.h"

namespace ferry::api {
namespace yaml_internal {

// yaml-cpp reading the stream from the start of a document the block
// parser declined.
class YamlCppRun {
 public:
  YamlCppRun(absl::string_view text, size_t pos, int line, YamlNodeArena& arena,
             const YamlLimits& limits)
      : in_(text.substr(pos)),
        parser_(in_),
        builder_(arena, limits, text, progress_, InputOffset{line - 1, static_cast<int64_t>(pos)},
                 /*hand_back=*/true) {}

  StreamProgress progress_;
  ViewStream in_;
  YAML::Parser parser_;
  TreeBuilder builder_;
};

}  // namespace yaml_internal

using yaml_internal::BlockDocument;
using yaml_internal::BlockResult;
using yaml_internal::TreeBuilder;

YamlReader::YamlReader(absl::string_view yaml, absl::string_view source, const YamlLimits& limits)
    : text_(yaml), source_(source), limits_(limits) {}

YamlReader::~YamlReader() = default;

absl::StatusOr<const YamlDocument*> YamlReader::Next() {
  if (!started_) {
    started_ = true;
    if (absl::Status s = yaml_internal::CheckInput(text_, source_, limits_); !s.ok()) {
      done_ = true;
      return s;
    }
  }
  if (done_) return nullptr;
  arena_.Reset();
  while (true) {
    if (yaml_cpp_ == nullptr) {
      BlockDocument block;
      switch (yaml_internal::ParseBlockDocument(text_, pos_, line_, limits_, documents_, arena_,
                                                &block)) {
        case BlockResult::kEnd:
          done_ = true;
          return nullptr;
        case BlockResult::kDocument:
          ++documents_;
          last_document_pos_ = static_cast<int64_t>(block.start);
          pos_ = block.end;
          line_ = block.end_line;
          return Finish(block.document, block.start);
        case BlockResult::kDecline:
          arena_.Reset();
          yaml_cpp_ =
              std::make_unique<yaml_internal::YamlCppRun>(text_, pos_, line_, arena_, limits_);
          break;
      }
    }
    yaml_internal::YamlCppRun& run = *yaml_cpp_;
    run.progress_ = {documents_, last_document_pos_};
    absl::StatusOr<TreeBuilder::Step> step = run.builder_.Next(run.parser_, source_);
    documents_ = run.progress_.documents;
    last_document_pos_ = run.progress_.last_document_pos;
    if (!step.ok()) {
      done_ = true;
      return step.status();
    }
    switch (*step) {
      case TreeBuilder::Step::kDocument: {
        const YamlDocument& document = run.builder_.document();
        const size_t start = static_cast<size_t>(run.builder_.document_pos());
        return Finish(document, start);
      }
      case TreeBuilder::Step::kEnd:
        done_ = true;
        return nullptr;
      case TreeBuilder::Step::kHandBack:
        pos_ = static_cast<size_t>(run.builder_.hand_back_pos());
        line_ = run.builder_.hand_back_line();
        yaml_cpp_.reset();
        break;
    }
  }
}

absl::StatusOr<const YamlDocument*> YamlReader::Finish(const YamlDocument& document, size_t start) {
  document_ = document;
  const size_t newline = start == 0 ? absl::string_view::npos : text_.rfind('\n', start - 1);
  document_offset_ = newline == absl::string_view::npos ? 0 : newline + 1;
  return &document_;
}

}  // namespace ferry::api
