#include "controller/cli/edit.h"

#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "api/lib/files.h"
#include "api/lib/manifest.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {
namespace {

constexpr char kHeader[] =
    "# Please edit the object below. Lines beginning with a '#' will be ignored,\n"
    "# and an empty file will abort the edit. If an error occurs while saving this file will be\n"
    "# reopened with the relevant failures.\n"
    "#\n";

// The text without its comment lines (the header, errors).
std::string WithoutComments(absl::string_view text) {
  std::string out;
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    if (absl::StartsWith(absl::StripLeadingAsciiWhitespace(line), "#")) continue;
    absl::StrAppend(&out, line, "\n");
  }
  while (absl::EndsWith(out, "\n\n")) out.pop_back();
  return out;
}

absl::Status WriteFile(const std::string& path, absl::string_view text) {
  std::ofstream file(path, std::ios::trunc);
  file << text;
  file.close();
  if (!file) return absl::InternalError(absl::StrCat("cannot write ", path));
  return absl::OkStatus();
}

// Single-quoted for /bin/sh.
std::string ShellQuote(absl::string_view s) {
  return absl::StrCat("'", absl::StrReplaceAll(s, {{"'", "'\\''"}}), "'");
}

absl::Status RunEditor(const std::string& editor, const std::string& path) {
  const std::string line = absl::StrCat(editor, " ", ShellQuote(path));
  const int status = std::system(line.c_str());
  if (status == -1)
    return absl::InternalError(absl::StrCat("cannot run the editor \"", editor, "\""));
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return absl::FailedPreconditionError(absl::StrCat(
        "the editor \"", editor, "\" failed (",
        WIFEXITED(status) ? absl::StrCat("exit status ", WEXITSTATUS(status)) : "killed",
        "); set $EDITOR (or $FERRY_EDITOR)"));
  }
  return absl::OkStatus();
}

// The edited object, or the error to show in the file.
absl::StatusOr<ferry::v1::Object> Decode(const std::string& text, const std::string& path,
                                         const ferry::v1::Object& original) {
  absl::StatusOr<std::vector<api::ManifestObject>> objects = api::DecodeManifests(text, path);
  if (!objects.ok()) return objects.status();
  if (objects->size() != 1) {
    return absl::InvalidArgumentError(
        absl::StrCat("the file must hold exactly one object, it holds ", objects->size()));
  }
  ferry::v1::Object object = (*objects)[0].object;
  if (KindOf(object) != KindOf(original)) {
    return absl::InvalidArgumentError(
        absl::StrCat("kind: cannot be changed (was ", KindLower(KindOf(original)), ")"));
  }
  if (MetaOf(object).name() != MetaOf(original).name()) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata.name: cannot be changed (was \"", MetaOf(original).name(), "\")"));
  }
  const std::string& version = MetaOf(original).resource_version();
  ferry::v1::ObjectMeta* meta = object.has_node() ? object.mutable_node()->mutable_metadata()
                                                  : object.mutable_ip_forward()->mutable_metadata();
  if (!meta->resource_version().empty() && meta->resource_version() != version) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata.resourceVersion: cannot be changed (was \"", version, "\")"));
  }
  // The precondition: a write since the read fails this one.
  meta->set_resource_version(version);
  return object;
}

std::string ErrorComments(const absl::Status& status) {
  std::string out = "# The edited file had an error:\n";
  for (absl::string_view line : absl::StrSplit(status.message(), '\n')) {
    absl::StrAppend(&out, "# ", line, "\n");
  }
  return absl::StrCat(out, "#\n");
}

class Editor {
 public:
  Editor(const Command& command, ResourceClient& client, Io io)
      : command_(command), client_(client), io_(io) {}

  ~Editor() {
    if (!path_.empty() && !keep_) ::unlink(path_.c_str());
  }

  int Run() {
    const std::string& name = command_.names[0];
    absl::StatusOr<ferry::v1::Object> original = client_.Get(command_.kind, name);
    if (absl::IsNotFound(original.status())) {
      return FailWith(io_.err, absl::NotFoundError(NotFoundMessage(command_.kind, name)));
    }
    if (!original.ok()) return FailWith(io_.err, original.status());
    const std::string ref = ObjectRef(command_.kind, name);
    const std::string original_text = WithoutComments(api::EncodeYaml(*original));

    char path[] = "/tmp/ferryctl-edit-XXXXXX.yaml";
    const int fd = ::mkstemps(path, 5);
    if (fd < 0) return FailWith(io_.err, absl::InternalError("cannot create a temporary file"));
    ::close(fd);
    path_ = path;
    std::string contents = absl::StrCat(kHeader, original_text);
    std::string last_failed;  // the text that last failed, comments stripped
    while (true) {
      if (absl::Status s = WriteFile(path_, contents); !s.ok()) return FailWith(io_.err, s);
      if (absl::Status s = RunEditor(command_.editor, path_); !s.ok()) {
        return FailWith(io_.err, s);
      }
      absl::StatusOr<std::string> edited = api::ReadFileToString(path_);
      if (!edited.ok()) return FailWith(io_.err, edited.status());
      const std::string text = WithoutComments(*edited);
      if (absl::StripAsciiWhitespace(text).empty() || text == original_text) {
        io_.out << "Edit cancelled, no changes made.\n";
        return kExitOk;
      }
      if (!last_failed.empty() && text == last_failed) {
        keep_ = true;
        return FailWith(io_.err, absl::InvalidArgumentError(absl::StrCat(
                                     "edit cancelled, no valid changes were saved; your changes "
                                     "are in ",
                                     path_)));
      }
      absl::StatusOr<ferry::v1::Object> object = Decode(text, path_, *original);
      absl::Status applied = object.status();
      if (object.ok()) applied = Apply(*object);
      if (applied.ok()) {
        io_.out << ref << " edited\n";
        return kExitOk;
      }
      if (!absl::IsInvalidArgument(applied)) {
        keep_ = true;  // the file still holds `*edited`, as the editor saved it
        FailWith(io_.err, applied);
        io_.err << "your changes are in " << path_ << "\n";
        return kExitFailure;
      }
      last_failed = text;
      contents = absl::StrCat(ErrorComments(applied), kHeader, text);
    }
  }

 private:
  absl::Status Apply(const ferry::v1::Object& object) {
    return client_
        .ApplyStreamed(false,
                       [&](const ResourceClient::ObjectSink& add) {
                         add(object);
                         return absl::OkStatus();
                       })
        .status();
  }

  const Command& command_;
  ResourceClient& client_;
  Io io_;
  std::string path_;
  bool keep_ = false;
};

}  // namespace

int RunEdit(const Command& command, ResourceClient& client, Io io) {
  return Editor(command, client, io).Run();
}

}  // namespace ferry::cli
