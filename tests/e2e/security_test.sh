#!/usr/bin/env bash
# Secure by default (issue 11), end to end: the controller listens on the
# lan (192.0.2.100:7443, TLS only), the agents join by one-time token and run
# as uid nobody with CAP_NET_ADMIN alone, and people use client configs with
# roles. Checks, in order:
#   plaintext and certificate-less calls refused; a token for node-b cannot
#   join as node-a; a used token is refused; the agents run unprivileged and
#   serve the seed scenario (applied by an editor); a viewer is refused
#   writes with nothing changed but may read; the audit log records the
#   editor's write and the viewer's denial; admission refuses reserved
#   ports, link-local backends and a foreign returnVia, naming the field; a
#   second agent in a namespace refuses to start; an agent restarts from its
#   state dir without a token; a revoked credential is refused.

# Checked before lib.sh makes a work dir, so a skip leaves nothing behind.
skip() { echo "SKIP: $*" >&2; exit 77; }
[[ $(id -u) -eq 0 ]] || skip "needs root to create network namespaces"
for tool in ip nft wireguard-go wg curl python3 setpriv timeout; do
  command -v "$tool" >/dev/null || skip "missing tool: $tool"
done
getent passwd nobody >/dev/null && getent group nogroup >/dev/null ||
  skip "needs the user nobody and the group nogroup (agents run unprivileged)"

source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
trap cleanup EXIT
need_root

CTL=192.0.2.100:7443
AUDIT=$WORK/data/audit.log
CA=$WORK/data/pki/ca.crt
EDITOR=erin
VIEWER=victor
STATE_A=$WORK/state/node-a
STATE_B=$WORK/state/node-b
AGENT_TIMEOUT=30

# expect_refused WHAT PATTERN CMD...: CMD exits non-zero on its own and its
# output contains PATTERN. The output is left in REFUSAL. CMD must be
# bounded: ferryctl by its request timeout, agents by `timeout` (124: still
# running when it expired, so not a refusal).
expect_refused() {
  local what=$1 pattern=$2 rc=0
  shift 2
  REFUSAL=$("$@" 2>&1) || rc=$?
  ((rc != 0)) || fail "$what: succeeded; expected a refusal. Output: $REFUSAL"
  ((rc != 124)) || fail "$what: still running after ${AGENT_TIMEOUT}s; expected a refusal. Output: $REFUSAL"
  [[ $REFUSAL == *"$pattern"* ]] || fail "$what: exit $rc, but the output does not say '$pattern': $REFUSAL"
  log "ok: $what refused (exit $rc): $(grep -m1 -F -- "$pattern" <<<"$REFUSAL")"
}

# forward_version NAME: "resourceVersion/generation" of a forward.
forward_version() {
  ferryctl get forward "$1" -o json | python3 -c '
import json, sys
m = json.load(sys.stdin)["metadata"]
print("%s/%s" % (m["resourceVersion"], m["generation"]))'
}

forward_names() { ferryctl get forwards -o name | sort | tr '\n' ' '; }

node_disconnected() { [[ $(condition_status node "$1" Connected) != True ]]; }

# ---------------------------------------------------------------------------
log "setup: namespaces, tunnel, backend servers, controller on $CTL (TLS) and unix:$SOCK"
make_topology
make_controller_ns 192.0.2.100
start_backend_servers 8080
CONTROLLER_FLAGS=(--listen "$CTL" --audit-log "$AUDIT")
start_controller
[[ -s $CA ]] || fail "the controller made no CA at $CA"
log "ok: controller up; it made its CA at $CA"

