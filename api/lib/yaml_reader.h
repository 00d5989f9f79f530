#ifndef FERRY_API_LIB_YAML_READER_H_
#define FERRY_API_LIB_YAML_READER_H_

// Reads a multi-document YAML stream one document at a time, so a large
// manifest is never held as one tree.
//
// Documents in the block style that manifests use are read by a fast
// parser (yaml_block_parser.h); any other document, and any error, goes to
// yaml-cpp (yaml_tree_builder.h), which then reads on until the next
// "---" line. The trees, positions and errors are those ParseYamlStream
// gives for the same stream.

#include <cstddef>
#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "api/lib/yaml_tree.h"

namespace ferry::api {

namespace yaml_internal {
class YamlCppRun;
}  // namespace yaml_internal

class YamlReader {
 public:
  // `yaml` must outlive the reader.
  YamlReader(absl::string_view yaml, absl::string_view source, const YamlLimits& limits = {});
  ~YamlReader();
  YamlReader(const YamlReader&) = delete;
  YamlReader& operator=(const YamlReader&) = delete;

  // The next document, or nullptr after the last one. Its nodes are valid
  // until the next call. The first error ends the stream; errors are those
  // of ParseYamlStream, in stream order.
  absl::StatusOr<const YamlDocument*> Next();

  // Byte offset of the start of the line where the last document starts:
  // a reader given the stream from there reads that document first.
  size_t document_offset() const { return document_offset_; }

 private:
  absl::StatusOr<const YamlDocument*> Finish(const YamlDocument& document, size_t start);

  const absl::string_view text_;
  const std::string source_;
  const YamlLimits limits_;
  YamlNodeArena arena_;
  size_t documents_ = 0;
  int64_t last_document_pos_ = 0;
  bool started_ = false;
  bool done_ = false;
  // Where the block parser goes on: the start of the stream or of a "---"
  // line, and its 1-based line number.
  size_t pos_ = 0;
  int line_ = 1;
  std::unique_ptr<yaml_internal::YamlCppRun> yaml_cpp_;  // while yaml-cpp reads
  YamlDocument document_;
  size_t document_offset_ = 0;
};

}  // namespace ferry::api

#endif  // FERRY_API_LIB_YAML_READER_H_
