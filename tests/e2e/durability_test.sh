#!/usr/bin/env bash
# Durability: the controller is killed with SIGKILL, several times, while
# clients apply thousands of forwards. "Acknowledged" means `ferryctl apply`
# exited 0 (the controller answered the Apply RPC after its commit); every
# acknowledged forward must be present afterwards with the acknowledged
# content. Nothing may be half-written: every stored object decodes, and
# every manifest of several forwards (one Apply, one transaction) is entirely
# present or entirely absent, acknowledged or not.
#
# Then the real binary must refuse a corrupted database, and one with a newer
# schema, with a clear message and a non-zero exit, leaving the file
# byte-identical.
#
# Needs no namespaces: the controller serves a unix socket, no agent runs.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
command -v sqlite3 >/dev/null || { echo "SKIP: needs the sqlite3 tool" >&2; exit 77; }

WRITERS=${WRITERS:-4}
TARGET_ACKED=${TARGET_ACKED:-2000}  # forwards acknowledged before the writers stop
KILLS=${KILLS:-4}                   # SIGKILLs of the controller while writing
MAX_PER_WRITER=${MAX_PER_WRITER:-12000}

acked_forwards() { cat "$WORK"/acked.* 2>/dev/null | wc -w; }
acked_at_least() { (( $(acked_forwards) >= $1 )); }

# writer W: applies manifests of one forward, and every third one of ten,
# until the stop file appears (bounded by MAX_PER_WRITER forwards). Each
# forward has a unique name, port and label, so its content is checkable.
writer() {
  local w=$1 k=0 applies=0
  local file=$WORK/writer-$w.yaml
  while [[ ! -e $WORK/writers.stop ]] && (( k + 10 <= MAX_PER_WRITER )); do
    local n=1 names=() i
    (( applies++ % 3 == 2 )) && n=10
    : >"$file"
    for (( i = 0; i < n; i++ )); do
      local id=$(( w * MAX_PER_WRITER + k + i ))
      names+=("w$w-$((k + i))")
      cat >>"$file" <<EOF
---
apiVersion: ferry.dev/v1
kind: IPForward
metadata:
  name: w$w-$((k + i))
  labels: {seq: "$id"}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports:
  - {protocol: TCP, port: $(( 10000 + id % 50000 )), targetPort: 8080}
EOF
    done
    # Bounded: an apply that hangs counts as not acknowledged.
    if timeout 30 "$FERRY_BIN/ferryctl" apply -f "$file" >/dev/null 2>>"$WORK/writer-$w.err"; then
      echo "${names[*]}" >>"$WORK/acked.$w"
    else
      echo "${names[*]}" >>"$WORK/unacked.$w"
    fi
    k=$(( k + n ))
  done
}

(( WRITERS * MAX_PER_WRITER <= 50000 )) || fail "WRITERS * MAX_PER_WRITER must fit 50000 ports"
start_controller
WRITER_PIDS=()
for (( w = 0; w < WRITERS; w++ )); do
  writer "$w" &
  WRITER_PIDS+=($!)
  PIDS+=($!)
done

# Kill the controller each time another share of the target is acknowledged.
for (( kill = 1; kill <= KILLS; kill++ )); do
  wait_for "acknowledged applies before kill $kill" 120 \
    acked_at_least $(( TARGET_ACKED * kill / (KILLS + 1) ))
  stop_process "$CONTROLLER_PID" KILL
  log "kill -9 controller ($kill/$KILLS) with $(acked_forwards) forwards acknowledged"
  start_controller
done
wait_for "$TARGET_ACKED acknowledged forwards" 180 acked_at_least "$TARGET_ACKED"
touch "$WORK/writers.stop"
for pid in "${WRITER_PIDS[@]}"; do
  wait_for "writer $pid to stop" 30 process_exited "$pid"
  wait "$pid" || true
  forget_pid "$pid"
done
unacked=$(cat "$WORK"/unacked.* 2>/dev/null | wc -l)
log "writers stopped: $(acked_forwards) forwards acknowledged, $unacked applies not acknowledged"
(( unacked > 0 )) || fail "no apply failed: the kills did not land while clients were writing"

# One last kill -9, then check what the restarted controller serves.
stop_process "$CONTROLLER_PID" KILL
start_controller
ferryctl get forwards -o json >"$WORK/stored.json"
stored_rows=$(sqlite3 -readonly "$WORK/data/ferry.db" \
  "SELECT count(*) FROM objects WHERE kind = 'IPForward'")
python3 - "$WORK" "$WRITERS" "$MAX_PER_WRITER" "$stored_rows" <<'PY'
import glob, json, sys
work, writers, per_writer, rows = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
stored = {f["metadata"]["name"]: f for f in json.load(open(work + "/stored.json"))["items"]}
# Every row in the database decoded into a listed object.
assert len(stored) == rows, "%d rows in the database, %d objects listed" % (rows, len(stored))

