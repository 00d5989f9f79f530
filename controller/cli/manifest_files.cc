#include "controller/cli/manifest_files.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <system_error>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "api/lib/files.h"
#include "api/lib/validation.h"
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

}  // namespace

absl::Status PointAtManifest(const std::vector<api::ManifestObject>& objects,
                             const absl::Status& status) {
  const absl::string_view message = status.message();
  const size_t ref_end = message.find(": ");
  if (ref_end == absl::string_view::npos) return status;
  const absl::string_view ref = message.substr(0, ref_end);
  const api::ManifestObject* found = nullptr;
  for (const api::ManifestObject& m : objects) {
    if (ObjectRef(m.object) == ref) {
      found = &m;
      break;
    }
  }
  if (found == nullptr) return status;
  api::SourcePosition at{found->line, 1};
  const absl::string_view rest = message.substr(ref_end + 2);
  absl::string_view path = rest.substr(0, rest.find(": "));
  // No field named: the document's first line (its root map).
  if (path.size() == rest.size() || !IsFieldPath(path)) path = "";
  if (found->text != nullptr) {
    if (std::optional<api::SourcePosition> p =
            api::LocateField(*found->text, found->object, path)) {
      at = *p;
    }
  }
  return absl::Status(status.code(),
                      absl::StrCat(found->source, ":", at.line, ":", at.column, ": ", message));
}

absl::StatusOr<std::vector<api::ManifestObject>> LoadManifests(
    const std::vector<std::string>& paths, std::istream& stdin_stream) {
  std::vector<Input> inputs;
  bool stdin_used = false;
  for (const std::string& path : paths) {
    if (absl::Status s = Collect(path, stdin_stream, stdin_used, inputs); !s.ok()) return s;
  }
  std::vector<api::ManifestObject> objects;
  std::map<std::string, std::string> seen;  // "ipforward/web" -> "file:line"
  for (const Input& input : inputs) {
    absl::StatusOr<std::vector<api::ManifestObject>> decoded =
        api::DecodeManifests(input.text, input.source);
    if (!decoded.ok()) return decoded.status();
    for (api::ManifestObject& m : *decoded) {
      const std::string where = absl::StrCat(m.source, ":", m.line);
      if (absl::Status s = api::ValidateObject(m.object); !s.ok()) {
        return absl::InvalidArgumentError(absl::StrCat(where, ": ", s.message()));
      }
      const std::string ref = ObjectRef(m.object);
      auto [it, inserted] = seen.emplace(ref, where);
      if (!inserted) {
        return absl::InvalidArgumentError(
            absl::StrCat(where, ": ", ref, " is also defined at ", it->second));
      }
      objects.push_back(std::move(m));
    }
  }
  if (objects.empty())
    return absl::InvalidArgumentError("no objects passed (the manifests are empty)");
  return objects;
}

}  // namespace ferry::cli
