#!/usr/bin/env bash
# The seed's scenario, end to end on real kernels: a client reaches node-b's
# web server on node-a's address, through a WireGuard tunnel, declared as one
# IPForward. Checks Preserve (node-b sees the client), Masquerade (node-b sees
# node-a), spec changes converging, IPv6, a rejected conflict, and that a
# delete removes everything the agents installed.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root

CLIENT=192.0.2.10
EXAMPLES=$FERRY_SRC/manifests/examples

make_topology
start_backend_servers 8080
start_backend_servers 9090
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b

# Without a forward node-a refuses the connection.
if seen_by_backend http://192.0.2.1/ >/dev/null 2>&1; then
  fail "node-a:80 answered before any forward was applied"
fi

apply_and_wait() {  # apply_and_wait FILE: apply, then wait until Ready.
  ferryctl apply -f "$1"
  ferryctl wait forwards --all --for=condition=Ready --timeout=30s
}

# forward_yaml NAME PORT TARGET MODE: the example forward with changes.
forward_yaml() {
  sed -e "s/name: web$/name: $1/" -e "s/port: 80$/port: $2/" \
      -e "0,/targetPort: 8080/s//targetPort: $3/" -e "s/sourceIP: Preserve/sourceIP: $4/" \
      "$EXAMPLES/web-forward.yaml" >"$WORK/fwd.yaml"
  echo "$WORK/fwd.yaml"
}

# 0. An operator's label on a node, selected by the set-based syntax; and a
#    dry run says the real agents' nodes would accept the forward, and
#    writes nothing.
expect_eq "label" "node/node-a labeled" "$(ferryctl label node node-a tier=edge)"
edge_nodes_are() { [ "$(ferryctl get nodes -l 'tier in (edge,core)' -o name)" = "$1" ]; }
wait_for "node-a's label published" 10 edge_nodes_are node/node-a
expect_eq "unlabelled nodes" "node/node-b" "$(ferryctl get nodes -l '!tier' -o name)"
expect_eq "unlabel" "node/node-a labeled" "$(ferryctl label node/node-a tier-)"
wait_for "node-a's label removed" 10 edge_nodes_are ""
expect_eq "dry run" "ipforward/web created (dry run): Accepted" \
  "$(ferryctl apply --dry-run -f "$EXAMPLES/web-forward.yaml")"
if ferryctl get forward web >/dev/null 2>&1; then fail "a dry run created ipforward/web"; fi

# 0b. ferryctl diff: each affected node's agent says what applying would
#     change in its kernel, and nothing changes (exit 1: changes; kubectl
#     diff's codes).
kernel_a() { in_ns "$NS_A" nft list table inet ferry 2>&1 || true; }
kernel_b() {
  { in_ns "$NS_B" ip rule list; in_ns "$NS_B" ip route show table all proto 254
    in_ns "$NS_B" nft list table inet ferry_return || true; } 2>&1
}
run_diff() {  # run_diff FILE: prints ferryctl diff's exit code; its output is in $WORK/diff.out
  local code=0
  ferryctl diff -f "$1" >"$WORK/diff.out" || code=$?
  echo "$code"
}
kernel_a_before=$(kernel_a)
kernel_b_before=$(kernel_b)
code=$(run_diff "$EXAMPLES/web-forward.yaml")
diff_out=$(cat "$WORK/diff.out")
log "ferryctl diff (exit $code):"$'\n'"$diff_out"
expect_eq "diff exit code with changes" 1 "$code"
grep -qx "node node-a:" <<<"$diff_out" || fail "diff names no node-a: $diff_out"
grep -q '^+ map dnat4 element 192\.0\.2\.1 \. tcp \. 80 : 10\.8\.0\.2 \. 8080 comment "ipforward/web"$' \
  <<<"$diff_out" || fail "diff has no DNAT element for 192.0.2.1:80: $diff_out"
grep -qx "node node-b:" <<<"$diff_out" || fail "diff names no node-b: $diff_out"
grep -q '^+ rule from 10\.8\.0\.2 ipproto tcp sport 8080 ' <<<"$diff_out" ||
  fail "diff has no return rule on node-b: $diff_out"
expect_eq "node-a's table after diff" "$kernel_a_before" "$(kernel_a)"
expect_eq "node-b's rules, routes and marks after diff" "$kernel_b_before" "$(kernel_b)"
if ferryctl get forward web >/dev/null 2>&1; then fail "a diff created ipforward/web"; fi

# 1. Preserve: the backend sees the client's own address, over TCP and UDP.
out=$(ferryctl apply -f "$EXAMPLES/web-forward.yaml")
expect_eq "first apply" "ipforward/web created" "$out"
ferryctl wait forward/web --for=condition=Ready --timeout=30s
expect_eq "TCP Preserve source seen by node-b" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"
expect_eq "UDP Preserve source seen by node-b" "$CLIENT" "$(udp_seen_by_backend 192.0.2.1 5353)"
expect_eq "re-apply" "ipforward/web unchanged" "$(ferryctl apply -f "$EXAMPLES/web-forward.yaml")"
# Applied and Ready: the same diff has nothing left to change.
code=$(run_diff "$EXAMPLES/web-forward.yaml")
expect_eq "diff exit code once applied" 0 "$code"
expect_eq "diff output once applied" "" "$(cat "$WORK/diff.out")"
ferryctl get forwards -o wide

