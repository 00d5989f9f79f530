#include "controller/cli/runner.h"

#include <memory>
#include <optional>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "controller/cli/channel.h"
#include "controller/cli/client_config.h"
#include "controller/cli/completion.h"
#include "controller/cli/describe.h"
#include "controller/cli/diff.h"
#include "controller/cli/edit.h"
#include "controller/cli/events.h"
#include "controller/cli/explain.h"
#include "controller/cli/get.h"
#include "controller/cli/kinds.h"
#include "controller/cli/label.h"
#include "controller/cli/manifest_files.h"
#include "controller/cli/printers.h"
#include "controller/cli/rpc_status.h"
#include "controller/cli/security_commands.h"
#include "controller/cli/wait.h"

namespace ferry::cli {
namespace {

int Fail(Io io, const absl::Status& status) { return FailWith(io.err, status); }

int RunApply(const Command& command, ResourceClient& client, Io io) {
  // Each object is sent as it is decoded, while the rest is read; only
  // where it was defined is kept, for errors the controller finds.
  absl::StatusOr<ManifestIndex> index = absl::InternalError("manifests were not read");
  absl::StatusOr<ferry::v1::ApplyResponse> response =
      client.ApplyStreamed(command.dry_run, [&](const ResourceClient::ObjectSink& add) {
        index = ReadManifests(command.files, io.in, add);
        return index.status();
      });
  if (!index.ok()) return Fail(io, index.status());
  if (!response.ok()) return Fail(io, index->PointAt(response.status()));
  for (const ferry::v1::ApplyResult& result : response->results()) {
    io.out << ApplyResultLine(result, command.dry_run) << "\n";
  }
  return kExitOk;
}

// The events of every kind, for describe's Events section. A server that
// cannot list them still gets its objects described.
std::vector<ferry::v1::Object> ListEvents(ResourceClient& client, Io io) {
  std::vector<ferry::v1::Object> events;
  absl::Status s = client.List(ferry::v1::EVENT, "", [&](const ferry::v1::Object& object) {
    if (object.has_event()) events.push_back(object);
  });
  if (!s.ok()) io.err << "warning: cannot list events: " << s.message() << "\n";
  return events;
}

std::string Describe(const ferry::v1::Object& object, const std::vector<ferry::v1::Object>& events,
                     absl::Time now) {
  const EventTarget target{KindOf(object), MetaOf(object).name()};
  return DescribeObject(object, RecentEvents(events, target), now);
}

int RunDescribe(const Command& command, ResourceClient& client, Io io) {
  const absl::Time now = absl::Now();
  if (!command.names.empty()) {
    absl::StatusOr<ferry::v1::Object> object = client.Get(command.kind, command.names[0]);
    if (absl::IsNotFound(object.status())) {
      PrintError(io.err, NotFoundMessage(command.kind, command.names[0]));
      return kExitFailure;
    }
    if (!object.ok()) return Fail(io, object.status());
    io.out << Describe(*object, ListEvents(client, io), now);
    return kExitOk;
  }
  std::vector<ferry::v1::Object> objects;
  absl::Status status = client.List(command.kind, command.label_selector,
                                    [&](const ferry::v1::Object& o) { objects.push_back(o); });
  if (!status.ok()) return Fail(io, status);
  if (objects.empty()) {
    io.err << "No resources found.\n";
    return kExitOk;
  }
  const std::vector<ferry::v1::Object> events = ListEvents(client, io);
  for (size_t i = 0; i < objects.size(); ++i) {
    io.out << (i == 0 ? "" : "\n") << Describe(objects[i], events, now) << std::flush;
  }
  return kExitOk;
}

struct DeleteTarget {
  ferry::v1::ResourceKind kind;
  std::string name;
};

int RunDelete(const Command& command, ResourceClient& client, Io io) {
  std::vector<DeleteTarget> targets;
  const bool from_files = !command.files.empty();
  if (from_files) {
    absl::StatusOr<ManifestIndex> index =
        ReadManifests(command.files, io.in, [&](const ferry::v1::Object& object) {
          targets.push_back({KindOf(object), MetaOf(object).name()});
        });
    if (!index.ok()) return Fail(io, index.status());
  } else if (command.all || !command.label_selector.empty()) {
    // Like kubectl: the objects listed now (by the selector, if any), each
    // deleted by name; "No resources found" when there are none.
    absl::Status listed =
        client.List(command.kind, command.label_selector, [&](const ferry::v1::Object& object) {
          targets.push_back({command.kind, MetaOf(object).name()});
        });
    if (!listed.ok()) return Fail(io, listed);
    if (targets.empty()) {
      io.err << "No resources found.\n";
      return kExitOk;
    }
  } else {
    for (const std::string& name : command.names) targets.push_back({command.kind, name});
  }
  // Like kubectl: a missing object does not stop the others, but fails the
  // command unless --ignore-not-found.
  int exit_code = kExitOk;
  for (const DeleteTarget& target : targets) {
    absl::StatusOr<ferry::v1::DeleteResponse> response = client.Delete(target.kind, target.name);
    if (absl::IsNotFound(response.status())) {
      // --all / -l: gone since the list is what was asked for.
      if (command.ignore_not_found || command.all || !command.label_selector.empty()) continue;
      if (from_files) {
        io.err << ObjectRef(target.kind, target.name) << " not found\n";
      } else {
        PrintError(io.err, NotFoundMessage(target.kind, target.name));
      }
      exit_code = kExitFailure;
      continue;
    }
    if (!response.ok()) return Fail(io, response.status());
    io.out << ObjectRef(target.kind, target.name) << " deleted\n";
  }
  return exit_code;
}

// `version` with a server to ask (--client and --version are RunLocally's).
int RunVersion(ResourceClient& client, Io io) {
  io.out << "Client Version: " << kFerryctlVersion << "\n";
  absl::StatusOr<std::string> server = client.Version();
  if (!server.ok()) return Fail(io, server.status());
  io.out << "Server Version: " << *server << "\n";
  return kExitOk;
}

// The commands that need no server: help, ferryctl --version, version
// --client, explain and completion. Nullopt for the others.
std::optional<int> RunLocally(const Command& command, Io io) {
  switch (command.verb) {
    case Verb::kHelp:
      io.out << UsageText();
      return kExitOk;
    case Verb::kVersion:
      if (command.version_flag) {
        io.out << "ferryctl " << kFerryctlVersion << "\n";
        return kExitOk;
      }
      if (!command.client_only) return std::nullopt;
      io.out << "Client Version: " << kFerryctlVersion << "\n";
      return kExitOk;
    case Verb::kExplain: {
      absl::StatusOr<std::string> text = Explain(command.kind, command.explain_path);
      if (!text.ok()) return Fail(io, text.status());
      io.out << *text;
      return kExitOk;
    }
    case Verb::kCompletion:
      io.out << CompletionScript(command.shell);
      return kExitOk;
    default:
      return std::nullopt;
  }
}

}  // namespace

void PrintError(std::ostream& err, absl::string_view message) {
  err << "error: " << absl::StrReplaceAll(message, {{"\r\n", "; "}, {"\n", "; "}}) << "\n";
}

int FailWith(std::ostream& err, const absl::Status& status) {
  if (std::optional<std::string> refusal = ServerRefusalLine(status)) {
    err << absl::StrReplaceAll(*refusal, {{"\r\n", "; "}, {"\n", "; "}}) << "\n";
  } else {
    PrintError(err, status.message());
  }
  return kExitFailure;
}

std::string NotFoundMessage(ferry::v1::ResourceKind kind, absl::string_view name) {
  return absl::StrCat(KindLower(kind), " \"", name, "\" not found");
}

int RunCommand(const Command& command, ResourceClient& client, Io io) {
  switch (command.verb) {
    case Verb::kApply:
      return RunApply(command, client, io);
    case Verb::kDiff:
      return RunDiff(command, client, io);
    case Verb::kGet:
      return RunGet(command, client, io);
    case Verb::kDescribe:
      return RunDescribe(command, client, io);
    case Verb::kDelete:
      return RunDelete(command, client, io);
    case Verb::kWait:
      return RunWait(command, client, io);
    case Verb::kLabel:
      return RunLabel(command, client, io);
    case Verb::kEdit:
      return RunEdit(command, client, io);
    case Verb::kVersion:
      if (std::optional<int> code = RunLocally(command, io)) return *code;
      return RunVersion(client, io);
    case Verb::kHelp:
    case Verb::kExplain:
    case Verb::kCompletion:
      return *RunLocally(command, io);
    case Verb::kTokenCreate:
    case Verb::kCredentialsCreate:
    case Verb::kCredentialsRevoke:
      PrintError(io.err, "token and credentials commands run with RunSecurityCommand");
      return kExitFailure;
  }
  return kExitFailure;
}

int FerryctlMain(const std::vector<std::string>& args, const Environment& env, Io io) {
  absl::StatusOr<Command> command = ParseCommandLine(args, env.server);
  if (!command.ok()) {
    PrintError(io.err, command.status().message());
    return kExitUsage;
  }
  if (std::optional<int> code = RunLocally(*command, io)) return *code;
  if (!env.editor.empty()) command->editor = env.editor;
  absl::StatusOr<std::optional<ClientConfig>> config =
      LoadClientConfig(command->config_path, env.config, env.home);
  if (!config.ok()) return Fail(io, config.status());
  const ClientConfig* client_config = config->has_value() ? &**config : nullptr;
  if (client_config != nullptr && client_config->key_readable_by_others) {
    io.err << "warning: " << client_config->source
           << " holds a private key and group or others may read it; chmod 600 "
           << client_config->source << "\n";
  }
  const std::string server = ResolveServer(*command, client_config);
  // Before the channel exists, so gRPC's threads inherit the signal mask.
  WatchCanceller interrupt;
  std::optional<InterruptWatcher> watcher;
  if (command->watch) {
    watcher.emplace(interrupt);
    io.interrupt = &interrupt;
  }
  absl::StatusOr<std::shared_ptr<grpc::Channel>> channel = MakeChannel(server, client_config);
  if (!channel.ok()) return Fail(io, channel.status());
  if (IsSecurityVerb(command->verb)) {
    SecurityClient client(*channel, server, command->request_timeout);
    return RunSecurityCommand(*command, client, io);
  }
  ResourceClient client(*channel, server, command->request_timeout);
  return RunCommand(*command, client, io);
}

}  // namespace ferry::cli
