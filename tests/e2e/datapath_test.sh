#!/usr/bin/env bash
# Data-path truth (issue 15), end to end: every forward carries a
# DataPathVerified condition proven by a probe that node-a's agent sends
# through the forward's own DNAT, the tunnel, node-b's server and back along
# the forward's return path; and a change under `rollback: OnProbeFailure`
# whose probe fails is undone on every node.
#
# Two passes over the same steps, one per sourceIP mode:
#   web  (Preserve,   192.0.2.1:80 -> 10.8.0.2:8080): node-b sees the client
#   masq (Masquerade, 192.0.2.1:82 -> 10.8.0.2:8080): node-b sees 10.8.0.1
# 1. Ready, then DataPathVerified=True within 30 s; the client is served.
# 2. The return path broken outside Ferry (node-b's WireGuard peer narrowed):
#    the client gets no answer, Ready stays True, and within 30 s
#    DataPathVerified=False (ProbeFailed, with a message), a DataPathFailed
#    event, the metric 0 and a webhook post; nothing is "repaired".
#    Masquerade's replies go to node-a's tunnel address, so first a
#    narrowing to 10.8.0.1/32 must leave masq verified while web fails (the
#    probe follows each forward's real return path); then 10.8.0.99/32
#    breaks masq too.
# 3. Mended: True within 30 s, DataPathRestored, metric 1, served again.
# 4. Commit-confirmed: under rollback OnProbeFailure, a change to a dead
#    targetPort (8081) is rolled back within 30 s: Ready=False RolledBack
#    with the probe's message, rolledBackToGeneration = the previous
#    generation, the stored spec still says 8081, node-a's kernel and the
#    client are back on 8080, a RolledBack event. A good change (9090 for
#    web, 9091 for masq) is then tried again and becomes Ready and verified.
# Measured times are logged as "time: ...".
#
# Probe evidence: a counting-only nftables table of the test's own in
# node-b's namespace (inet fxcount, created before any agent starts) counts
# the SYNs arriving from the tunnel per backend port, so "stays verified"
# is checked across probes that really ran after the change.
source "$(dirname "$0")/lib.sh"
trap on_exit EXIT
need_root

CLIENT=192.0.2.10
TIMEOUT=30   # the issue's bound for every verdict change
METRICS_PORT=$(free_port)
HOOK_PORT=$(free_port)
HOOKS=$WORK/webhooks.jsonl
: >"$HOOKS"

# On failure, the fleet's view goes into the kept WORK dir before cleanup
# (which prints the tails of *.log). Never fails: set +e first.
on_exit() {
  local rc=$?
  set +e
  if (( rc != 0 )) && [[ -S $SOCK ]]; then
    { echo "=== ferryctl get forwards -o wide"; ferryctl get forwards -o wide
      echo "=== ferryctl get forwards -o yaml"; ferryctl get forwards -o yaml
      echo "=== ferryctl get events"; ferryctl get events
      echo "=== node-a: nft list table inet ferry"; in_ns "$NS_A" nft list table inet ferry
      echo "=== node-b: ip rule"; in_ns "$NS_B" ip rule list
      echo "=== node-b: wg show"; in_ns "$NS_B" wg show "$WG_B"
      echo "=== node-b: probe SYN counters"; in_ns "$NS_B" nft list table inet fxcount
      echo "=== metrics"; curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" | grep -i -e datapath -e drift
      echo "=== webhooks"; cat "$HOOKS"
    } >"$WORK/final-state.txt" 2>&1
    log "fleet state at failure: $WORK/final-state.txt"
  fi
  (exit "$rc")
  cleanup
}

python3 "$FERRY_SRC/tests/e2e/webhook_receiver.py" "$HOOK_PORT" "$HOOKS" >"$WORK/hook.log" 2>&1 &
PIDS+=($!)

make_topology
start_backend_servers 8080
start_backend_servers 9090   # web's good change after its rollback
start_backend_servers 9091   # masq's; 8081 stays dead: nothing listens there

