#!/usr/bin/env bash
# The daemons' process surface, as an operator meets it (issue 16):
#   - ferry-controller and ferry-agent answer --help and -h with every flag
#     they accept, dashed, and exit 0; ferryctl --help exits 0;
#   - --version prints "<binary> <version>", the CMake project's version, the
#     same for both daemons;
#   - --config FILE: an unknown key fails naming the file, line and key; a
#     controller started from the shipped example config (paths moved into
#     a scratch dir), with flags on the command line in both spellings,
#     serves with JSON logs and exposes ferry_build_info, process and gRPC
#     metrics on the config's --metrics-listen.
# The last part needs root (a network namespace of its own for the
# controller's loopback listener); without it that part is skipped, saying so.
set -euo pipefail
FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "$0")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_SRC/build/bin}
WORK=$(mktemp -d /tmp/ferry-flags.XXXXXX)
NS=fx-flags-$$
CONTROLLER_PID=

fail() { echo "FAIL: $*" >&2; exit 1; }
cleanup() {
  local rc=$?
  set +e
  if [[ -n $CONTROLLER_PID ]]; then
    kill "$CONTROLLER_PID" 2>/dev/null
    for _ in $(seq 50); do kill -0 "$CONTROLLER_PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$CONTROLLER_PID" 2>/dev/null
  fi
  ip netns del "$NS" 2>/dev/null
  if [[ $rc -ne 0 && -f $WORK/controller.log ]]; then tail -n 30 "$WORK/controller.log" >&2; fi
  rm -rf "$WORK"
  return $rc
}
trap cleanup EXIT

version=$(sed -n 's/^project(ferry VERSION \([0-9.]*\).*/\1/p' "$FERRY_SRC/CMakeLists.txt")
[[ -n $version ]] || fail "no version in CMakeLists.txt's project()"

# The flags each daemon accepts, from its source: the controller's absl
# flags, the agent's parser branches.
mapfile -t controller_flags < <(sed -n 's/^ABSL_FLAG([^,]*, *\([a-z0-9_]*\),.*/\1/p' \
  "$FERRY_SRC/controller/main.cc" | tr _ -)
mapfile -t agent_flags < <(grep -o 'name == "[a-z0-9-]*"' "$FERRY_SRC/node-agent/cmd/agent_flags.cc" |
  sed 's/name == "\(.*\)"/\1/' | sort -u)
