#ifndef FERRY_CONTROLLER_CLI_COMMAND_H_
#define FERRY_CONTROLLER_CLI_COMMAND_H_

// ferryctl's command line as a value: parsing needs no server, so every
// usage error is testable on its own and exits 2 before any RPC.

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/cli/events.h"
#include "ferry/v1/ferry.pb.h"
#include "ferry/version.h"

namespace ferry::cli {

inline constexpr const char* kFerryctlVersion = kFerryVersion;
inline constexpr char kDefaultServer[] = "127.0.0.1:7443";
inline constexpr absl::Duration kDefaultRequestTimeout = absl::Seconds(5);
inline constexpr absl::Duration kDefaultWaitTimeout = absl::Seconds(30);
// diff's deadline unless --request-timeout gives one: the controller waits
// up to 10 s for the agents' answers.
inline constexpr absl::Duration kDefaultDiffTimeout = absl::Seconds(15);

enum class Verb {
  kHelp,
  kVersion,
  kApply,
  kDiff,  // diff -f FILE|DIR|-
  kGet,
  kDescribe,
  kDelete,
  kWait,
  kLabel,              // label TYPE NAME k=v... k-...
  kExplain,            // explain TYPE[.FIELD...]
  kEdit,               // edit TYPE/NAME
  kCompletion,         // completion bash|zsh
  kTokenCreate,        // token create --node NAME
  kCredentialsCreate,  // credentials create NAME --role ROLE
  kCredentialsRevoke,  // credentials revoke NAME [--role ROLE]
};

// True for the verbs served by SecurityService rather than ResourceService.
bool IsSecurityVerb(Verb verb);

// Where Command::server came from; a client config's server fills in only
// when neither the flag nor the environment gave one.
enum class ServerSource { kDefault, kEnvironment, kFlag };

enum class OutputFormat {
  kTable,
  kWide,
  kYaml,
  kJson,
  kName,
  kJsonPath,       // -o jsonpath=TEMPLATE (jsonpath.h)
  kCustomColumns,  // -o custom-columns=HEADER:PATH,...
};

// What `wait --for=` asks for.
struct WaitCondition {
  bool for_delete = false;
  std::string condition_type;  // e.g. "Ready"
  std::string condition_status = "True";
};

struct Command {
  Verb verb = Verb::kHelp;
  std::string server = kDefaultServer;
  ServerSource server_source = ServerSource::kDefault;
  std::string config_path;  // --config; empty: $FERRY_CONFIG or the default file
  absl::Duration request_timeout = kDefaultRequestTimeout;
  bool request_timeout_set = false;  // --request-timeout was given

  // get, describe, delete, wait.
  ferry::v1::ResourceKind kind = ferry::v1::RESOURCE_KIND_UNSPECIFIED;
  std::vector<std::string> names;
  bool all = false;  // wait --all, delete --all

  // apply -f / diff -f / delete -f.
  std::vector<std::string> files;
  bool dry_run = false;
  bool ignore_not_found = false;

  // get.
  OutputFormat output = OutputFormat::kTable;
  std::string output_template;  // -o jsonpath= / custom-columns=: what follows '='
  bool no_headers = false;      // --no-headers
  bool show_labels = false;     // --show-labels: a LABELS column
  std::string sort_by;          // --sort-by=PATH (a JSONPath, e.g. .metadata.name)
  std::string label_selector;   // get, describe, delete -l
  // get -w: after the list, print changes until interrupted or until
  // watch_timeout (--timeout) passes.
  bool watch = false;
  absl::Duration watch_timeout = absl::InfiniteDuration();
  // get events --for forward/NAME: only the events about that object.
  EventTarget events_for;

  // label: set (value) or remove (none) each key, in order.
  struct LabelChange {
    std::string key;
    std::optional<std::string> value;
    bool operator==(const LabelChange&) const = default;
  };
  std::vector<LabelChange> label_changes;
  bool overwrite = false;  // label --overwrite: a set key may change value

  // wait.
  WaitCondition wait_for;
  absl::Duration wait_timeout = kDefaultWaitTimeout;

  // version --client: only ferryctl's own version.
  bool client_only = false;
  // `ferryctl --version`: one line, "ferryctl 0.3.0", as the other binaries.
  bool version_flag = false;

  // explain: the field path after the type ("spec.frontend"), may be empty.
  std::string explain_path;

  // completion: "bash" or "zsh".
  std::string shell;

  // edit: the editor command ($FERRY_EDITOR, $EDITOR, else vi); filled in
  // from the environment by FerryctlMain.
  std::string editor = "vi";

  // token create, credentials create / revoke.
  std::string node_name;  // token create --node
  std::string subject;    // credentials NAME: the certificate's CN
  std::string role;       // credentials --role
  // token / certificate lifetime; zero: the server's default.
  absl::Duration ttl = absl::ZeroDuration();
  // credentials create: --server after the command, written into the new
  // config (ferryctl itself talks to `server`).
  std::string credentials_server;
  std::string output_file;  // credentials create -o FILE; empty: stdout
};

// Parses argv[1..] (without the program name). `env_server` is $FERRY_SERVER
// (empty when unset); --server wins over it. Usage errors are
// INVALID_ARGUMENT with a message that names the flag or argument.
absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args,
                                         absl::string_view env_server);

// The text printed by `ferryctl help`.
std::string UsageText();

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_COMMAND_H_
