#!/usr/bin/env bash
# Many frontends, one backend (issue 14): node-a and node-c each reach
# node-b over their own WireGuard tunnel, and both forward to the same
# backend address and port with sourceIP Preserve. node-b marks each
# connection by the tunnel it arrived on and routes the replies by that
# mark, so every reply leaves through the frontend that got the request and
# the web server sees each client's own address. node-c's return hop is
# discovered from node-c's own route to the backend (it shares no network
# with 10.8.0.2/24), with no returnVia.
#
#   client 192.0.2.10 ─┬─ node-a 192.0.2.1 ══ wg 10.8.0.1 ═══ 10.8.0.2 wg ══╗
#                      └─ node-c 192.0.2.3 ══ wg 10.78.0.1 ══ 10.78.0.2 wg ══ node-b :8080
source "$(dirname "$0")/lib.sh"
NS_C=fx-$FX_ID-c
WG_C=fxc$FX_ID
WG_B2=fxd$FX_ID
EXTRA_NS=("$NS_C")
EXTRA_WG=("$WG_C" "$WG_B2")
trap cleanup EXIT
need_root

CLIENT=192.0.2.10

# node-c on the lan, and its own tunnel into node-b: a second interface on
# node-b, since one WireGuard interface cannot give two peers 0.0.0.0/0.
add_node_c() {
  ip netns add "$NS_C"
  ip link add "fx${FX_ID}p4" type veth peer name eth0 netns "$NS_C"
  ip link set "fx${FX_ID}p4" netns "$NS_LAN"
  in_ns "$NS_LAN" ip link set "fx${FX_ID}p4" master br0 up
  in_ns "$NS_C" ip link set lo up
  in_ns "$NS_C" ip link set eth0 up
  in_ns "$NS_C" ip addr add 192.0.2.3/24 dev eth0
  local kc kb
  kc=$(wg genkey); kb=$(wg genkey)
  in_ns "$NS_C" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_C" >"$WORK/wg-c.log" 2>&1 &
  PIDS+=($!)
  in_ns "$NS_B" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_B2" >"$WORK/wg-b2.log" 2>&1 &
  PIDS+=($!)
  wait_for "wireguard-go socket $WG_C" 10 test -S "/var/run/wireguard/$WG_C.sock"
  wait_for "wireguard-go socket $WG_B2" 10 test -S "/var/run/wireguard/$WG_B2.sock"
  in_ns "$NS_C" wg set "$WG_C" listen-port 51822 private-key <(echo "$kc") \
    peer "$(echo "$kb" | wg pubkey)" endpoint 192.0.2.2:51823 allowed-ips 10.8.0.2/32
  in_ns "$NS_B" wg set "$WG_B2" listen-port 51823 private-key <(echo "$kb") \
    peer "$(echo "$kc" | wg pubkey)" endpoint 192.0.2.3:51822 allowed-ips 0.0.0.0/0
  in_ns "$NS_C" ip addr add 10.78.0.1/24 dev "$WG_C"
  in_ns "$NS_B" ip addr add 10.78.0.2/24 dev "$WG_B2"
  in_ns "$NS_C" ip link set "$WG_C" up
  in_ns "$NS_B" ip link set "$WG_B2" up
  # What wg-quick does for allowed-ips: node-c reaches the backend address
  # through its tunnel, from 10.78.0.1.
  in_ns "$NS_C" ip route add 10.8.0.2/32 dev "$WG_C"
  wait_for "tunnel ping c->b" 10 in_ns "$NS_C" ping -c1 -W1 10.8.0.2
}

make_topology
add_node_c
start_backend_servers 8080
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
start_agent "$NS_C" node-c
for n in node-a node-b node-c; do wait_for "$n connected" 20 node_connected "$n"; done

# forward NAME NODE ADDRESS: a Preserve forward of ADDRESS:80 on NODE to
# node-b's 10.8.0.2:8080, with no returnVia.
forward() {
  cat <<EOF
apiVersion: ferry.dev/v1
kind: IPForward
metadata:
  name: $1
spec:
  frontend:
    nodeName: $2
    address: $3
  backend:
    nodeName: node-b
    address: 10.8.0.2
  ports:
  - protocol: TCP
    port: 80
    targetPort: 8080
  sourceIP: Preserve
EOF
}
{ forward web-a node-a 192.0.2.1; echo ---; forward web-c node-c 192.0.2.3; } >"$WORK/two.yaml"
ferryctl apply -f "$WORK/two.yaml"
ferryctl wait forwards --all --for=condition=Ready --timeout=30s