agent_flags+=(config help version)
controller_flags+=(help version)
((${#controller_flags[@]} > 20)) || fail "found only ${#controller_flags[@]} controller flags in main.cc"
((${#agent_flags[@]} > 10)) || fail "found only ${#agent_flags[@]} agent flags in agent_flags.cc"

# check_help BINARY FLAG...: --help and -h exit 0 and name every flag.
check_help() {
  local bin=$1; shift
  for opt in --help -h; do
    "$FERRY_BIN/$bin" "$opt" >"$WORK/help.txt" 2>"$WORK/help.err" ||
      fail "$bin $opt exited $? ($(head -c 300 "$WORK/help.err"))"
    local missing=()
    for flag in "$@"; do
      grep -qE -- "^  --$flag( |$)" "$WORK/help.txt" || missing+=("--$flag")
    done
    ((${#missing[@]} == 0)) || fail "$bin $opt does not list: ${missing[*]}"
    if grep -qE -- '--[a-z0-9]+_[a-z0-9_]+' "$WORK/help.txt"; then
      fail "$bin $opt spells a flag with underscores: $(grep -oE -- '--[a-z0-9]+_[a-z0-9_]+' "$WORK/help.txt" | head -3)"
    fi
  done
  echo "ok: $bin --help and -h list all $# flags, dashed"
}
check_help ferry-controller "${controller_flags[@]}"
check_help ferry-agent "${agent_flags[@]}"
"$FERRY_BIN/ferryctl" --help >/dev/null || fail "ferryctl --help exited $?"
echo "ok: ferryctl --help exits 0"

for bin in ferry-controller ferry-agent; do
  out=$("$FERRY_BIN/$bin" --version) || fail "$bin --version exited $?"
  [[ $out == "$bin $version" ]] || fail "$bin --version printed \"$out\", want \"$bin $version\""
done
echo "ok: both daemons' --version print $version"

# Unknown keys in --config: exit 2 naming file, line and key.
printf 'v: info\nmetrics-lisen: 127.0.0.1:9\n' >"$WORK/bad.yaml"
for bin in ferry-controller ferry-agent; do
  set +e
  "$FERRY_BIN/$bin" --config "$WORK/bad.yaml" >/dev/null 2>"$WORK/err.txt"
  rc=$?
  set -e
  [[ $rc -eq 2 ]] || fail "$bin with an unknown config key exited $rc, want 2"
  grep -qF "$WORK/bad.yaml:2: unknown key \"metrics-lisen\"" "$WORK/err.txt" ||
    fail "$bin's error does not name file, line and key: $(cat "$WORK/err.txt")"
done
echo "ok: an unknown --config key is an error naming file:line and key"

if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP (rest): starting a controller in its own network namespace needs root"
  exit 0
fi
ip netns add "$NS"
ip netns exec "$NS" ip link set lo up
port=$((20000 + $$ % 20000))
# The shipped example, with its paths in the scratch dir and no TCP
# listener (so --metrics-listen serves plain HTTP on loopback).
sed -e "s|/var/lib/ferry|$WORK/data|; s|/var/log/ferry|$WORK|" \
  -e "s|^  - 0.0.0.0:7443$||; s|unix:/run/ferry/ferry.sock|unix:$WORK/c.sock|" \
  -e "s|^metrics-listen: .*|metrics-listen: 127.0.0.1:$port|; s|^log-format: .*|log-format: json|" \
  "$FERRY_SRC/manifests/config/controller.yaml" >"$WORK/controller.yaml"
# The command line overrides the file, in either spelling.
ip netns exec "$NS" "$FERRY_BIN/ferry-controller" --config "$WORK/controller.yaml" \
  --pending_grace 2s --watch-stall-timeout=20s >"$WORK/controller.log" 2>&1 &
CONTROLLER_PID=$!
for _ in $(seq 200); do
  [[ -S $WORK/c.sock ]] && break
  kill -0 "$CONTROLLER_PID" 2>/dev/null || fail "the controller exited: $(tail -n 5 "$WORK/controller.log")"
  sleep 0.05
done
[[ -S $WORK/c.sock ]] || fail "no controller socket within 10 s"
FERRY_SERVER=unix:$WORK/c.sock "$FERRY_BIN/ferryctl" get nodes >/dev/null 2>&1 ||
  fail "ferryctl get nodes failed against the controller"
ip netns exec "$NS" curl -sf "http://127.0.0.1:$port/metrics" >"$WORK/metrics.txt" ||
  fail "no /metrics on the config's metrics-listen 127.0.0.1:$port"
for want in "ferry_build_info{version=\"$version\",component=\"controller\"} 1" \
  "process_resident_memory_bytes " "process_cpu_seconds_total " "process_open_fds " \
  "process_start_time_seconds " "ferry_grpc_requests_total{method=\"/ferry.v1.ResourceService/" \
  "ferry_grpc_request_seconds_bucket{method=\"/ferry.v1.ResourceService/"; do
  grep -qF -- "$want" "$WORK/metrics.txt" || fail "/metrics lacks: $want"
done
echo "ok: the controller from the example config serves build, process and gRPC metrics"
# Every log line is one JSON object with ts, level and msg.
python3 - "$WORK/controller.log" <<'PY' || fail "the controller's log is not JSON lines"
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
assert lines, "no log lines"
for line in lines:
    record = json.loads(line)
    assert {"ts", "level", "msg"} <= record.keys(), line
print(f"ok: {len(lines)} log lines, each a JSON object with ts, level and msg")
PY
echo "PASS"
