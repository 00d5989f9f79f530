#!/usr/bin/env bash
# Node operations (issue 16): `delete node` and version skew, in the seed lab
# (namespaces this test creates).
# - Version skew: node-a's agent runs without data-path probes
#   (`--probe-rate 0`: no CAPABILITY_DATA_PATH_PROBE in its Hello), the
#   closest stand-in for an agent one minor version older that the real
#   binary allows (CAPABILITY_CONFIG_DELTA cannot be turned off; the unit
#   test version_skew_test.cc covers an agent without any capability). Its
#   forward becomes Ready, serves clients, and DataPathVerified says the
#   agent does not probe instead of waiting for it.
# - delete node: refused for a connected node with the reason; for a
#   disconnected one it sticks across reconcile passes, and the node comes
#   back only when its agent connects again.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root

make_topology
start_backend_servers 8080
start_controller
start_agent "$NS_A" node-a "unix:$SOCK" --probe-rate 0
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b

ferryctl apply -f "$FERRY_SRC/manifests/examples/web-forward.yaml"
ferryctl wait forward/web --for=condition=Ready --timeout=30s
[[ $(seen_by_backend http://192.0.2.1/) == 192.0.2.10 ]] || fail "client not served through node-a"
verified_says_no_probe() {
  ferryctl get forward web -o json | python3 -c '
import json,sys
c=[c for c in json.load(sys.stdin)["status"]["conditions"] if c["type"]=="DataPathVerified"][0]
sys.exit(0 if c["status"]=="Unknown" and "node node-a does not probe" in c["message"] else 1)'
}
wait_for "DataPathVerified names node-a's agent as not probing" 20 verified_says_no_probe
log "ok: an agent without probes serves and is reported as not probing"

# A connected node: refused, with the reason, and still there.
if ferryctl delete node node-a 2>"$WORK/refused.err"; then fail "deleted a connected node"; fi
grep -q "node node-a's agent is connected; stop it (or revoke its credentials) first" \
  "$WORK/refused.err" || fail "refusal does not say why: $(cat "$WORK/refused.err")"
ferryctl get node node-a >/dev/null || fail "node-a gone after a refused delete"
log "ok: refused: $(cat "$WORK/refused.err")"

# A disconnected node: deleted, and it stays deleted while passes run.
stop_process "${AGENT_PID_node_b:?}"  # set by start_agent (eval)
node_disconnected() { ! node_connected "$1"; }
wait_for "node-b shown disconnected" 40 node_disconnected node-b
ferryctl delete node node-b
# Passes run (a new forward's status is published by one) and node-b is
# still absent after each of them.
for i in 1 2 3; do
  sed -e "s/name: web$/name: web-$i/" -e "s/port: 80$/port: $(( 80 + i ))/" \
    -e "s/port: 5353$/port: $(( 5353 + i ))/" \
    "$FERRY_SRC/manifests/examples/web-forward.yaml" >"$WORK/fwd-$i.yaml"
  ferryctl apply -f "$WORK/fwd-$i.yaml"
  has_status() { ferryctl get forward "web-$i" -o json | python3 -c '
import json,sys; sys.exit(0 if json.load(sys.stdin).get("status",{}).get("conditions") else 1)'; }
  wait_for "web-$i's status published" 20 has_status
  if ferryctl get node node-b >/dev/null 2>&1; then fail "node-b written back after pass $i"; fi
done
log "ok: a disconnected node's deletion sticks"

# Its agent connects again: it is registered again.
start_agent "$NS_B" node-b
wait_for "node-b registered again" 20 node_connected node-b
log "ok: node-b is back once its agent connected again"
