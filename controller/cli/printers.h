#ifndef FERRY_CONTROLLER_CLI_PRINTERS_H_
#define FERRY_CONTROLLER_CLI_PRINTERS_H_

// `get` output as pure functions of protos: tables, names, YAML and JSON.

#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "controller/cli/command.h"
#include "controller/cli/table.h"
#include "ferry/v1/ferry.pb.h"

namespace ferry::cli {

TableRow ForwardHeader(bool wide);
// NAME FRONTEND BACKEND PORTS SOURCEIP READY AGE
// [wide: ACCEPTED DRIFTED REASON RETURN-VIA GENERATION]
TableRow ForwardRow(const ferry::v1::IPForward& forward, absl::Time now, bool wide);

TableRow NodeHeader(bool wide);
// NAME CONNECTED ADDRESSES AGE [wide: AGENT-VERSION CONFIG-VERSION LABELS]
TableRow NodeRow(const ferry::v1::Node& node, absl::Time now, bool wide);

// The header and a row of the table for `kind` (events: see events.h).
TableRow TableHeader(ferry::v1::ResourceKind kind, bool wide);
TableRow TableRowOf(const ferry::v1::Object& object, absl::Time now, bool wide);

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
// a single named object is printed bare.
std::unique_ptr<ObjectPrinter> MakeObjectPrinter(OutputFormat format, ferry::v1::ResourceKind kind,
                                                 absl::Time now, bool as_list);

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
