#include "controller/cli/label.h"

#include "absl/strings/str_cat.h"
#include "controller/cli/fields.h"
#include "controller/cli/kinds.h"

namespace ferry::cli {

absl::StatusOr<bool> ChangeLabels(const std::vector<Command::LabelChange>& changes, bool overwrite,
                                  ferry::v1::Object* object) {
  google::protobuf::Map<std::string, std::string>* labels =
      object->has_node() ? object->mutable_node()->mutable_spec()->mutable_labels()
                         : object->mutable_ip_forward()->mutable_metadata()->mutable_labels();
  bool changed = false;
  for (const Command::LabelChange& change : changes) {
    auto it = labels->find(change.key);
    if (!change.value.has_value()) {
      if (it != labels->end()) {
        labels->erase(it);
        changed = true;
      } else if (object->has_node() &&
                 object->node().status().agent_labels().contains(change.key)) {
        return absl::FailedPreconditionError(absl::StrCat(
            "label \"", change.key, "\" is the agent's (its --labels flag): change it there"));
      } else {
        return absl::NotFoundError(absl::StrCat("label \"", change.key, "\" not found"));
      }
      continue;
    }
    if (it != labels->end() && it->second == *change.value) continue;
    if (it != labels->end() && !overwrite) {
      return absl::FailedPreconditionError(absl::StrCat("label \"", change.key,
                                                        "\" already has the value \"", it->second,
                                                        "\"; use --overwrite to change it"));
    }
    (*labels)[change.key] = *change.value;
    changed = true;
  }
  return changed;
}

int RunLabel(const Command& command, ResourceClient& client, Io io) {
  const std::string& name = command.names[0];
  absl::StatusOr<ferry::v1::Object> object = client.Get(command.kind, name);
  if (absl::IsNotFound(object.status())) {
    return FailWith(io.err, absl::NotFoundError(NotFoundMessage(command.kind, name)));
  }
  if (!object.ok()) return FailWith(io.err, object.status());
  absl::StatusOr<bool> changed = ChangeLabels(command.label_changes, command.overwrite, &*object);
  if (!changed.ok()) {
    return FailWith(io.err, absl::Status(changed.status().code(),
                                         absl::StrCat(KindLower(command.kind), "/", name, ": ",
                                                      changed.status().message())));
  }
  const std::string ref = absl::StrCat(KindLower(command.kind), "/", name);
  if (!*changed) {
    io.out << ref << " not labeled\n";
    return kExitOk;
  }
  // Read back with its resourceVersion: a write in between fails this one.
  absl::StatusOr<ferry::v1::ApplyResponse> applied =
      client.ApplyStreamed(false, [&](const ResourceClient::ObjectSink& add) {
        add(*object);
        return absl::OkStatus();
      });
  if (!applied.ok()) return FailWith(io.err, applied.status());
  io.out << ref << " labeled\n";
  return kExitOk;
}

}  // namespace ferry::cli
