#!/usr/bin/env bash
# Backup and restore (issue 16, operations): `ferry-controller snapshot save`
# while the controller runs and a client applies forwards in a loop, then
# `snapshot restore` into a fresh data dir and a second controller on it.
# Asserted:
# - the restored controller serves exactly the objects the snapshot's
#   revision held: every IPForward, Node and Event, with the same uid,
#   generation, resourceVersion, labels and spec (status aside: forward
#   statuses are observed state, recomputed by each controller);
# - every forward acknowledged before the save began is in it, none applied
#   after it ended is, and none is half there;
# - the CA and serving certificate come back (DATA_DIR/pki byte-identical);
# - a new apply on the restored controller gets a revision after them all;
# - restore refuses a non-empty data dir (the live one) and a corrupt file,
#   changing nothing.
# The nodes are the seed lab's, with real agents (namespaces this test
# creates); the agents are stopped before the save, so the Nodes and Events
# the snapshot holds stay as they were while the writer goes on.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root

make_topology
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b
ferryctl apply -f "$FERRY_SRC/manifests/examples/web-forward.yaml"
ferryctl wait forward/web --for=condition=Ready --timeout=30s
ferryctl label node node-a tier=edge >/dev/null
for node in node-a node-b; do
  stop_process "$(eval echo "\$AGENT_PID_${node//-/_}")"
done
node_disconnected() { ! node_connected "$1"; }
wait_for "node-a shown disconnected" 40 node_disconnected node-a
wait_for "node-b shown disconnected" 40 node_disconnected node-b
(( $(ferryctl get events -o name | wc -l) >= 4 )) || fail "expected connect/disconnect events"

# writer: one new forward per apply until the stop file appears; names are
# logged once acknowledged (ferryctl exited 0).
writer() {
  local k=0
  while [[ ! -e $WORK/writer.stop ]] && (( k < 5000 )); do
    cat >"$WORK/w.yaml" <<EOF
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: w-$k, labels: {seq: "$k"}}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: $(( 20000 + k )), targetPort: 8080}]
EOF
    if timeout 30 "$FERRY_BIN/ferryctl" apply -f "$WORK/w.yaml" >/dev/null 2>>"$WORK/writer.err"; then
      echo "w-$k" >>"$WORK/acked"
    fi
    k=$(( k + 1 ))
  done
}
acked_count() { [[ -f $WORK/acked ]] && wc -l <"$WORK/acked" || echo 0; }
acked_at_least() { (( $(acked_count) >= $1 )); }

writer &
WRITER_PID=$!
PIDS+=("$WRITER_PID")
wait_for "the writer's first 30 forwards" 60 acked_at_least 30
cp "$WORK/acked" "$WORK/acked.before-save"
"$FERRY_BIN/ferry-controller" snapshot save --data-dir "$WORK/data" "$WORK/backup.snap" \
  | tee "$WORK/save.out"
cp "$WORK/acked" "$WORK/acked.after-save"
wait_for "forwards applied after the save" 60 acked_at_least $(( $(wc -l <"$WORK/acked.after-save") + 10 ))
touch "$WORK/writer.stop"
wait_for "writer to stop" 40 process_exited "$WRITER_PID"
wait "$WRITER_PID" || true
forget_pid "$WRITER_PID"
[[ $(stat -c %a "$WORK/backup.snap") == 600 ]] || fail "the snapshot holds the CA key: must be 0600"
"$FERRY_BIN/ferry-controller" snapshot inspect "$WORK/backup.snap" | tee "$WORK/inspect.out"
REVISION=$(sed -n 's/.*: revision \([0-9]*\),.*/\1/p' "$WORK/inspect.out")
[[ -n $REVISION ]] || fail "snapshot inspect printed no revision"
log "snapshot at revision $REVISION; writer acknowledged $(acked_count) forwards in all"

# Refusals change nothing: the live data dir, a non-empty one, a corrupt file.
if "$FERRY_BIN/ferry-controller" snapshot restore --data-dir "$WORK/data" "$WORK/backup.snap" \
    2>"$WORK/refuse.err"; then
  fail "restore over the live data dir succeeded"
fi
grep -q "is not empty" "$WORK/refuse.err" || fail "refusal does not say why: $(cat "$WORK/refuse.err")"
head -c 8192 "$WORK/backup.snap" >"$WORK/truncated.snap"
if "$FERRY_BIN/ferry-controller" snapshot restore --data-dir "$WORK/never" "$WORK/truncated.snap" \
    2>"$WORK/corrupt.err"; then
  fail "a truncated snapshot was restored"
fi
grep -q "corrupt" "$WORK/corrupt.err" || fail "corrupt refusal does not say so: $(cat "$WORK/corrupt.err")"
[[ ! -e $WORK/never ]] || fail "a refused restore created its data dir"
log "ok: refused $(cat "$WORK/refuse.err")"

