#!/usr/bin/env bash
# Every manifest in tests/corpus/invalid is rejected with one error line that
# names the field (or, for syntax and whole-document errors, what is wrong)
# and the line, file:LINE:column; the store is unchanged and the controller
# keeps serving. Each case's .expect holds that text and line. Needs no root: the controller listens on
# a unix socket in a temp dir.
set -euo pipefail
FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_SRC/build/bin}
WORK=$(mktemp -d /tmp/ferry-bad.XXXXXX)
export FERRY_SERVER=unix:$WORK/c.sock
ctl() { "$FERRY_BIN/ferryctl" "$@"; }
cleanup() {
  local rc=$?
  [[ -n ${CPID:-} ]] && kill "$CPID" 2>/dev/null && wait "$CPID" 2>/dev/null
  [[ $rc -ne 0 ]] && tail -n 20 "$WORK/controller.log" >&2
  rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$FERRY_BIN/ferry-controller" --data-dir "$WORK/data" --listen "unix:$WORK/c.sock" >"$WORK/controller.log" 2>&1 &
CPID=$!
for _ in $(seq 200); do ctl get forwards >/dev/null 2>&1 && break; sleep 0.05; done
ctl get forwards >/dev/null || fail "controller did not start"

ctl apply -f "$FERRY_SRC/manifests/examples/web-forward.yaml" >/dev/null
before=$(ctl get forwards -o yaml)

# Generated cases too large or too nested to keep in the repository.
gen=$WORK/gen; mkdir -p "$gen"
{ printf 'apiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n  name: huge\n  labels:\n'
  for i in $(seq 60000); do printf '    k%d: %s\n' "$i" vvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvvv; done; } >"$gen/huge.yaml"
printf 'larger than 1048576 bytes\n1\n' >"$gen/huge.expect"
{ printf 'apiVersion: ferry.dev/v1\nkind: IPForward\nmetadata:\n  name: deep\nspec: '
  for _ in $(seq 5000); do printf '['; done; echo; } >"$gen/deep-nesting.yaml"
printf 'nesting deeper than 64 levels\n5\n' >"$gen/deep-nesting.expect"
# A valid manifest whose frontend conflicts with the stored forward: the
# controller finds it, ferryctl points it at the port's line.
sed 's/name: web$/name: web-copy/' "$FERRY_SRC/manifests/examples/web-forward.yaml" >"$gen/conflict.yaml"
conflict_line=$(grep -n -- '- protocol: TCP' "$gen/conflict.yaml" | head -1 | cut -d: -f1)
printf 'ipforward/web-copy: spec.ports[0]\n%s\n' "$conflict_line" >"$gen/conflict.expect"

n=0
for f in "$FERRY_SRC"/tests/corpus/invalid/*.yaml "$gen"/*.yaml; do
  case=$(basename "$f" .yaml)
  { read -r expect; read -r line; } <"${f%.yaml}.expect"
  [[ -n $expect && -n $line ]] || fail "$case: its .expect must give the text and the line"
  rc=0
  err=$(timeout 20 "$FERRY_BIN/ferryctl" apply -f "$f" 2>&1 >/dev/null) || rc=$?
  [[ $rc -ne 0 ]] || fail "$case: accepted"
  [[ $rc -ne 124 ]] || fail "$case: ferryctl took over 20 s"
  [[ $(printf '%s\n' "$err" | wc -l) -eq 1 ]] || fail "$case: error is not one line: $err"
  [[ $err == error:* ]] || fail "$case: error does not start with 'error:': $err"
  [[ $err == *"$expect"* ]] || fail "$case: error does not name '$expect': $err"
  # file:LINE:column, anchored at the file name (a column can equal the line).
  [[ $err == *"$case.yaml:$line:"* ]] || fail "$case: error does not give line $line: $err"
  [[ $case != conflict || $err == *"claimed by ipforward/web,"* ]] \
    || fail "conflict error does not name the existing forward: $err"
  n=$((n + 1))
done
[[ $(ctl get forwards -o yaml) == "$before" ]] || fail "the store changed"
kill -0 "$CPID" || fail "the controller died"
echo "bad input: $n manifests rejected with field errors; store unchanged; controller serving"