return_via() { ferryctl get forward "$1" -o json | python3 -c \
  'import json,sys; print(json.load(sys.stdin)["status"].get("returnVia",""))'; }
expect_eq "node-a's return hop" "10.8.0.1" "$(return_via web-a)"
expect_eq "node-c's return hop, from its route to 10.8.0.2" "10.78.0.1" "$(return_via web-c)"

# 1. Six requests alternate between the frontends; each is served with the
#    client's own address, so each reply went back the way it came.
for i in 1 2 3 4 5 6; do
  if (( i % 2 )); then frontend=192.0.2.1; else frontend=192.0.2.3; fi
  expect_eq "request $i via $frontend: source seen by node-b" "$CLIENT" \
    "$(seen_by_backend "http://$frontend/")"
done

# 2. What node-b holds: a mark per tunnel, and a rule per frontend that
#    matches the mark.
marks=$(in_ns "$NS_B" nft list table inet ferry_return)
grep -q "\"$WG_B\" : 0x01000000" <<<"$marks" || grep -q "\"$WG_B\" : 0x0[12]000000" <<<"$marks" \
  || fail "no mark for $WG_B: $marks"
grep -q "\"$WG_B2\" : 0x0[12]000000" <<<"$marks" || fail "no mark for $WG_B2: $marks"
rules=$(in_ns "$NS_B" ip rule list)
marked_rules=$(grep 'sport 8080' <<<"$rules" | grep -c 'fwmark 0x[12]000000/0xff000000' || true)
expect_eq "fwmark rules on node-b" 2 "$marked_rules"
log "ok: node-b marks by tunnel: $(grep -o '"fx[^}]*' <<<"$marks" | tr '\n' ' ')"

# 3. Drift in the marks is found and repaired like any other object: a
#    deleted mark element comes back, and both frontends still serve.
in_ns "$NS_B" nft delete element inet ferry_return marks "{ \"$WG_B2\" }"
mark_restored() { in_ns "$NS_B" nft list map inet ferry_return marks | grep -q "\"$WG_B2\""; }
wait_for "node-b's mark for $WG_B2 repaired" 30 mark_restored
expect_eq "after repair, via node-c" "$CLIENT" "$(seen_by_backend http://192.0.2.3/)"
expect_eq "after repair, via node-a" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"

# 4. Deleting one frontend's forward leaves the other serving, and its mark
#    goes; deleting both leaves nothing of Ferry's on node-b.
ferryctl delete forward web-c
mark_gone() { ! in_ns "$NS_B" nft list map inet ferry_return marks | grep -q "\"$WG_B2\""; }
wait_for "node-b's mark for $WG_B2 removed" 20 mark_gone
expect_eq "web-a still serves" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"
ferryctl delete forward web-a
no_mark_table() { ! in_ns "$NS_B" nft list table inet ferry_return; }
wait_for "table inet ferry_return removed" 20 no_mark_table
no_fwmark_rules() { ! in_ns "$NS_B" ip rule list | grep -q fwmark; }
wait_for "node-b's fwmark rules removed" 20 no_fwmark_rules

# 5. A node selector: one forward whose frontends are the nodes labelled
#    tier=edge, each serving on its own eth0 address. It follows a label
#    change both ways; node-c's return hop is asked of node-c again, since
#    it forwards nothing to 10.8.0.2 any more.
cat >"$WORK/edge.yaml" <<'YAML'
apiVersion: ferry.dev/v1
kind: IPForward
metadata:
  name: edge
spec:
  frontend:
    nodeSelector:
      matchLabels: {tier: edge}
      matchExpressions: [{key: draining, operator: DoesNotExist}]
    interface: eth0
  backend:
    nodeName: node-b
    address: 10.8.0.2
  ports:
  - protocol: TCP
    port: 81
    targetPort: 8080
  sourceIP: Preserve