# What the source holds now, then the restored controller beside it.
dump() {  # dump DIR: forwards, nodes, events as JSON files in DIR
  mkdir -p "$1"
  for kind in forwards nodes events; do ferryctl get "$kind" -o json >"$1/$kind.json"; done
}
dump "$WORK/source"
"$FERRY_BIN/ferry-controller" snapshot restore --data-dir "$WORK/restored" "$WORK/backup.snap"
cmp "$WORK/data/pki/ca.crt" "$WORK/restored/pki/ca.crt" || fail "CA certificate differs"
cmp "$WORK/data/pki/ca.key" "$WORK/restored/pki/ca.key" || fail "CA key differs"
cmp "$WORK/data/pki/server.crt" "$WORK/restored/pki/server.crt" || fail "serving certificate differs"
RESTORED_SOCK=$WORK/restored.sock
"$FERRY_BIN/ferry-controller" --data-dir "$WORK/restored" --listen "unix:$RESTORED_SOCK" \
  >>"$WORK/restored-controller.log" 2>&1 &
RESTORED_PID=$!
PIDS+=("$RESTORED_PID")
wait_for "restored controller answers" 20 env FERRY_SERVER="unix:$RESTORED_SOCK" \
  "$FERRY_BIN/ferryctl" get nodes
FERRY_SERVER=unix:$RESTORED_SOCK dump "$WORK/restored-view"

python3 - "$WORK" "$REVISION" <<'PY'
import json, sys
work, revision = sys.argv[1], int(sys.argv[2])

def load(view, kind):
    items = json.load(open("%s/%s/%s.json" % (work, view, kind))).get("items", [])
    out = {}
    for o in items:
        o.pop("status", None)
        out[o["metadata"]["name"]] = o
    return out

def rv(o):
    return int(o["metadata"]["resourceVersion"])

for kind in ("forwards", "nodes", "events"):
    source, restored = load("source", kind), load("restored-view", kind)
    # Forwards are only ever created by the writer after the save began, so
    # the source's objects at or before the snapshot's revision are what it
    # held; Nodes and Events did not change after the agents stopped.
    held = {n: o for n, o in source.items() if rv(o) <= revision}
    later = sorted(n for n, o in restored.items() if rv(o) > revision)
    assert not later, "%s after the snapshot's revision in the restore: %s" % (kind, later[:10])
    missing = sorted(set(held) - set(restored))
    extra = sorted(set(restored) - set(held))
    assert not missing, "%s missing from the restore: %s" % (kind, missing[:10])
    assert not extra, "%s in the restore the source never held then: %s" % (kind, extra[:10])
    differ = [n for n in held if held[n] != restored[n]]
    assert not differ, "%s differ (uid, generation, resourceVersion, labels or spec): %s\n%s\n%s" % (
        kind, differ[:5], held[differ[0]], restored[differ[0]])
    print("%s: %d identical, resourceVersions %s" % (
        kind, len(held), sorted(rv(o) for o in held.values())[-3:]))

restored = load("restored-view", "forwards")
before = [l.strip() for l in open(work + "/acked.before-save")]
after = set(l.strip() for l in open(work + "/acked.after-save"))
acked = [l.strip() for l in open(work + "/acked")]
lost = [n for n in before if n not in restored]
assert not lost, "forwards acknowledged before the save are not in it: %s" % lost[:10]
too_new = [n for n in acked if n not in after and n in restored]
assert not too_new, "forwards applied after the save ended are in it: %s" % too_new[:10]
assert restored["web"]["metadata"]["labels"]["team"] == "web"
nodes = load("restored-view", "nodes")
assert nodes["node-a"]["metadata"]["labels"].get("tier") == "edge", nodes["node-a"]["metadata"]
print("writer: %d acknowledged before the save (all restored), %d after it (none restored)" % (
    len(before), len([n for n in acked if n not in after])))
PY

# The store's revision continues after the snapshot's.
cat >"$WORK/new.yaml" <<EOF
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: after-restore}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 30000, targetPort: 8080}]
EOF
FERRY_SERVER=unix:$RESTORED_SOCK ferryctl apply -f "$WORK/new.yaml"
NEW_RV=$(FERRY_SERVER=unix:$RESTORED_SOCK ferryctl get forward after-restore -o json |
  python3 -c 'import json,sys; print(json.load(sys.stdin)["metadata"]["resourceVersion"])')
(( NEW_RV > REVISION )) || fail "new apply at revision $NEW_RV, not after the snapshot's $REVISION"
log "ok: a new apply on the restored controller is at revision $NEW_RV > $REVISION"
stop_process "$RESTORED_PID"
log "ok: backup and restore"