# Counting only (policy accept, no verdicts): SYNs from the tunnel (a
# connection's first packet, or its retransmission), per backend port.
in_ns "$NS_B" nft -f - <<NFT
table inet fxcount {
  chain pre {
    type filter hook prerouting priority -400; policy accept;
    iifname "$WG_B" tcp dport 8080 tcp flags & (syn | ack) == syn counter
    iifname "$WG_B" tcp dport 8081 tcp flags & (syn | ack) == syn counter
    iifname "$WG_B" tcp dport 9090 tcp flags & (syn | ack) == syn counter
  }
}
NFT
syn_count() {  # syn_count PORT: SYNs that reached node-b's PORT from the tunnel
  in_ns "$NS_B" nft list chain inet fxcount pre |
    sed -n "s/.*tcp dport $1 .*counter packets \([0-9]*\) .*/\1/p"
}

CONTROLLER_FLAGS=(--metrics-listen "127.0.0.1:$METRICS_PORT" --alert-webhook "http://127.0.0.1:$HOOK_PORT/hook")
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b

# ---------------------------------------------------------------- helpers

within() {  # within SECONDS CMD...: prints the ms until CMD first held; 1 if it never did
  local limit_ms=$(( $1 * 1000 )) start; start=$(now_ms); shift
  while (( $(now_ms) - start < limit_ms )); do
    "$@" >/dev/null 2>&1 && { echo $(( $(now_ms) - start )); return 0; }
    sleep 0.1
  done
  return 1
}

# fwd NAME QUERY: one value from the forward's JSON. QUERY is gen,
# observed, rolledBack, appliedGenerations, targetPorts, cond:TYPE:FIELD or
# node:NODE:FIELD.
fwd() {
  ferryctl get forward "$1" -o json | python3 -c '
import json, sys
f = json.load(sys.stdin)
st = f.get("status", {})
q = sys.argv[1].split(":")
if q[0] == "cond":
    v = next((c for c in st.get("conditions", []) if c["type"] == q[1]), {}).get(q[2], "")
elif q[0] == "node":
    v = next((n for n in st.get("nodes", []) if n["name"] == q[1]), {}).get(q[2], "")
elif q[0] == "gen":
    v = f["metadata"].get("generation", 0)
elif q[0] == "observed":
    v = st.get("observedGeneration", 0)
elif q[0] == "rolledBack":
    v = st.get("rolledBackToGeneration", 0)
elif q[0] == "appliedGenerations":  # distinct, over every involved node
    v = ",".join(sorted({str(n.get("appliedGeneration", 0)) for n in st.get("nodes", [])}))
elif q[0] == "targetPorts":
    v = ",".join(str(p.get("targetPort", "")) for p in f["spec"]["ports"])
else:
    sys.exit("unknown query " + sys.argv[1])
print(v)' "$2"
}

# forward_yaml NAME PORT TARGET MODE [ROLLBACK]: the forward on node-a's
# 192.0.2.1:PORT to 10.8.0.2:TARGET, probed every 2 s.
forward_yaml() {
  local file=$WORK/$1-$3${5:+-rb}.yaml
  cat >"$file" <<YAML
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: $1}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: $2, targetPort: $3}]
  sourceIP: $4
  probe: {periodSeconds: 2}
YAML
  [[ -z ${5:-} ]] || echo "  rollback: $5" >>"$file"
  echo "$file"
}

# Every involved node holds generation GEN and the forward is Ready (a
# Masquerade forward involves node-a alone: node-b installs nothing).
ready_at() {  # ready_at NAME GEN
  [[ $(fwd "$1" observed) == "$2" && $(fwd "$1" appliedGenerations) == "$2" &&
     $(fwd "$1" node:node-a:appliedGeneration) == "$2" && $(fwd "$1" cond:Ready:status) == True ]]
}
# DataPathVerified=True, for generation GEN when the condition says which.
verified_at() {  # verified_at NAME GEN
  local g
  ready_at "$1" "$2" || return 1
  [[ $(fwd "$1" cond:DataPathVerified:status) == True ]] || return 1
  [[ $(fwd "$1" node:node-a:dataPath) == True ]] || return 1
  g=$(fwd "$1" cond:DataPathVerified:observedGeneration)
  [[ -z $g || $g == 0 || $g == "$2" ]]
}
dp_is() { [[ $(fwd "$1" cond:DataPathVerified:status) == "$2" ]]; }  # dp_is NAME STATUS
ready_reason_is() { [[ $(fwd "$1" cond:Ready:reason) == "$2" ]]; }

