#!/usr/bin/env bash
# Every metric the shipped Grafana dashboard (manifests/grafana/
# ferry-dashboard.json) queries exists on real daemons: the seed's lab with
# one forward applied, the controller's and both agents' /metrics scraped,
# and every name in the dashboard's PromQL looked up there. Fails listing
# the names that are missing, with the panel that queries each.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root

DASHBOARD=$FERRY_SRC/manifests/grafana/ferry-dashboard.json
AGENT_METRICS=127.0.0.1:9101

if ! "$FERRY_BIN/ferry-agent" --help | grep -q -- '--metrics-listen'; then
  echo "SKIP: this ferry-agent has no --metrics-listen, so the dashboard's agent panels cannot be checked"
  exit 77
fi

# The dashboard's metric names, one per line as "NAME<TAB>PANEL": every
# identifier in an expr that is not a function, keyword, label or duration.
python3 - "$DASHBOARD" >"$WORK/names.txt" <<'PY'
import json, re, sys
KEYWORDS = {"by", "without", "on", "ignoring", "group_left", "group_right", "bool", "and",
            "or", "unless", "offset", "inf", "nan"}
def panels(items):
    for p in items:
        yield p
        yield from panels(p.get("panels", []))
found = {}
for panel in panels(json.load(open(sys.argv[1]))["panels"]):
    for target in panel.get("targets", []):
        expr = target["expr"]
        expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)    # strings
        expr = re.sub(r"\{[^}]*\}", "", expr)              # label matchers
        expr = re.sub(r"\[[^\]]*\]", "", expr)             # ranges
        expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
        for m in re.finditer(r"[a-zA-Z_:][a-zA-Z0-9_:]*", expr):
            name, rest = m.group(0), expr[m.end():].lstrip()
            if name in KEYWORDS or rest.startswith("("):
                continue
            found.setdefault(name, panel["title"])
if len(found) < 10:
    sys.exit(f"only {len(found)} metric names found in the dashboard: {sorted(found)}")
for name, title in sorted(found.items()):
    print(f"{name}\t{title}")
PY
log "the dashboard queries $(wc -l <"$WORK/names.txt") metrics"

make_topology
start_backend_servers 8080
# The controller in the lan namespace, so its metrics listener is on a
# loopback of the test's own.
in_ns "$NS_LAN" ip link set lo up
CONTROLLER_NS=$NS_LAN
CONTROLLER_FLAGS=(--metrics-listen 127.0.0.1:9100)
start_controller
for pair in "$NS_A:node-a" "$NS_B:node-b"; do
  ns=${pair%%:*} node=${pair#*:}
  in_ns "$ns" "$FERRY_BIN/ferry-agent" --node-name "$node" --controller "unix:$SOCK" \
    --metrics-listen "$AGENT_METRICS" >>"$WORK/agent-$node.log" 2>&1 &
  PIDS+=($!)
done
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b
ferryctl apply -f "$FERRY_SRC/manifests/examples/web-forward.yaml"
ferryctl wait forwards --all --for=condition=Ready --timeout=30s
for ns in "$NS_A" "$NS_B"; do
  wait_for "agent ready in $ns" 20 in_ns "$ns" curl -sf "http://$AGENT_METRICS/readyz"
done

in_ns "$NS_LAN" curl -sf http://127.0.0.1:9100/metrics >"$WORK/metrics-controller.txt"
in_ns "$NS_A" curl -sf "http://$AGENT_METRICS/metrics" >"$WORK/metrics-node-a.txt"
in_ns "$NS_B" curl -sf "http://$AGENT_METRICS/metrics" >"$WORK/metrics-node-b.txt"

# has_metric NAME FILE: a sample, or the family's TYPE line (a family with
# no series yet, e.g. drift never seen), or a histogram's _bucket/_sum/_count.
has_metric() {
  local name=$1 file=$2 base=$1
  grep -qE "^$name(\{| )" "$file" && return 0
  grep -qE "^# TYPE $name " "$file" && return 0
  [[ $name =~ ^(.*)_(bucket|sum|count)$ ]] && base=${BASH_REMATCH[1]}
  grep -qE "^# TYPE $base histogram$" "$file"
}

missing=()
while IFS=$'\t' read -r name panel; do
  found=
  for f in "$WORK"/metrics-*.txt; do has_metric "$name" "$f" && found=1 && break; done
  [[ -n $found ]] || missing+=("$name (panel \"$panel\")")
done <"$WORK/names.txt"
if ((${#missing[@]})); then
  printf '  missing: %s\n' "${missing[@]}" >&2
  fail "${#missing[@]} metrics the dashboard queries are on no daemon's /metrics"
fi
# The agents' own series are on each agent, not merely somewhere.
for node in node-a node-b; do
  for name in ferry_agent_applies_total ferry_agent_apply_seconds_bucket ferry_agent_connected \
    ferry_agent_applied_config_info ferry_build_info process_resident_memory_bytes; do
    has_metric "$name" "$WORK/metrics-$node.txt" || fail "$node's /metrics lacks $name"
  done
  grep -qE '^ferry_agent_applies_total\{kind="full",result="ok"\} [1-9]' "$WORK/metrics-$node.txt" ||
    fail "$node's /metrics counts no applied full config"
  in_ns "$([[ $node == node-a ]] && echo "$NS_A" || echo "$NS_B")" \
    curl -sf "http://$AGENT_METRICS/healthz" >/dev/null || fail "$node's /healthz is not 200"
done
log "ok: all $(wc -l <"$WORK/names.txt") metrics the dashboard queries are served; the agents are ready and healthy"
echo "PASS"