def expected(name):
    w, k = name[1:].split("-")
    ident = int(w) * per_writer + int(k)
    return str(ident), 10000 + ident % 50000

def content_ok(name):
    f = stored[name]
    seq, port = expected(name)
    return (f["metadata"].get("labels", {}).get("seq") == seq and
            [p["port"] for p in f["spec"]["ports"]] == [port])

acked = [l.split() for p in glob.glob(work + "/acked.*") for l in open(p)]
unacked = [l.split() for p in glob.glob(work + "/unacked.*") for l in open(p)]
lost = [n for names in acked for n in names if n not in stored]
assert not lost, "acknowledged forwards lost: %s" % lost[:20]
wrong = [n for names in acked for n in names if not content_ok(n)]
assert not wrong, "acknowledged forwards with other content: %s" % wrong[:20]
half = [names for names in acked + unacked
        if len(names) > 1 and 0 < sum(n in stored for n in names) < len(names)]
assert not half, "multi-forward applies half-written: %s" % half[:10]
known = {n for names in acked + unacked for n in names}
strays = sorted(set(stored) - known)
assert not strays, "stored forwards nobody applied: %s" % strays[:20]
committed_unacked = sum(all(n in stored for n in names) for names in unacked)
multi = sum(len(names) > 1 for names in acked + unacked)
print("acked forwards %d (all present with their content), applies of 10 forwards %d "
      "(none half-written), unacknowledged applies %d (%d committed anyway), stored %d"
      % (sum(map(len, acked)), multi, len(unacked), committed_unacked, len(stored)))
PY
log "ok: nothing acknowledged was lost and nothing is half-written"

# The real binary refuses a damaged database and leaves it as it was.
stop_process "$CONTROLLER_PID"
[[ ! -e $WORK/data/ferry.db-wal || ! -s $WORK/data/ferry.db-wal ]] ||
  log "note: WAL not checkpointed at shutdown ($(stat -c %s "$WORK/data/ferry.db-wal") bytes)"

# refuse_db WHAT DIR PATTERN: the controller must exit non-zero on DIR's
# database with a message matching PATTERN, and not change the file.
refuse_db() {
  local what=$1 dir=$2 pattern=$3 rc=0 out
  cp "$dir/ferry.db" "$WORK/$what.orig"
  out=$(timeout 30 "$FERRY_BIN/ferry-controller" --data-dir "$dir" --listen "unix:$dir/c.sock" 2>&1) ||
    rc=$?
  (( rc != 0 && rc != 124 )) || fail "$what: controller exit status $rc (want a non-zero refusal): $out"
  grep -Eq "$pattern" <<<"$out" || fail "$what: message does not say why: $out"
  cmp "$dir/ferry.db" "$WORK/$what.orig" || fail "$what: the controller changed the file"
  log "ok: $what refused (exit $rc), file byte-identical: $(grep -E "$pattern" <<<"$out" | head -n1)"
}

# A leaf page of the objects table overwritten with garbage (the header
# stays valid): dbstat says which page that is, so the damage always lands
# in live data rather than, say, a free page.
mkdir -p "$WORK/corrupt"
cp "$WORK/data/ferry.db" "$WORK/corrupt/ferry.db"
page_size=$(sqlite3 -readonly "$WORK/corrupt/ferry.db" "PRAGMA page_size")
leaf=$(sqlite3 -readonly "$WORK/corrupt/ferry.db" \
  "SELECT pageno FROM dbstat WHERE name = 'objects' AND pagetype = 'leaf' LIMIT 1 OFFSET 3")
[[ -n $leaf ]] || fail "no leaf page of table objects found"
head -c "$page_size" /dev/urandom |
  dd of="$WORK/corrupt/ferry.db" bs="$page_size" seek=$(( leaf - 1 )) conv=notrunc status=none
refuse_db "corrupt-page" "$WORK/corrupt" "corrupt.*refusing to open it"

# Not a SQLite file at all (header overwritten).
mkdir -p "$WORK/garbage"
cp "$WORK/data/ferry.db" "$WORK/garbage/ferry.db"
head -c 100 /dev/urandom | dd of="$WORK/garbage/ferry.db" bs=100 conv=notrunc status=none
refuse_db "garbage-header" "$WORK/garbage" "not a SQLite database|corrupt"

# A database written by a newer ferry-controller.
mkdir -p "$WORK/newer"
cp "$WORK/data/ferry.db" "$WORK/newer/ferry.db"
sqlite3 "$WORK/newer/ferry.db" "UPDATE meta SET value = 999 WHERE key = 'schema_version'"
rm -f "$WORK/newer/ferry.db-wal" "$WORK/newer/ferry.db-shm"
refuse_db "newer-schema" "$WORK/newer" "schema_version 999, newer than this ferry-controller"
log "PASS"
