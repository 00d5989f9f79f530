#include "controller/cli/manifest_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>
#include <system_error>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/functional/function_ref.h"
#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/files.h"
#include "api/lib/manifest.h"
#include "api/lib/objects.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

namespace fs = std::filesystem;

struct Input {
  std::string source;  // as printed in messages
  std::string text;
};

// Expands one -f argument into its inputs.
absl::Status Collect(const std::string& path, std::istream& stdin_stream, bool& stdin_used,
                     std::vector<Input>& inputs) {
  if (path == "-") {
    if (stdin_used) return absl::InvalidArgumentError("-f -: stdin can be read only once");
    stdin_used = true;
    inputs.push_back({"-", std::string(std::istreambuf_iterator<char>(stdin_stream), {})});
    return absl::OkStatus();
  }
  std::error_code ec;
  const fs::file_status status = fs::status(path, ec);
  if (ec || !fs::exists(status)) {
    return absl::NotFoundError(absl::StrCat("the path \"", path, "\" does not exist"));
  }
  if (!fs::is_directory(status)) {
    absl::StatusOr<std::string> text = api::ReadFileToString(path);
    if (!text.ok()) return text.status();
    inputs.push_back({path, *std::move(text)});
    return absl::OkStatus();
  }
  std::vector<fs::path> files;
  for (const fs::directory_entry& entry : fs::directory_iterator(path, ec)) {
    const std::string ext = entry.path().extension().string();
    if ((ext == ".yaml" || ext == ".yml") && entry.is_regular_file(ec)) {
      files.push_back(entry.path());
    }
  }
  if (ec) return absl::NotFoundError(absl::StrCat("cannot list ", path, ": ", ec.message()));
  std::sort(files.begin(), files.end());
  for (const fs::path& file : files) {
    absl::StatusOr<std::string> text = api::ReadFileToString(file.string());
    if (!text.ok()) return text.status();
    inputs.push_back({file.string(), *std::move(text)});
  }
  return absl::OkStatus();
}

// "spec.ports[0].port", "metadata.resourceVersion": what the controller
// puts after an object's reference when it blames one field.
bool IsFieldPath(absl::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '[' && c != ']') {
      return false;
    }
  }
  return absl::ascii_isalpha(static_cast<unsigned char>(s[0]));
}

ferry::v1::Object Skeleton(ferry::v1::ResourceKind kind, const std::string& name) {
  ferry::v1::Object object;
  if (kind == ferry::v1::NODE) {
    object.mutable_node()->mutable_metadata()->set_name(name);
  } else {
    object.mutable_ip_forward()->mutable_metadata()->set_name(name);
  }
  return object;
}

}  // namespace

// Fills a ManifestIndex from the inputs, checking names across them.
class ManifestReader {
 public:
  absl::Status Read(std::vector<Input> inputs,
                    absl::FunctionRef<void(const ferry::v1::Object&)> visit) {
    for (Input& input : inputs) {
      index_.inputs_.push_back({std::move(input.source), std::move(input.text)});
      const size_t input_index = index_.inputs_.size() - 1;
      const std::string& source = index_.inputs_.back().source;
      const absl::string_view text = index_.inputs_.back().text;
      // A name already used by an earlier input is reported only once this
      // input decodes, as its own errors come first.
      absl::Status clash;
      absl::Status s = api::DecodeManifestStream(text, source, [&](const api::DecodedManifest& m) {
        const ferry::v1::ResourceKind kind = KindOf(m.object);
        const std::string& name = MetaOf(m.object).name();
        index_.entries_.push_back({kind, name, input_index, m.line, m.offset});
        auto [it, inserted] =
            seen_.try_emplace(std::make_pair(kind, name), index_.entries_.size() - 1);
        if (!inserted && clash.ok()) {
          const ManifestIndex::Entry& first = index_.entries_[it->second];
          clash = absl::InvalidArgumentError(
              absl::StrCat(source, ":", m.line, ": ", ObjectRef(kind, name), " is also defined at ",
                           index_.inputs_[first.input].source, ":", first.line));
        }
        visit(m.object);
      });
      if (!s.ok()) return s;
      if (!clash.ok()) return clash;
    }
    if (index_.entries_.empty()) {
      return absl::InvalidArgumentError("no objects passed (the manifests are empty)");
    }
    return absl::OkStatus();
  }

  ManifestIndex Release() && { return std::move(index_); }

 private:
  ManifestIndex index_;
  absl::flat_hash_map<std::pair<ferry::v1::ResourceKind, std::string>, size_t> seen_;
};

absl::Status ManifestIndex::PointAt(const absl::Status& status) const {
  const absl::string_view message = status.message();
  const size_t ref_end = message.find(": ");
  if (ref_end == absl::string_view::npos) return status;
  const absl::string_view ref = message.substr(0, ref_end);
  const auto found = std::find_if(entries_.begin(), entries_.end(),
                                  [&](const Entry& e) { return ObjectRef(e.kind, e.name) == ref; });
  if (found == entries_.end()) return status;
  const Input& in = inputs_[found->input];
  api::SourcePosition at{found->line, 1};
  const absl::string_view rest = message.substr(ref_end + 2);
  absl::string_view path = rest.substr(0, rest.find(": "));
  // No field named: the document's first line (its root map).
  if (path.size() == rest.size() || !IsFieldPath(path)) path = "";
  // From the start of its document's line, the input has that document first.
  if (std::optional<api::SourcePosition> p =
          api::LocateField(absl::string_view(in.text).substr(found->offset),
                           Skeleton(found->kind, found->name), path)) {
    at = api::SourcePosition{p->line + found->line - 1, p->column};
  }
  return absl::Status(status.code(),
                      absl::StrCat(in.source, ":", at.line, ":", at.column, ": ", message));
}

absl::StatusOr<ManifestIndex> ReadManifests(
    const std::vector<std::string>& paths, std::istream& stdin_stream,
    absl::FunctionRef<void(const ferry::v1::Object&)> visit) {
  std::vector<Input> inputs;
  bool stdin_used = false;
  for (const std::string& path : paths) {
    if (absl::Status s = Collect(path, stdin_stream, stdin_used, inputs); !s.ok()) return s;
  }
  ManifestReader reader;
  if (absl::Status s = reader.Read(std::move(inputs), visit); !s.ok()) return s;
  return std::move(reader).Release();
}

}  // namespace ferry::cli
