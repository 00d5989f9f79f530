# shellcheck shell=bash
# Helpers shared by the fault tests (fail static, fleet restart); sourced
# after lib.sh.

CLIENT=192.0.2.10
EXAMPLES=$FERRY_SRC/manifests/examples

# extra_forward NAME PORT [TARGET_PORT]: a TCP Preserve forward node-a:PORT
# -> node-b:TARGET_PORT (8080), written to a file whose path is printed.
extra_forward() {
  cat >"$WORK/$1.yaml" <<EOF
apiVersion: ferry.dev/v1
kind: IPForward
metadata:
  name: $1
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports:
  - {protocol: TCP, port: $2, targetPort: ${3:-8080}}
  sourceIP: Preserve
EOF
  echo "$WORK/$1.yaml"
}

# fleet_converged: every forward Ready at its generation, both nodes
# Connected and, once they have reported drift, InSync.
fleet_converged() {
  ferryctl get forwards -o json >"$WORK/forwards.json" || return 1
  ferryctl get nodes -o json >"$WORK/nodes.json" || return 1
  python3 - "$WORK/forwards.json" "$WORK/nodes.json" <<'PY'
import json, sys

def items(path):
    doc = json.load(open(path))
    return doc.get("items", []) if isinstance(doc, dict) and "items" in doc else (
        doc if isinstance(doc, list) else [doc])

def conds(obj):
    return {c["type"]: c["status"] for c in obj.get("status", {}).get("conditions", [])}

forwards = items(sys.argv[1])
assert forwards, "no forwards"
for f in forwards:
    st = f.get("status", {})
    assert int(st.get("observedGeneration", 0)) == int(f["metadata"]["generation"]), f
    assert conds(f).get("Ready") == "True", (f["metadata"]["name"], conds(f))
nodes = {n["metadata"]["name"]: conds(n) for n in items(sys.argv[2])}
for name in ("node-a", "node-b"):
    c = nodes.get(name, {})
    assert c.get("Connected") == "True", (name, c)
    assert c.get("InSync", "True") == "True", (name, c)
PY
}

# condition_status KIND NAME TYPE: prints the condition's status (True,
# False, or nothing if absent).
condition_status() {
  ferryctl get "$1" "$2" -o json | python3 -c '
import json, sys
o = json.load(sys.stdin)
print("".join(c["status"] for c in o.get("status", {}).get("conditions", []) if c["type"] == sys.argv[1]))' "$3"
}

# The traffic loop: HTTP (a new TCP connection per request) and UDP (a new
# source port per request) from the client to node-a, for the whole test.
TRAFFIC_SUMMARY=
start_traffic() {  # start_traffic MAX_SECONDS
  TRAFFIC_SUMMARY=$WORK/traffic.json
  ip netns exec "$NS_CLIENT" python3 "$FERRY_SRC/tests/e2e/traffic_loop.py" \
    --host 192.0.2.1 --tcp-port 80 --udp-port 5353 --expect "$CLIENT" \
    --max-seconds "$1" --stop-file "$WORK/traffic.stop" --summary "$TRAFFIC_SUMMARY" \
    2>"$WORK/traffic.log" &
  TRAFFIC_PID=$!
  PIDS+=("$TRAFFIC_PID")
  wait_for "traffic loop running" 20 traffic_rounds_at_least 5
}

traffic_field() {
  python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' \
    "$TRAFFIC_SUMMARY" "$1"
}

traffic_rounds_at_least() { (( $(traffic_field rounds) >= $1 )); }

# traffic_flows_on: the loop is still making rounds (proves requests were
# actually sent during a fault, not merely that none failed).
traffic_flows_on() {
  local from
  from=$(traffic_field rounds)
  wait_for "traffic loop making progress" 20 traffic_rounds_at_least $((from + 10))
}

no_failed_requests() {
  python3 -c 'import json,sys; c=json.load(open(sys.argv[1])); sys.exit(0 if c["tcp_fail"]==0 and c["udp_fail"]==0 else 1)' \
    "$TRAFFIC_SUMMARY"
}

assert_no_failed_requests() {  # assert_no_failed_requests STAGE
  no_failed_requests || { cat "$WORK/traffic.log" >&2; fail "$1: requests failed: $(cat "$TRAFFIC_SUMMARY")"; }
  log "ok: no failed requests through $1: $(cat "$TRAFFIC_SUMMARY")"
}

stop_traffic() {
  touch "$WORK/traffic.stop"
  wait_for "traffic loop to stop" 10 process_exited "$TRAFFIC_PID"
  wait "$TRAFFIC_PID" 2>/dev/null || true
  forget_pid "$TRAFFIC_PID"
}