# Status reports both nodes at the current generation.
ferryctl get forward web -o json >"$WORK/web.json"
python3 - "$WORK/web.json" <<'PY'
import json, sys
f = json.load(open(sys.argv[1]))
st = f["status"]
gen = int(f["metadata"]["generation"])
assert int(st["observedGeneration"]) == gen, st
conds = {c["type"]: c["status"] for c in st["conditions"]}
assert conds.get("Accepted") == "True" and conds.get("Ready") == "True", conds
roles = {n["name"]: n for n in st["nodes"]}
assert roles["node-a"]["role"] == "Frontend" and roles["node-b"]["role"] == "Backend", roles
for n in roles.values():
    assert n["state"] == "Applied" and int(n["appliedGeneration"]) == gen, n
assert st.get("returnVia") == "10.8.0.1", st
PY
log "ok: status Accepted/Ready, both nodes Applied at generation, returnVia 10.8.0.1"

# 2. Masquerade: node-b sees node-a's tunnel address instead.
expect_eq "switch to Masquerade" "ipforward/web configured" \
  "$(ferryctl apply -f "$(forward_yaml web 80 8080 Masquerade)")"
apply_and_wait "$WORK/fwd.yaml" >/dev/null
expect_eq "TCP Masquerade source seen by node-b" "10.8.0.1" "$(seen_by_backend http://192.0.2.1/)"

# 3. Port change: 8000 now forwards, 80 no longer does.
apply_and_wait "$(forward_yaml web 8000 8080 Preserve)" >/dev/null
expect_eq "new frontend port" "$CLIENT" "$(seen_by_backend http://192.0.2.1:8000/)"
if seen_by_backend http://192.0.2.1/ >/dev/null 2>&1; then fail "old port 80 still forwards"; fi
log "ok: old port 80 no longer forwards"

# 4. Backend change: another backend port (the server on 9090).
apply_and_wait "$(forward_yaml web 8000 9090 Preserve)" >/dev/null
expect_eq "new backend port" "$CLIENT" "$(seen_by_backend http://192.0.2.1:8000/)"
# Here-strings, not pipes: under pipefail an early-exiting grep -q can make
# the pipeline fail with SIGPIPE in `ip`.
rules=$(in_ns "$NS_B" ip rule list)
grep -q "sport 9090" <<<"$rules" || fail "node-b has no return rule for 9090"
grep -q "ipproto tcp sport 8080" <<<"$rules" && fail "stale return rule for 8080"
log "ok: node-b's return rule follows the backend port"

# 5. IPv6, Preserve.
apply_and_wait "$EXAMPLES/web6-forward.yaml" >/dev/null
expect_eq "IPv6 Preserve source seen by node-b" "2001:db8::10" "$(seen_by_backend 'http://[2001:db8::1]/')"

# 6. A conflicting forward is rejected at apply and nothing changes.
before=$(ferryctl get forwards -o yaml)
sed -e 's/name: web6/name: web6-dup/' "$EXAMPLES/web6-forward.yaml" >"$WORK/dup.yaml"
if err=$(ferryctl apply -f "$WORK/dup.yaml" 2>&1); then fail "conflict accepted: $err"; fi
[[ $err == *web6* && $err == *web6-dup* ]] || fail "conflict error does not name both: $err"
expect_eq "store unchanged after conflict" "$before" "$(ferryctl get forwards -o yaml)"
log "ok: conflict rejected: $err"

# 7. An address node-a does not have is not accepted (no claiming others' IPs).
sed -e 's/name: web6/name: stolen/' -e 's/2001:db8::1/2001:db8::99/' -e 's/port: 80/port: 81/' \
  "$EXAMPLES/web6-forward.yaml" >"$WORK/stolen.yaml"
ferryctl apply -f "$WORK/stolen.yaml" >/dev/null
wait_for "stolen forward reported not accepted" 10 bash -c \
  "'$FERRY_BIN/ferryctl' get forward stolen -o json | grep -q AddressNotOnNode"
ferryctl delete forward stolen >/dev/null
log "ok: a frontend address not on node-a is AddressNotOnNode"

# 8. Deleting removes everything the agents installed for the forwards.
ferryctl delete forward web
ferryctl delete -f "$EXAMPLES/web6-forward.yaml"
nat_elements() { in_ns "$NS_A" nft -j list table inet ferry | python3 -c '
import json, sys
objs = json.load(sys.stdin)["nftables"]
print(sum(len(o[k].get("elem", [])) for o in objs for k in ("map", "set") if k in o))'; }
ferry_rules() { in_ns "$NS_B" ip rule list | grep -c "lookup 7[01][0-9][0-9]" || true; }
ferry_routes() { { in_ns "$NS_B" ip route show table all proto 254; in_ns "$NS_B" ip -6 route show table all proto 254; } | wc -l; }
no_elements() { [[ $(nat_elements) == 0 ]]; }
no_rules() { [[ $(ferry_rules) == 0 ]]; }
no_routes() { [[ $(ferry_routes) == 0 ]]; }
wait_for "node-a's DNAT elements removed" 10 no_elements
wait_for "node-b's rules removed" 10 no_rules
wait_for "node-b's routes removed" 10 no_routes
if seen_by_backend http://192.0.2.1:8000/ >/dev/null 2>&1; then fail "deleted forward still serves"; fi
log "ok: delete removed all DNAT elements, rules and routes"
log "PASS"
