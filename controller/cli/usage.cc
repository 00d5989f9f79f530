#include "controller/cli/command.h"

namespace ferry::cli {

std::string UsageText() {
  return R"(ferryctl controls Ferry, declarative IP forwarding between servers.

Usage:
  ferryctl [--server ADDR] [--request-timeout 5s] COMMAND [ARGS] [FLAGS]

Commands:
  apply -f FILE|DIR|- [--dry-run]      Create or update the objects in the manifests.
                                       All documents are checked first, then applied
                                       in one transaction.
  get TYPE [NAME] [-o yaml|json|wide|name] [-l k=v,...] [-w [--timeout D]]
                                       List or show forwards, nodes or events; with -w,
                                       keep printing changes until Ctrl-C (or --timeout).
  get events [--for forward/NAME|node/NAME] [-w]
                                       Events (drift, repairs, failures, connections),
                                       oldest first.
  describe TYPE [NAME]                 Show details, status and recent events of forwards
                                       or nodes.
  delete TYPE NAME... [--ignore-not-found]
  delete -f FILE|DIR|- [--ignore-not-found]
                                       Delete the named objects.
  wait TYPE/NAME...|TYPE --all --for=condition=Ready[=True]|--for=delete [--timeout=30s]
                                       Wait until a condition holds on the objects.
  version                              Print the ferryctl version.
  help                                 Print this help.

Types: forwards (forward, ipforwards, fwd), nodes (node), events (event, ev).

Global flags:
  --server ADDR          ferry-controller address: host:port or unix:PATH
                         (default $FERRY_SERVER, else 127.0.0.1:7443)
  --request-timeout D    deadline of each request (default 5s)

Exit status: 0 on success, 1 on failure, 2 on a usage error.
)";
}

}  // namespace ferry::cli