metric_value() {  # metric_value FORWARD NODE: ferry_datapath_verified's sample, "" if absent
  curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v f="forward=\"$1\"" \
    -v n="node=\"$2\"" 'index($0, "ferry_datapath_verified{") == 1 && index($0, f) && index($0, n) { v = $NF } END { print v }'
}
metric_is() { [[ $(metric_value "$1" node-a) == "$2" ]]; }  # metric_is FORWARD VALUE
metric_sum() {  # metric_sum PREFIX: sum of matching samples
  curl -s --max-time 2 "http://127.0.0.1:$METRICS_PORT/metrics" |
    awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }'
}
events_more() { (( $(event_count "$1" "$2") > $3 )); }  # events_more REASON NAME BASELINE
hook_count() {  # hook_count REASON NAME: webhook posts of that event for that object
  python3 - "$HOOKS" "$1" "$2" <<'PY'
import json, sys
n = 0
for line in open(sys.argv[1]):
    try:
        e = json.loads(line).get("event", {})
    except ValueError:
        continue
    if e.get("reason") == sys.argv[2] and e.get("involvedObject", {}).get("name") == sys.argv[3]:
        n += 1
print(n)
PY
}
hooks_more() { (( $(hook_count "$1" "$2") > $3 )); }  # hooks_more REASON NAME BASELINE

# served_as URL EXPECTED: node-b's server saw EXPECTED as the client.
served_as() { [[ $(seen_by_backend "$1" 2>/dev/null) == "$2" ]]; }
no_answer() { ! in_ns "$NS_CLIENT" curl -sS -o /dev/null --max-time 3 "$1" 2>/dev/null; }

peer_a() { in_ns "$NS_B" wg show "$WG_B" peers; }
set_allowed() {  # set_allowed IPS: node-b's peer (node-a) takes IPS, outside Ferry
  in_ns "$NS_B" wg set "$WG_B" peer "$PEER_A" allowed-ips "$1"
  log "node-b: wg set $WG_B peer <node-a> allowed-ips $1"
}
# What a repair would touch: node-b's policy rules, node-a's map elements.
kernel_snapshot() {
  in_ns "$NS_B" ip rule list
  in_ns "$NS_A" nft list table inet ferry | grep 'ipforward/' || true
}
drift_repairs() { event_count DriftRepaired "$1" node-a node-b; }
dnat_element() {  # dnat_element PORT: node-a's map element for 192.0.2.1:PORT, comment left out
  in_ns "$NS_A" nft list map inet ferry dnat4 |
    grep -oE "192\.0\.2\.1 \. tcp \. $1 (comment \"[^\"]*\" )?: [0-9.]+ \. [0-9]+" |
    sed 's/ comment "[^"]*"//' || true
}

# verified_column NAME: the VERIFIED column of `ferryctl get forwards`,
# which must follow READY.
verified_column() {
  ferryctl get forwards | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
head = lines[0]
cols = [(m.start(), m.group()) for m in re.finditer(r"\S+", head)]
names = [c[1] for c in cols]
i = names.index("VERIFIED")
if names[i - 1] != "READY":
    sys.exit("VERIFIED does not follow READY: " + head)
start = cols[i][0]
for line in lines[1:]:
    if line.split()[0] == sys.argv[1]:
        print(line[start:].split()[0])' "$1"
}

# stays_verified NAME PORT: DataPathVerified stays True (metric 1) across
# three probes that reach node-b's PORT after this call; the third SYN
# comes a period after the second, so the first one's verdict (at most its
# 2 s timeout) has long been reported. Bounded: 40 s.
stays_verified() {
  local name=$1 port=$2 c0 c deadline
  c0=$(syn_count "$port")
  deadline=$(( $(now_ms) + 40000 ))
  while :; do
    dp_is "$name" True || fail "$name: DataPathVerified became $(fwd "$name" cond:DataPathVerified:status): $(fwd "$name" cond:DataPathVerified:message)"
    metric_is "$name" 1 || fail "$name: ferry_datapath_verified became '$(metric_value "$name" node-a)'"
    c=$(syn_count "$port")
    (( c >= c0 + 3 )) && break
    (( $(now_ms) < deadline )) || fail "$name: only $((c - c0)) probe SYN(s) reached node-b:$port in 40 s"
    sleep 0.2
  done
  log "ok: $name stayed verified across $((c - c0)) probes that reached node-b:$port"
}