# ---------------------------------------------------------------------------
log "check: plaintext and certificate-less calls are refused on $CTL"
# One gRPC message: ListRequest{kind: IP_FORWARD}, a valid request, so that
# only the caller's identity can be the reason for a refusal.
printf '\0\0\0\0\2\10\1' >"$WORK/list.grpc"
grpc_call() {  # grpc_call SCHEME CURL_FLAGS...: a raw List call from the client
  local scheme=$1; shift
  in_ns "$NS_CLIENT" curl -sS --max-time 5 -D - -o "$WORK/grpc-body.bin" "$@" \
    -X POST -H 'content-type: application/grpc' -H 'te: trailers' \
    --data-binary @"$WORK/list.grpc" "$scheme://$CTL/ferry.v1.ResourceService/List"
}
rc=0
out=$(grpc_call http --http2-prior-knowledge 2>&1) || rc=$?
((rc != 0)) || fail "a plaintext HTTP/2 request got an HTTP answer: $out"
[[ $out != *grpc-status* ]] || fail "a plaintext HTTP/2 request got a gRPC answer: $out"
log "ok: plaintext HTTP/2 to $CTL gets no answer (curl exit $rc: ${out//$'\n'/ })"

rc=0
out=$(grpc_call https --http2 --cacert "$CA" 2>&1) || rc=$?
((rc == 0)) || fail "TLS without a client certificate: curl failed (exit $rc) before any gRPC answer: $out"
grep -qiE '^grpc-status: *16\b' <<<"$out" ||
  fail "TLS without a client certificate: expected grpc-status 16 (UNAUTHENTICATED), got: $out"
[[ ! -s $WORK/grpc-body.bin ]] || fail "TLS without a client certificate: List returned data"
log "ok: TLS without a client certificate: $(grep -im1 '^grpc-message' <<<"$out" | tr -d '\r') (grpc-status 16)"

# ---------------------------------------------------------------------------
log "check: join tokens are bound to their node and used once"
TOKEN_A=$(ferryctl token create --node node-a --ttl 10m 2>/dev/null)
TOKEN_B=$(ferryctl token create --node node-b --ttl 10m 2>/dev/null)
[[ $TOKEN_A == ferry1.* && $TOKEN_B == ferry1.* ]] || fail "token create printed '$TOKEN_A' / '$TOKEN_B'"
log "ok: tokens created for node-a and node-b"

make_agent_state_dir "$WORK/state/wrong"
expect_refused "node-b's token used by --node-name node-a" 'issued for node' \
  timeout "$AGENT_TIMEOUT" ip netns exec "$NS_A" "${UNPRIVILEGED[@]}" "$FERRY_BIN/ferry-agent" \
  --node-name node-a --controller "$CTL" --join-token "$TOKEN_B" --state-dir "$WORK/state/wrong"
[[ $REFUSAL == *node-b* ]] || fail "the refusal does not name the token's node node-b: $REFUSAL"
[[ ! -e $WORK/state/wrong/node.crt ]] || fail "a certificate was written after the refusal"
if ferryctl get node node-a >/dev/null 2>&1; then fail "node-a exists after a join with node-b's token"; fi
log "ok: node-a does not exist; no certificate written"

make_agent_state_dir "$STATE_A"
make_agent_state_dir "$STATE_B"
start_unprivileged_agent "$NS_A" node-a "$CTL" "$STATE_A" --join-token "$TOKEN_A"
start_unprivileged_agent "$NS_B" node-b "$CTL" "$STATE_B" --join-token "$TOKEN_B"
wait_for "node-a connected" 30 node_connected node-a
wait_for "node-b connected" 30 node_connected node-b
log "ok: node-a and node-b joined with their tokens and are Connected"
for f in node.key node.crt ca.crt; do
  [[ -s $STATE_A/$f ]] || fail "node-a's state dir has no $f"
done
expect_eq "node-a's key: owner and mode" "nobody 600" "$(stat -c '%U %a' "$STATE_A/node.key")"

make_agent_state_dir "$WORK/state/reuse"
expect_refused "node-a's token used a second time" 'already used' \
  timeout "$AGENT_TIMEOUT" ip netns exec "$NS_CLIENT" "${UNPRIVILEGED[@]}" "$FERRY_BIN/ferry-agent" \
  --node-name node-a --controller "$CTL" --join-token "$TOKEN_A" --state-dir "$WORK/state/reuse"
node_connected node-a || fail "node-a is no longer Connected after the refused reuse"