YAML
ferryctl label node node-a tier=edge >/dev/null
ferryctl apply -f "$WORK/edge.yaml"
ferryctl wait forward/edge --for=condition=Ready --timeout=30s
expect_eq "selector: via node-a" "$CLIENT" "$(seen_by_backend http://192.0.2.1:81/)"
if seen_by_backend http://192.0.2.3:81/ >/dev/null 2>&1; then fail "node-c serves before its label"; fi
# frontends: "node=address,... READY" from the forward's status.
frontends() { ferryctl get forward edge -o json | python3 -c '
import json, sys
st = json.load(sys.stdin)["status"]
ready = [c["status"] for c in st.get("conditions", []) if c["type"] == "Ready"]
ends = [n["name"] + "=" + n.get("address", "") for n in st.get("nodes", []) if n["role"] == "Frontend"]
print(",".join(ends), *ready)'; }
expect_eq "selector's frontends" "node-a=192.0.2.1 True" "$(frontends)"

ferryctl label node node-c tier=edge >/dev/null
both() { [[ $(frontends) == "node-a=192.0.2.1,node-c=192.0.2.3 True" ]]; }
wait_for "node-c selected, asked for its route, and serving" 30 both
for frontend in 192.0.2.1 192.0.2.3 192.0.2.1 192.0.2.3; do
  expect_eq "selector: via $frontend" "$CLIENT" "$(seen_by_backend "http://$frontend:81/")"
done

ferryctl label node node-c draining=yes >/dev/null
only_a() { [[ $(frontends) == "node-a=192.0.2.1 True" ]]; }
wait_for "node-c deselected by draining=yes" 30 only_a
c_refuses() { ! seen_by_backend http://192.0.2.3:81/; }
wait_for "node-c no longer forwards :81" 20 c_refuses
expect_eq "selector: node-a still serves" "$CLIENT" "$(seen_by_backend http://192.0.2.1:81/)"
ferryctl delete forward edge >/dev/null
wait_for "table inet ferry_return removed again" 20 no_mark_table

# 6. A staged rollout that stops at a node which rejects the change. node-c
#    is restarted to accept at most one config entry, so the second port
#    mapping of generation 2 is a NACK there. node-a (first by name) gets
#    generation 2 alone; once it ACKs, node-c is released, rejects it, and
#    the rollout stops: node-c keeps serving generation 1.
ferryctl label node node-c draining- >/dev/null
sed -e 's/name: edge$/name: staged/' "$WORK/edge.yaml" >"$WORK/staged.yaml"
printf '  rollout: {maxUnavailable: 1, progressDeadlineSeconds: 20}\n' >>"$WORK/staged.yaml"
ferryctl apply -f "$WORK/staged.yaml"
ferryctl wait forward/staged --for=condition=Ready --timeout=30s
stop_process "$AGENT_PID_node_c"
ip netns exec "$NS_C" "$FERRY_BIN/ferry-agent" --node-name node-c --controller "unix:$SOCK" \
  --labels role=node-c --max-config-entries 1 >>"$WORK/agent-node-c.log" 2>&1 &
PIDS+=($!)
wait_for "node-c back, accepting one entry" 20 node_connected node-c
sed -e 's/  sourceIP: Preserve/  - {protocol: TCP, port: 82, targetPort: 8080}\n  sourceIP: Preserve/' \
  "$WORK/staged.yaml" >"$WORK/staged2.yaml"
expect_eq "generation 2 applied" "ipforward/staged configured" \
  "$(ferryctl apply -f "$WORK/staged2.yaml")"
ready_reason() { ferryctl get forward staged -o json | python3 -c '
import json, sys
for c in json.load(sys.stdin)["status"]["conditions"]:
    if c["type"] == "Ready": print(c["reason"], c["message"])'; }
stopped() { [[ $(ready_reason) == RolloutStopped* ]]; }
wait_for "the rollout stopped at node-c" 30 stopped
reason=$(ready_reason)
[[ $reason == *"node node-c rejected generation 2"* && $reason == *"keep generation 1"* ]] \
  || fail "the stop does not name node-c and why: $reason"
log "ok: $reason"
expect_eq "node-a serves generation 2 (:82)" "$CLIENT" "$(seen_by_backend http://192.0.2.1:82/)"
expect_eq "node-c keeps generation 1 (:81)" "$CLIENT" "$(seen_by_backend http://192.0.2.3:81/)"
if seen_by_backend http://192.0.2.3:82/ >/dev/null 2>&1; then fail "node-c serves :82"; fi
ferryctl delete forward staged >/dev/null

log "PASS: two frontends, one backend, the client's address preserved through both; a selector follows labels; a rollout stops at a NACK"
