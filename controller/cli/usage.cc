#include "controller/cli/command.h"

namespace ferry::cli {

std::string UsageText() {
  return R"(ferryctl controls Ferry, declarative IP forwarding between servers.

Usage:
  ferryctl [--config FILE] [--server ADDR] [--request-timeout 5s] COMMAND [ARGS] [FLAGS]

Commands:
  apply -f FILE|DIR|- [--dry-run]      Create or update the objects in the manifests.
                                       All documents are checked first, then applied
                                       in one transaction.
  diff -f FILE|DIR|-                   Show, per node, the kernel changes applying would
                                       make there (nft elements, rules, routes, sysctls,
                                       as +/- lines), computed by each node's agent against
                                       its kernel. Changes nothing. Exits 0 when nothing
                                       would change, 1 when something would, 2 on an error
                                       (a node whose diff is unknown included).
  get TYPE [NAME...] [-o yaml|json|wide|name|jsonpath=TEMPLATE|custom-columns=SPEC]
      [-l k=v,k!=v,k,!k,k in (a,b)] [--no-headers] [--show-labels] [--sort-by=PATH]
      [-w [--timeout D]]               List or show forwards, nodes or events; with -w,
                                       keep printing changes until Ctrl-C (or --timeout).
                                       jsonpath: {.items[*].metadata.name},
                                       {range .items[*]}{.metadata.name}{"\n"}{end};
                                       custom-columns: NAME:.metadata.name,READY:.status.
                                       conditions[?(@.type=="Ready")].status.
  get events [--for forward/NAME|node/NAME] [-w]
                                       Events (drift, repairs, failures, connections),
                                       oldest first.
  describe TYPE [NAME] [-l SELECTOR]   Show details, status and recent events of forwards
                                       or nodes.
  delete TYPE NAME... [--ignore-not-found]
  delete TYPE --all | -l SELECTOR
  delete -f FILE|DIR|- [--ignore-not-found]
                                       Delete the named objects.
  label TYPE NAME|TYPE/NAME KEY=VALUE... KEY-... [--overwrite]
                                       Set or remove labels: a node's own (spec.labels, over
                                       its agent's --labels) or a forward's.
  edit TYPE/NAME                       Edit an object's YAML in $EDITOR (default vi) and
                                       apply it at the resourceVersion read; an invalid
                                       edit reopens with the error at the top.
  explain TYPE[.FIELD...]              Show a resource's fields and their docs, e.g.
                                       explain ipforward.spec.frontend.
  wait TYPE/NAME...|TYPE --all|TYPE -l SELECTOR --for=condition=Ready[=True]|--for=delete
       [--timeout=30s]
                                       Wait until a condition holds on the objects.
  token create --node NAME [--ttl 1h]  Print a one-time join token for node NAME (admin);
                                       the agent joins with ferry-agent --join-token.
  credentials create NAME --role viewer|editor|admin [--server HOST:PORT] [--ttl 90d] [-o FILE]
                                       Make a key here, have the controller sign it for
                                       NAME, and print a client config (or write FILE,
                                       mode 0600). --server here is the address written
                                       into the config (default: the TCP server ferryctl
                                       talks to); the key never leaves this machine.
  credentials revoke NAME [--role ROLE]
                                       Revoke every certificate of NAME (admin).
  version [--client]                   Print ferryctl's and the controller's versions
                                       (--client: ferryctl's only). ferryctl --version
                                       prints one line, "ferryctl 0.3.0".
  completion bash|zsh                  Print a shell completion script, e.g.
                                       source <(ferryctl completion bash).
  help                                 Print this help.

Types: forwards (forward, ipforwards, fwd), nodes (node), events (event, ev).

Global flags:
  --config FILE          client config: server, CA, client certificate and key
                         (default $FERRY_CONFIG, else ~/.config/ferry/config if it exists)
  --server ADDR          ferry-controller address: host:port or unix:PATH; replicas as
                         host:port,host:port (the first that answers) (default
                         $FERRY_SERVER, else the config's server, else 127.0.0.1:7443)
  --request-timeout D    deadline of each request (default 5s; diff: 15s)

A TCP server is reached over mutual TLS with the client config's certificates;
a unix socket needs no config (the controller knows the caller by its uid).
Durations: 30s, 5m, 1h, 90d, 1d12h.

Exit status: 0 on success, 1 on failure, 2 on a usage error (diff: as said above).
)";
}

}  // namespace ferry::cli