# ---------------------------------------------------------------- one pass

# run_pass NAME PORT MODE SEEN OK_NARROWING BREAK_NARROWING GOOD [OTHER]: the
# issue's four steps for one forward. SEEN is the address node-b's server
# sees; OK_NARROWING an allowed-ips narrowing this mode survives ("" for
# none); GOOD the live backend port of the change tried after the rollback
# (one per pass: node-a cannot send one backend port both ways); OTHER a
# Preserve forward that OK_NARROWING breaks.
run_pass() {
  local name=$1 port=$2 mode=$3 seen=$4 ok_narrowing=$5 break_narrowing=$6 good_port=$7 other=${8:-}
  local url=http://192.0.2.1:$port/ gen ms before repairs repair_metric
  local failed_events failed_hooks restored_events restored_hooks
  log "=== $mode: forward $name on 192.0.2.1:$port"

  # 1. Ready, then verified within 30 s, and serving.
  ferryctl apply -f "$(forward_yaml "$name" "$port" 8080 "$mode")" >/dev/null
  gen=$(fwd "$name" gen)
  wait_for "$name Ready at generation $gen" "$TIMEOUT" ready_at "$name" "$gen"
  ms=$(within "$TIMEOUT" verified_at "$name" "$gen") ||
    fail "$name: DataPathVerified not True within ${TIMEOUT}s of Ready: $(fwd "$name" cond:DataPathVerified:status) $(fwd "$name" cond:DataPathVerified:reason): $(fwd "$name" cond:DataPathVerified:message)"
  log "time: $mode Ready -> DataPathVerified=True: ${ms} ms"
  expect_eq "$name: DataPathVerified reason" Verified "$(fwd "$name" cond:DataPathVerified:reason)"
  expect_eq "$name: VERIFIED column in ferryctl get forwards" True "$(verified_column "$name")"
  wait_for "$name: ferry_datapath_verified 1" 10 metric_is "$name" 1
  expect_eq "$name: source seen by node-b" "$seen" "$(seen_by_backend "$url")"

  # 2. Break the return path outside Ferry.
  before=$(kernel_snapshot)
  repairs=$(drift_repairs "$name")
  repair_metric=$(metric_sum ferry_drift_repaired_total)
  if [[ -n $ok_narrowing ]]; then
    local other_failed=0
    [[ -z $other ]] || other_failed=$(event_count DataPathFailed "$other")
    set_allowed "$ok_narrowing"
    expect_eq "$name: source seen by node-b with allowed-ips $ok_narrowing" "$seen" "$(seen_by_backend "$url")"
    stays_verified "$name" 8080
    if [[ -n $other ]]; then
      ms=$(within "$TIMEOUT" dp_is "$other" False) ||
        fail "$other: not DataPathVerified=False under allowed-ips $ok_narrowing (the Preserve forward's replies are dropped)"
      wait_for "$other: DataPathFailed event" 10 events_more DataPathFailed "$other" "$other_failed"
      # A probe failing with no change in flight has nothing to roll back.
      expect_eq "$other: Ready (rollback OnProbeFailure, no change in flight)" True "$(fwd "$other" cond:Ready:status)"
      log "ok: the same narrowing fails Preserve $other ($(fwd "$other" cond:DataPathVerified:message)) while $name stays verified"
    fi
  fi
  failed_events=$(event_count DataPathFailed "$name")
  failed_hooks=$(hook_count DataPathFailed "$name")
  set_allowed "$break_narrowing"
  local t0
  ms=$(within "$TIMEOUT" dp_is "$name" False) ||
    fail "$name: DataPathVerified not False within ${TIMEOUT}s of the break: $(fwd "$name" cond:DataPathVerified:status) $(fwd "$name" cond:DataPathVerified:reason)"
  log "time: $mode break -> DataPathVerified=False: ${ms} ms"
  no_answer "$url" || fail "$name: the client was still served with allowed-ips $break_narrowing"
  log "ok: $name: the client gets no answer"
  expect_eq "$name: DataPathVerified reason" ProbeFailed "$(fwd "$name" cond:DataPathVerified:reason)"
  local message; message=$(fwd "$name" cond:DataPathVerified:message)
  [[ -n $message ]] || fail "$name: DataPathVerified=False without a message"
  log "ok: $name: DataPathVerified message: $message"
  expect_eq "$name: node-a's dataPath" False "$(fwd "$name" node:node-a:dataPath)"
  [[ -n $(fwd "$name" node:node-a:dataPathMessage) ]] || fail "$name: node-a's dataPathMessage is empty"
  wait_for "$name: DataPathFailed event" "$TIMEOUT" events_more DataPathFailed "$name" "$failed_events"
  wait_for "$name: ferry_datapath_verified 0" "$TIMEOUT" metric_is "$name" 0
  wait_for "$name: DataPathFailed webhook post" "$TIMEOUT" hooks_more DataPathFailed "$name" "$failed_hooks"
  log "ok: $name: DataPathFailed event, metric 0, webhook post"
  expect_eq "$name: Ready while the data path is broken" True "$(fwd "$name" cond:Ready:status)"
  [[ $(fwd "$name" cond:Drifted:status) != True ]] || fail "$name: reported Drifted for a break outside Ferry"
  expect_eq "$name: DriftRepaired events" "$repairs" "$(drift_repairs "$name")"
  expect_eq "$name: ferry_drift_repaired_total" "$repair_metric" "$(metric_sum ferry_drift_repaired_total)"
  [[ $(kernel_snapshot) == "$before" ]] ||
    fail "$name: node-b's rules or node-a's elements changed: $(diff <(echo "$before") <(kernel_snapshot) || true)"
  log "ok: $name: nothing repaired (events, metric, node-b's rules and node-a's elements unchanged)"

  # 3. Mend it.
  restored_events=$(event_count DataPathRestored "$name")
  restored_hooks=$(hook_count DataPathRestored "$name")
  set_allowed 0.0.0.0/0,::/0
  ms=$(within "$TIMEOUT" dp_is "$name" True) ||
    fail "$name: DataPathVerified not True within ${TIMEOUT}s of the mend: $(fwd "$name" cond:DataPathVerified:message)"
  log "time: $mode mend -> DataPathVerified=True: ${ms} ms"
  wait_for "$name: DataPathRestored event" "$TIMEOUT" events_more DataPathRestored "$name" "$restored_events"
  wait_for "$name: ferry_datapath_verified 1 again" "$TIMEOUT" metric_is "$name" 1
  wait_for "$name: DataPathRestored webhook post" "$TIMEOUT" hooks_more DataPathRestored "$name" "$restored_hooks"
  expect_eq "$name: source seen by node-b after the mend" "$seen" "$(seen_by_backend "$url")"
  [[ -z $other ]] || wait_for "$other verified again" "$TIMEOUT" dp_is "$other" True

  # 4. Commit-confirmed: a verified generation under OnProbeFailure...
  ferryctl apply -f "$(forward_yaml "$name" "$port" 8080 "$mode" OnProbeFailure)" >/dev/null
  local good; good=$(fwd "$name" gen)
  (( good > gen )) || fail "$name: adding rollback did not bump the generation ($gen -> $good)"
  wait_for "$name Ready at generation $good" "$TIMEOUT" ready_at "$name" "$good"
  wait_for "$name verified at generation $good" "$TIMEOUT" verified_at "$name" "$good"
  # ...and one probe of it seen to arrive (and pass) after its Ready.
  local c0; c0=$(syn_count 8080)
  wait_for "$name: a probe of generation $good reaches node-b" 20 test_syns_above 8080 "$((c0 + 1))"
  wait_for "$name still verified at generation $good" 10 verified_at "$name" "$good"
  log "ok: $name: generation $good (rollback OnProbeFailure) verified"

  # ...then a change to a dead targetPort is rolled back.
  local rolled_events rolled_hooks bad
  rolled_events=$(event_count RolledBack "$name")
  rolled_hooks=$(hook_count RolledBack "$name")
  t0=$(now_ms)
  ferryctl apply -f "$(forward_yaml "$name" "$port" 8081 "$mode" OnProbeFailure)" >/dev/null
  bad=$(fwd "$name" gen)
  (( bad > good )) || fail "$name: the change to 8081 did not bump the generation"
  within "$TIMEOUT" ready_reason_is "$name" RolledBack >/dev/null ||
    fail "$name: not RolledBack within ${TIMEOUT}s of the change to 8081: Ready $(fwd "$name" cond:Ready:status) $(fwd "$name" cond:Ready:reason): $(fwd "$name" cond:Ready:message)"
  log "time: $mode change to dead targetPort -> RolledBack: $(( $(now_ms) - t0 )) ms"
  expect_eq "$name: Ready after the rollback" False "$(fwd "$name" cond:Ready:status)"
  message=$(fwd "$name" cond:Ready:message)
  grep -qiE 'probe|SYN|refused|8081' <<<"$message" || fail "$name: the RolledBack message names no probe failure: $message"
  log "ok: $name: RolledBack message: $message"
  expect_eq "$name: status.rolledBackToGeneration" "$good" "$(fwd "$name" rolledBack)"
  expect_eq "$name: metadata.generation (the stored spec's)" "$bad" "$(fwd "$name" gen)"
  expect_eq "$name: stored targetPort" 8081 "$(fwd "$name" targetPorts)"
  grep -q 'targetPort: 8081' <<<"$(ferryctl get forward "$name" -o yaml)" ||
    fail "$name: ferryctl get forward -o yaml does not show targetPort 8081"
  wait_for "$name: node-a's element back on 8080" 10 test_element "$port" 8080
  expect_eq "$name: node-a's element after the rollback" "192.0.2.1 . tcp . $port : 10.8.0.2 . 8080" "$(dnat_element "$port")"
  expect_eq "$name: served by the previous spec (8080), source seen by node-b" "$seen" "$(seen_by_backend "$url")"
  wait_for "$name: RolledBack event" "$TIMEOUT" events_more RolledBack "$name" "$rolled_events"
  wait_for "$name: RolledBack webhook post" "$TIMEOUT" hooks_more RolledBack "$name" "$rolled_hooks"
  log "ok: $name: RolledBack event and webhook post"

  # A good change is tried again: a live backend port.
  t0=$(now_ms)
  ferryctl apply -f "$(forward_yaml "$name" "$port" "$good_port" "$mode" OnProbeFailure)" >/dev/null
  local next; next=$(fwd "$name" gen)
  ms=$(within "$TIMEOUT" verified_at "$name" "$next") ||
    fail "$name: the change to $good_port not Ready and verified within ${TIMEOUT}s: Ready $(fwd "$name" cond:Ready:reason): $(fwd "$name" cond:Ready:message); DataPathVerified $(fwd "$name" cond:DataPathVerified:status): $(fwd "$name" cond:DataPathVerified:message)"
  log "time: $mode good change ($good_port) -> Ready and DataPathVerified=True: $(( $(now_ms) - t0 )) ms"
  expect_eq "$name: status.rolledBackToGeneration after a good change" 0 "$(fwd "$name" rolledBack)"
  expect_eq "$name: node-a's element" "192.0.2.1 . tcp . $port : 10.8.0.2 . $good_port" "$(dnat_element "$port")"
  expect_eq "$name: served by $good_port, source seen by node-b" "$seen" "$(seen_by_backend "$url")"
  log "ok: $mode pass done"
}
test_syns_above() { (( $(syn_count "$1") >= $2 )); }
test_element() { [[ $(dnat_element "$1") == "192.0.2.1 . tcp . $1 : 10.8.0.2 . $2" ]]; }

PEER_A=$(peer_a)
[[ -n $PEER_A ]] || fail "node-b's WireGuard interface has no peer"

run_pass web 80 Preserve "$CLIENT" "" 10.8.0.1/32 9090
# web stays (now on 9090, verified): the Masquerade pass's harmless narrowing
# must fail it, as Preserve's replies go to 192.0.2.1.
run_pass masq 82 Masquerade 10.8.0.1 10.8.0.1/32 10.8.0.99/32 9091 web

ferryctl get forwards
log "PASS: DataPathVerified follows the real return path under Preserve and Masquerade; changes whose probe fails are rolled back"
