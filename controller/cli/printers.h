#ifndef FERRY_CONTROLLER_CLI_PRINTERS_H_
#define FERRY_CONTROLLER_CLI_PRINTERS_H_

// `get` output as pure functions of protos: tables, names, YAML and JSON.

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "controller/cli/command.h"
#include "controller/cli/table.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

TableRow ForwardHeader(bool wide);
// NAME FRONTEND BACKEND PORTS SOURCEIP READY VERIFIED DRIFTED AGE
// [wide: ACCEPTED REASON RETURN-VIA GENERATION]
TableRow ForwardRow(const ferry::v1::IPForward& forward, absl::Time now, bool wide);

TableRow NodeHeader(bool wide);
// NAME CONNECTED ADDRESSES AGE [wide: AGENT-VERSION CONFIG-VERSION LABELS]
TableRow NodeRow(const ferry::v1::Node& node, absl::Time now, bool wide);

// The header and a row of the table for `kind` (events: see events.h).
TableRow TableHeader(ferry::v1::ResourceKind kind, bool wide);
TableRow TableRowOf(const ferry::v1::Object& object, absl::Time now, bool wide);

// How `get` prints, beyond the format.
struct PrintOptions {
  OutputFormat format = OutputFormat::kTable;
  std::string output_template;  // jsonpath / custom-columns: the text after '='
  bool no_headers = false;      // tables and custom columns
  bool show_labels = false;     // tables: a LABELS column (k=v,k=v)

  static PrintOptions Of(const Command& command);
};

// The same, wide for -o wide, with a LABELS column for --show-labels.
TableRow TableHeader(ferry::v1::ResourceKind kind, const PrintOptions& options);
TableRow TableRowOf(const ferry::v1::Object& object, absl::Time now, const PrintOptions& options);

// Prints objects as they arrive: YAML, JSON and names stream; tables buffer
// rows, because column widths depend on every row.
class ObjectPrinter {
 public:
  virtual ~ObjectPrinter() = default;
  // Text to write now; may be empty while buffering.
  virtual std::string Add(const ferry::v1::Object& object) = 0;
  // Text to write after the last object.
  virtual std::string Finish() = 0;
  virtual int count() const = 0;
};

// `as_list`: several objects were asked for (no name given). For JSON this
// wraps items in {"apiVersion": "v1", "kind": "List", "items": [...]};
// a single named object is printed bare. JSONPath runs on that list (so
// `{.items[*].metadata.name}`), or on the bare object. JSON integers are
// numbers (json.h). A template that does not parse is INVALID_ARGUMENT.
absl::StatusOr<std::unique_ptr<ObjectPrinter>> MakeObjectPrinter(const PrintOptions& options,
                                                                 ferry::v1::ResourceKind kind,
                                                                 absl::Time now, bool as_list);

// The columns of `-o custom-columns=NAME:.metadata.name,READY:.status...`:
// commas inside brackets, parentheses or quotes do not split.
struct CustomColumn {
  std::string header;
  std::string path;
};
absl::StatusOr<std::vector<CustomColumn>> ParseCustomColumns(absl::string_view spec);

// Checks an -o jsonpath= or custom-columns= template (usage errors).
absl::Status CheckOutputTemplate(OutputFormat format, absl::string_view text);

// Sorts by the value of a JSONPath (--sort-by=.metadata.name): numbers by
// value, other values by their text; objects without it first. Stable.
absl::Status SortObjects(absl::string_view path, std::vector<ferry::v1::Object>& objects);

// One line of `apply`'s output, e.g. "ipforward/web created". A dry run
// says so and, for a forward, whether the fleet would accept it:
//   ipforward/web created (dry run): Accepted
//   ipforward/web created (dry run): not accepted, FrontendNodeNotRegistered:
//   spec.frontend.nodeName: node node-x is not registered
std::string ApplyResultLine(const ferry::v1::ApplyResult& result, bool dry_run);

// Convenience for tests and small outputs.
std::string PrintObjects(OutputFormat format, ferry::v1::ResourceKind kind,
                         const std::vector<ferry::v1::Object>& objects, absl::Time now,
                         bool as_list);

}  // namespace ferry::cli

#endif  // FERRY_CONTROLLER_CLI_PRINTERS_H_
