#!/usr/bin/env bash
# Drift, end to end: requests run continuously through the forwards while
# the test tampers with the kernel the way operators and firewall reloads do.
# An Enforce forward must serve again within 1 s, with an event, a metric and
# a webhook post recording the repair. An Alert forward must be reported
# Drifted within 1 s, and its kernel state left as the test left it.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root

METRICS_PORT=$(free_port)
HOOK_PORT=$(free_port)
HOOKS=$WORK/webhooks.jsonl
: >"$HOOKS"
python3 "$FERRY_SRC/tests/e2e/webhook_receiver.py" "$HOOK_PORT" "$HOOKS" >"$WORK/hook.log" 2>&1 &
PIDS+=($!)

make_topology
start_backend_servers 8080
start_backend_servers 9090
CONTROLLER_FLAGS=(--metrics-listen "127.0.0.1:$METRICS_PORT" --alert-webhook "http://127.0.0.1:$HOOK_PORT/hook")
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b

# web: Enforce on port 80 -> 8080; audit: Alert on port 81 -> 9090.
cat >"$WORK/forwards.yaml" <<YAML
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: web}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 80, targetPort: 8080}]
  driftPolicy: Enforce
---
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: audit}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 81, targetPort: 9090}]
  driftPolicy: Alert
YAML
ferryctl apply -f "$WORK/forwards.yaml"
ferryctl wait forwards --all --for=condition=Ready --timeout=30s
[[ $(seen_by_backend http://192.0.2.1/) == 192.0.2.10 ]] || fail "web does not serve"
[[ $(seen_by_backend http://192.0.2.1:81/) == 192.0.2.10 ]] || fail "audit does not serve"

# A bounded request loop through the Enforce forward for the whole test.
( for _ in $(seq 6000); do
    if in_ns "$NS_CLIENT" curl -s -o /dev/null --max-time 1 http://192.0.2.1/; then echo ok; else echo fail; fi
    sleep 0.05
  done ) >"$WORK/loop.log" 2>&1 &
LOOP_PID=$!
PIDS+=($LOOP_PID)

metric() {  # metric NAME_AND_LABELS_PREFIX: sum of matching samples
  curl -s "http://127.0.0.1:$METRICS_PORT/metrics" | awk -v p="$1" 'index($0, p) == 1 { s += $NF } END { print s + 0 }'
}
hook_count() { grep -c "\"$1\"" "$HOOKS" || true; }
condition() {  # condition FORWARD TYPE -> True/False/""
  ferryctl get forward "$1" -o json | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin).get("status", {}).get("conditions", []) if c["type"] == sys.argv[1]]
print(c[0]["status"] if c else "")' "$2"
}
serves_within() {  # serves_within SECONDS URL: first success after tamper, bounded
  local limit_ms=$(( $1 * 1000 )) start; start=$(now_ms)
  while (( $(now_ms) - start < limit_ms )); do
    in_ns "$NS_CLIENT" curl -s -o /dev/null --max-time 0.2 "$2" && { echo $(( $(now_ms) - start )); return 0; }
  done
  return 1
}
within() {  # within SECONDS CMD...: the condition holds within the bound
  local limit_ms=$(( $1 * 1000 )) start; start=$(now_ms); shift
  while (( $(now_ms) - start < limit_ms )); do "$@" >/dev/null 2>&1 && { echo $(( $(now_ms) - start )); return 0; }; sleep 0.02; done
  return 1
}
# Per-forward objects are reported on the forward; node-wide ones (the table,
# a return route shared by forwards, sysctls) on the Node.
repair_events() { event_count DriftRepaired web node-a node-b; }
more_repair_events() { (( $(repair_events) > ${REPAIRED_EVENTS:-0} )); }
more_repair_metric() { (( $(metric ferry_drift_repaired_total) > ${REPAIRED_METRIC:-0} )); }
more_repair_hooks() { (( $(hook_count DriftRepaired) > ${REPAIRED_HOOKS:-0} )); }
audit_drifted() { [[ $(condition audit Drifted) == True ]]; }
audit_not_drifted() { [[ $(condition audit Drifted) != True ]]; }
no_audit_elements() { [[ $(elements audit) == 0 ]]; }
no_audit_rule() { ! grep -q 'sport 9090' <<<"$(in_ns "$NS_B" ip rule list)"; }
elements() { in_ns "$NS_A" nft list table inet ferry 2>/dev/null | grep -c "comment \"ipforward/$1\"" || true; }

# check_enforce TAMPER_DESCRIPTION: after a tamper, web serves within 1 s and
# the repair is recorded as an event, a metric and a webhook post.
check_enforce() {
  local what=$1 ms
  ms=$(serves_within 1 http://192.0.2.1/) || fail "$what: web did not serve again within 1 s"
  log "ok: $what: Enforce forward serves again after ${ms} ms"
  wait_for "$what: DriftRepaired event" 10 more_repair_events
  REPAIRED_EVENTS=$(repair_events)
  wait_for "$what: repaired metric" 10 more_repair_metric
  REPAIRED_METRIC=$(metric ferry_drift_repaired_total)
  wait_for "$what: webhook post" 10 more_repair_hooks
  REPAIRED_HOOKS=$(hook_count DriftRepaired)
}

# check_alert TAMPER_DESCRIPTION KERNEL_PROBE...: audit is Drifted within 1 s
# and the probe (the tampered kernel state) still holds afterwards.
check_alert() {
  local what=$1 ms; shift
  ms=$(within 1 audit_drifted) || fail "$what: audit not reported Drifted within 1 s"
  "$@" || fail "$what: the Alert forward's kernel state was changed"
  log "ok: $what: Alert forward reported Drifted after ${ms} ms, kernel left as found"
}

restore_audit() {  # Alert drift stays until the forward is declared again
  ferryctl delete forward audit >/dev/null
  ferryctl apply -f "$WORK/forwards.yaml" >/dev/null
  ferryctl wait forwards --all --for=condition=Ready --timeout=30s >/dev/null
  wait_for "audit back in sync" 10 audit_not_drifted
}

# 1. nft flush ruleset on the frontend.
in_ns "$NS_A" nft flush ruleset
check_enforce "nft flush ruleset"
check_alert "nft flush ruleset" no_audit_elements
restore_audit

# 2. The owned table deleted.
in_ns "$NS_A" nft delete table inet ferry
check_enforce "delete table inet ferry"
check_alert "delete table inet ferry" no_audit_elements
restore_audit

# 3. One element deleted.
in_ns "$NS_A" nft delete element inet ferry dnat4 '{ 192.0.2.1 . tcp . 80 }'
check_enforce "delete web's map element"
in_ns "$NS_A" nft delete element inet ferry dnat4 '{ 192.0.2.1 . tcp . 81 }'
check_alert "delete audit's map element" no_audit_elements
restore_audit

# 3b. The DNAT chain flushed: every forward breaks while the table, its maps
# and elements stay. The chain is node-wide, and web is Enforce, so the
# table is rebuilt (in one batch, with audit's elements too).
in_ns "$NS_A" nft flush chain inet ferry prerouting
check_enforce "nft flush chain inet ferry prerouting"
[[ $(elements audit) -ge 1 ]] || fail "flush chain: audit's elements not kept by the rebuild"
grep -q 'ferry:dnat4' <<<"$(in_ns "$NS_A" nft list chain inet ferry prerouting)" ||
  fail "flush chain: rule ferry:dnat4 not restored"

# 4. The backend's policy rule, then its route.
in_ns "$NS_B" ip rule del from 10.8.0.2 ipproto tcp sport 8080
check_enforce "delete node-b's rule for web"
in_ns "$NS_B" ip rule del from 10.8.0.2 ipproto tcp sport 9090
check_alert "delete node-b's rule for audit" no_audit_rule
restore_audit
table=$(in_ns "$NS_B" ip rule list | sed -n 's/.*sport 8080 lookup \([0-9]*\).*/\1/p' | head -1)
in_ns "$NS_B" ip route del default table "$table"
check_enforce "delete node-b's return route"

# 5. Forwarding switched off on the frontend.
in_ns "$NS_A" sysctl -qw net.ipv4.ip_forward=0
check_enforce "sysctl net.ipv4.ip_forward=0"
[[ $(in_ns "$NS_A" sysctl -n net.ipv4.ip_forward) == 1 ]] || fail "ip_forward not restored"

# 6. The Alert drift outlives a controller restart: the controller keeps
# drift in memory, so the agent resends its standing drift after every Hello.
# A forward applied after the restart proves a pass ran after node-a's Hello
# (its ACK follows the resent report on the same stream). Last, because the
# restart resets the metrics the checks above count.
in_ns "$NS_A" nft delete element inet ferry dnat4 '{ 192.0.2.1 . tcp . 81 }'
check_alert "delete audit's map element again" no_audit_elements
stop_process "$CONTROLLER_PID"
rm -f "$SOCK"
start_controller
sed -e 's/name: web}/name: probe}/' -e 's/port: 80,/port: 82,/' \
  <(awk '/^---/{exit} {print}' "$WORK/forwards.yaml") >"$WORK/probe.yaml"
ferryctl apply -f "$WORK/probe.yaml" >/dev/null
ferryctl wait forward/probe --for=condition=Ready --timeout=30s >/dev/null
audit_drifted || fail "audit's Alert drift was forgotten across the controller restart"
no_audit_elements || fail "audit's kernel state changed across the controller restart"
log "ok: audit still Drifted after a controller restart, kernel left as found"

kill "$LOOP_PID" 2>/dev/null || true
log "request loop: $(grep -c ok "$WORK/loop.log") ok, $(grep -c fail "$WORK/loop.log") failed during tampering"
ferryctl get events
log "PASS"