# ---------------------------------------------------------------------------
log "check: the agents run as nobody with CAP_NET_ADMIN alone"
for node in node-a node-b; do
  pid_var=AGENT_PID_${node//-/_}
  pid=${!pid_var}
  status=$(cat "/proc/$pid/status")
  [[ $(awk '/^Name:/ {print $2}' <<<"$status") == ferry-agent ]] ||
    fail "$node: pid $pid is not ferry-agent: $(head -1 <<<"$status")"
  expect_eq "$node agent's uids (real, effective, saved, fs)" "65534 65534 65534 65534" \
    "$(awk '/^Uid:/ {print $2, $3, $4, $5}' <<<"$status")"
  expect_eq "$node agent's effective capabilities" "0000000000001000" \
    "$(awk '/^CapEff:/ {print $2}' <<<"$status")"
  expect_eq "$node agent's bounding set" "0000000000001000" \
    "$(awk '/^CapBnd:/ {print $2}' <<<"$status")"
done

# ---------------------------------------------------------------------------
log "check: the seed scenario, applied by an editor over mutual TLS"
ferryctl credentials create "$EDITOR" --role editor --server "$CTL" -o "$WORK/editor.yaml"
ferryctl credentials create "$VIEWER" --role viewer --server "$CTL" -o "$WORK/viewer.yaml"
expect_eq "editor config mode" "600" "$(stat -c %a "$WORK/editor.yaml")"
expect_eq "editor's apply" "ipforward/web created" \
  "$(ferryctl_config "$WORK/editor.yaml" apply -f "$EXAMPLES/web-forward.yaml")"
ferryctl_config "$WORK/editor.yaml" wait forward/web --for=condition=Ready --timeout=30s >/dev/null
expect_eq "TCP Preserve source seen by node-b" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"
expect_eq "UDP Preserve source seen by node-b" "$CLIENT" "$(udp_seen_by_backend 192.0.2.1 5353)"

# ---------------------------------------------------------------------------
log "check: a viewer may read but not write"
# Settled first (status written for both nodes), so any later change of
# resourceVersion would be a write.
wait_for "web settled" 30 fleet_converged
before=$(forward_version web)
sed -e 's/port: 80$/port: 8000/' "$EXAMPLES/web-forward.yaml" >"$WORK/web-changed.yaml"
expect_refused "viewer's apply" "permission denied: user \"$VIEWER\" (viewer) may not apply" \
  ferryctl_config "$WORK/viewer.yaml" apply -f "$WORK/web-changed.yaml"
expect_refused "viewer's delete" "permission denied: user \"$VIEWER\" (viewer) may not delete" \
  ferryctl_config "$WORK/viewer.yaml" delete forward web
expect_eq "web's resourceVersion/generation after the viewer's attempts" "$before" "$(forward_version web)"
viewer_get=$(ferryctl_config "$WORK/viewer.yaml" get forwards -o name)
expect_eq "viewer's get forwards" "ipforward/web" "$viewer_get"
expect_eq "TCP still forwarded" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"

# ---------------------------------------------------------------------------
log "check: the audit log records the editor's write and the viewer's denials"
[[ -s $AUDIT ]] || fail "no audit log at $AUDIT"
python3 - "$AUDIT" "$EDITOR" "$VIEWER" <<'PY' || fail "audit log check failed (above)"
import json, sys
path, editor, viewer = sys.argv[1:]
lines = [l for l in open(path) if l.strip()]
entries = []
for n, line in enumerate(lines, 1):
    try:
        entries.append(json.loads(line))
    except ValueError as e:
        sys.exit(f"{path}:{n}: not one JSON object ({e}): {line!r}")
keys = {"time", "user", "role", "source", "verb", "kind", "name", "resourceVersion", "allowed",
        "outcome", "reason"}
for n, e in enumerate(entries, 1):
    missing = keys - e.keys()
    if missing:
        sys.exit(f"{path}:{n}: missing {sorted(missing)}: {e}")

def find(**want):
    return [e for e in entries if all(e.get(k) == v for k, v in want.items())]

applied = find(user=editor, verb="apply", kind="IPForward", name="web", allowed=True)
if not applied or not applied[0]["resourceVersion"]:
    sys.exit(f"no allowed apply of IPForward web by {editor} with a resourceVersion in:\n" +
             "".join(lines))
for verb in ("apply", "delete"):
    denied = find(user=viewer, verb=verb, kind="IPForward", allowed=False)
    if not denied:
        sys.exit(f"no denied {verb} by {viewer} in:\n" + "".join(lines))
    print(f"ok: audit: {json.dumps(denied[0])}")
print(f"ok: audit: {json.dumps(applied[0])}")
PY

# ---------------------------------------------------------------------------
log "check: admission refuses what a forward may not claim, naming the field"
names_before=$(forward_names)
cat >"$WORK/ssh.yaml" <<'EOF'
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: ssh}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 22, targetPort: 8080}]
  sourceIP: Preserve
EOF
cat >"$WORK/metadata.yaml" <<'EOF'
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: metadata}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 169.254.169.254}
  ports: [{protocol: TCP, port: 8081, targetPort: 80}]
  sourceIP: Masquerade
EOF
cat >"$WORK/via.yaml" <<'EOF'
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: via}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2, returnVia: 192.0.2.2}
  ports: [{protocol: TCP, port: 8082, targetPort: 8080}]
  sourceIP: Preserve
EOF
expect_refused "frontend port 22" "spec.ports[0].port: port 22 is reserved on node-a" \
  ferryctl_config "$WORK/editor.yaml" apply -f "$WORK/ssh.yaml"
expect_refused "Masquerade backend 169.254.169.254" "spec.backend.address: 169.254.169.254 is link-local" \
  ferryctl_config "$WORK/editor.yaml" apply -f "$WORK/metadata.yaml"
expect_refused "returnVia that is node-b's address" "spec.backend.returnVia: 192.0.2.2 is not an address of node-a" \
  ferryctl_config "$WORK/editor.yaml" apply -f "$WORK/via.yaml"
expect_eq "forwards after the refused applies" "$names_before" "$(forward_names)"
expect_eq "web's resourceVersion/generation after the refused applies" "$before" "$(forward_version web)"

# ---------------------------------------------------------------------------
log "check: a second agent in node-a's namespace refuses to start"
expect_refused "second agent in node-a's namespace" "another ferry-agent" \
  timeout "$AGENT_TIMEOUT" ip netns exec "$NS_A" "${UNPRIVILEGED[@]}" "$FERRY_BIN/ferry-agent" \
  --node-name node-a --controller "$CTL" --state-dir "$STATE_A"
kill -0 "$AGENT_PID_node_a" 2>/dev/null || fail "the first node-a agent died"
node_connected node-a || fail "node-a is not Connected after the second agent's attempt"
expect_eq "TCP still forwarded by the first agent" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"

# ---------------------------------------------------------------------------
log "check: an agent restarts from its state dir, without a token"
stop_process "$AGENT_PID_node_b"
wait_for "node-b seen disconnected" 30 node_disconnected node-b
start_unprivileged_agent "$NS_B" node-b "$CTL" "$STATE_B"
wait_for "node-b reconnected from its state dir" 30 node_connected node-b
sed -e 's/sourceIP: Preserve/sourceIP: Masquerade/' "$EXAMPLES/web-forward.yaml" >"$WORK/web-masq.yaml"
expect_eq "editor switches web to Masquerade" "ipforward/web configured" \
  "$(ferryctl_config "$WORK/editor.yaml" apply -f "$WORK/web-masq.yaml")"
wait_for "web converged after node-b's restart" 30 fleet_converged
expect_eq "TCP Masquerade source seen by node-b (config reached the restarted agent)" "10.8.0.1" \
  "$(seen_by_backend http://192.0.2.1/)"

# ---------------------------------------------------------------------------
log "check: a revoked credential is refused"
out=$(ferryctl credentials revoke "$VIEWER")
[[ $out == "revoked "[1-9]*" certificate(s) of $VIEWER" ]] || fail "credentials revoke printed: $out"
log "ok: $out"
expect_refused "revoked viewer's get" "of \"$VIEWER\" is revoked" \
  ferryctl_config "$WORK/viewer.yaml" get forwards
ferryctl_config "$WORK/editor.yaml" get forward web -o name >/dev/null ||
  fail "the editor is refused after the viewer's revocation"
log "ok: the editor is still served"

log "PASS"
