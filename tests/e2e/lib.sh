# Shared harness for Ferry's namespace scenarios (sourced by tests and by the demo).
#
# Topology (all in namespaces this script creates; nothing in the root netns
# changes):
#
#   client 192.0.2.10 ──┐
#   node-a 192.0.2.1  ──┼── bridge (in the "lan" namespace)
#   node-b 192.0.2.2  ──┘
#   node-a wg 10.8.0.1/24 <── wireguard-go tunnel ──> node-b wg 10.8.0.2/24
#
# The controller listens on a unix socket, which agents in other network
# namespaces reach through the file system, so no route to the root
# namespace is ever needed.

set -euo pipefail

FERRY_SRC=${FERRY_SRC:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
FERRY_BIN=${FERRY_BIN:-$FERRY_SRC/build/bin}

# Unique per run, short (interface names are at most 15 characters).
FX_ID=${FX_ID:-$(printf '%x' $(( ($$ ^ RANDOM) & 0xffff )))}
NS_LAN=fx-$FX_ID-lan
NS_CLIENT=fx-$FX_ID-client
NS_A=fx-$FX_ID-a
NS_B=fx-$FX_ID-b
WG_A=fxa$FX_ID          # wireguard-go's UAPI socket path is global: distinct names
WG_B=fxb$FX_ID
WORK=$(mktemp -d /tmp/ferry-e2e.XXXXXX)
SOCK=$WORK/controller.sock
export FERRY_SERVER=unix:$SOCK

PIDS=()
CONTROLLER_FLAGS=()
# Optional: the namespace the controller runs in (for a TCP listener that
# agents reach over a link the test can cut), and further namespaces a test
# creates; cleanup removes them too.
CONTROLLER_NS=
EXTRA_NS=()
EXTRA_WG=()  # further wireguard-go interfaces a test starts; cleanup removes their sockets

log() { printf '[%s] %s\n' "$(date +%H:%M:%S.%3N)" "$*" >&2; }
fail() { log "FAIL: $*"; exit 1; }

in_ns() { local ns=$1; shift; ip netns exec "$ns" "$@"; }

expect_eq() {  # expect_eq WHAT EXPECTED ACTUAL
  [[ $2 == "$3" ]] || fail "$1: expected '$2', got '$3'"
  log "ok: $1 = $3"
}

# free_port: a TCP port on 127.0.0.1 that was free a moment ago.
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

cleanup() {
  local rc=$?
  set +e
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null; done
  for pid in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
  done
  for ns in "$NS_CLIENT" "$NS_A" "$NS_B" "$NS_LAN" "${EXTRA_NS[@]}"; do
    ip netns pids "$ns" 2>/dev/null | xargs -r kill -9 2>/dev/null
    ip netns del "$ns" 2>/dev/null
  done
  for wg in "$WG_A" "$WG_B" "${EXTRA_WG[@]}"; do rm -f "/var/run/wireguard/$wg.sock"; done
  if [[ -n ${FERRY_KEEP_WORK:-} && -d $WORK ]]; then
    log "FERRY_KEEP_WORK: logs kept in $WORK"
  elif [[ $rc -ne 0 && -d $WORK ]]; then
    log "logs kept in $WORK"
    for f in "$WORK"/*.log; do [[ -f $f ]] && { echo "--- $f (tail)"; tail -n 30 "$f"; }; done >&2
  else
    rm -rf "$WORK"
  fi
  return $rc
}

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: polls a condition, bounded.
wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$(( $(date +%s%N) + timeout * 1000000000 ))
  while (( $(date +%s%N) < deadline )); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.05
  done
  fail "timed out after ${timeout}s waiting for: $what"
}

need_root() {
  if [[ $(id -u) -ne 0 ]]; then
    echo "SKIP: needs root to create network namespaces" >&2
    exit 77
  fi
  for tool in ip nft wireguard-go wg curl python3; do
    command -v "$tool" >/dev/null || fail "missing tool: $tool (run the README's install step)"
  done
}

make_topology() {
  for ns in "$NS_LAN" "$NS_CLIENT" "$NS_A" "$NS_B"; do ip netns add "$ns"; done
  in_ns "$NS_LAN" ip link add br0 type bridge
  in_ns "$NS_LAN" ip link set br0 up
  local i=0
  for pair in "$NS_CLIENT:192.0.2.10:2001:db8::10" "$NS_A:192.0.2.1:2001:db8::1" "$NS_B:192.0.2.2:2001:db8::2"; do
    local ns=${pair%%:*} rest=${pair#*:}
    local v4=${rest%%:*} v6=${rest#*:}
    i=$((i + 1))
    ip link add "fx${FX_ID}p$i" type veth peer name eth0 netns "$ns"
    ip link set "fx${FX_ID}p$i" netns "$NS_LAN"
    in_ns "$NS_LAN" ip link set "fx${FX_ID}p$i" master br0 up
    in_ns "$ns" ip link set lo up
    in_ns "$ns" ip link set eth0 up
    in_ns "$ns" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.eth0.accept_dad=0
    in_ns "$ns" ip addr add "$v4/24" dev eth0
    in_ns "$ns" ip addr add "$v6/64" dev eth0 nodad
  done
  make_tunnel
}

# A real WireGuard tunnel between node-a and node-b, with wireguard-go.
make_tunnel() {
  local ka kb
  ka=$(wg genkey); kb=$(wg genkey)
  mkdir -p /var/run/wireguard
  in_ns "$NS_A" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_A" >"$WORK/wg-a.log" 2>&1 &
  PIDS+=($!)
  in_ns "$NS_B" env WG_PROCESS_FOREGROUND=1 wireguard-go "$WG_B" >"$WORK/wg-b.log" 2>&1 &
  PIDS+=($!)
  wait_for "wireguard-go interface $WG_A" 10 in_ns "$NS_A" ip link show "$WG_A"
  wait_for "wireguard-go interface $WG_B" 10 in_ns "$NS_B" ip link show "$WG_B"
  wait_for "wireguard-go socket $WG_A" 10 test -S "/var/run/wireguard/$WG_A.sock"
  wait_for "wireguard-go socket $WG_B" 10 test -S "/var/run/wireguard/$WG_B.sock"
  in_ns "$NS_A" wg set "$WG_A" listen-port 51820 private-key <(echo "$ka") \
    peer "$(echo "$kb" | wg pubkey)" endpoint 192.0.2.2:51821 allowed-ips 10.8.0.2/32,fd00:8::2/128
  # node-b's peer allows any source: replies to clients go back through node-a.
  in_ns "$NS_B" wg set "$WG_B" listen-port 51821 private-key <(echo "$kb") \
    peer "$(echo "$ka" | wg pubkey)" endpoint 192.0.2.1:51820 allowed-ips 0.0.0.0/0,::/0
  in_ns "$NS_A" ip addr add 10.8.0.1/24 dev "$WG_A"
  in_ns "$NS_A" ip addr add fd00:8::1/64 dev "$WG_A" nodad
  in_ns "$NS_B" ip addr add 10.8.0.2/24 dev "$WG_B"
  in_ns "$NS_B" ip addr add fd00:8::2/64 dev "$WG_B" nodad
  in_ns "$NS_A" ip link set "$WG_A" up
  in_ns "$NS_B" ip link set "$WG_B" up
  wait_for "tunnel ping a->b" 10 in_ns "$NS_A" ping -c1 -W1 10.8.0.2
}

# An HTTP server on node-b's tunnel address that answers with the client
# address it saw, and a UDP echo that does the same.
start_backend_servers() {
  local port=${1:-8080}
  in_ns "$NS_B" python3 "$FERRY_SRC/tests/e2e/whoami_server.py" --port "$port" \
    >"$WORK/whoami-$port.log" 2>&1 &
  PIDS+=($!)
  wait_for "whoami server on node-b :$port" 10 in_ns "$NS_B" curl -sf "http://10.8.0.2:$port/"
}

start_controller() {
  # `ip netns exec` execs the binary, so $! is the controller itself (a
  # test may kill -9 it), in a namespace or not.
  if [[ -n $CONTROLLER_NS ]]; then
    ip netns exec "$CONTROLLER_NS" "$FERRY_BIN/ferry-controller" --data-dir "$WORK/data" \
      --listen "unix:$SOCK" "${CONTROLLER_FLAGS[@]}" >>"$WORK/controller.log" 2>&1 &
  else
    "$FERRY_BIN/ferry-controller" --data-dir "$WORK/data" --listen "unix:$SOCK" \
      "${CONTROLLER_FLAGS[@]}" >>"$WORK/controller.log" 2>&1 &
  fi
  CONTROLLER_PID=$!
  PIDS+=($CONTROLLER_PID)
  wait_for "controller socket" 20 test -S "$SOCK"
  wait_for "controller answers" 20 "$FERRY_BIN/ferryctl" get nodes
}

# start_agent NS NODE_NAME [CONTROLLER [FLAG...]]: the agent runs inside the
# node's namespace; CONTROLLER defaults to the unix socket; FLAG... go to the
# agent as well. AGENT_PID_<node> is the agent's own pid (`ip netns exec`
# execs it), so a test may kill -9 it.
start_agent() {
  local ns=$1 node=$2 target=${3:-unix:$SOCK}
  shift $(( $# < 3 ? $# : 3 ))
  ip netns exec "$ns" "$FERRY_BIN/ferry-agent" --node-name "$node" --controller "$target" \
    --labels "role=${node}" "$@" >>"$WORK/agent-$node.log" 2>&1 &
  PIDS+=($!)
  eval "AGENT_PID_${node//-/_}=$!"
}

# stop_process PID [SIGNAL]: signals a process and waits (bounded) until it
# has exited, so a restart never overlaps the old instance.
stop_process() {
  local pid=$1 sig=${2:-TERM}
  kill "-$sig" "$pid" 2>/dev/null || true
  wait_for "pid $pid to exit after SIG$sig" 20 process_exited "$pid"
  wait "$pid" 2>/dev/null || true  # reap it (it has exited: returns at once)
  forget_pid "$pid"
}

# forget_pid PID: drops a reaped process from PIDS, so cleanup never signals
# whatever process reuses the pid.
forget_pid() {
  local kept=() p
  for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || kept+=("$p"); done
  PIDS=("${kept[@]}")
}

# process_exited PID: gone, or a zombie (exited, not yet reaped).
process_exited() {
  local state
  state=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 0
  [[ -z $state || $state == Z ]]
}

node_connected() {
  "$FERRY_BIN/ferryctl" get node "$1" -o json | python3 -c '
import json,sys
n=json.load(sys.stdin)
c=[c for c in n.get("status",{}).get("conditions",[]) if c["type"]=="Connected"]
sys.exit(0 if c and c[0]["status"]=="True" and n["status"].get("addresses") else 1)'
}

# seen_by_backend URL: what client address node-b's server saw for a request
# the client sends to node-a.
seen_by_backend() {
  in_ns "$NS_CLIENT" curl -sS --max-time 3 "$1"
}

udp_seen_by_backend() {
  in_ns "$NS_CLIENT" python3 "$FERRY_SRC/tests/e2e/udp_probe.py" "$1" "$2"
}

ferryctl() { "$FERRY_BIN/ferryctl" "$@"; }

# event_count REASON OBJECT_NAME...: the summed counts of the events with
# that reason about any of the objects.
event_count() {
  ferryctl get events -o json | python3 -c '
import json, sys
items = json.load(sys.stdin).get("items", [])
print(sum(int(e.get("count", 1)) for e in items
          if e.get("reason") == sys.argv[1] and e.get("involvedObject", {}).get("name") in sys.argv[2:]))' "$@"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# --- Secure fleet (issue 11): the controller on the lan, agents joined by
# token and unprivileged, people with client configs.

# make_controller_ns [ADDR]: a namespace for the controller on the lan
# bridge, ADDR/24 (default 192.0.2.100), so agents and clients reach its TCP
# listener over the lan as they would on real machines. Sets NS_CTL and
# CONTROLLER_NS (start_controller runs there); cleanup removes it.
make_controller_ns() {
  local addr=${1:-192.0.2.100}
  NS_CTL=fx-$FX_ID-ctl
  ip netns add "$NS_CTL"
  EXTRA_NS+=("$NS_CTL")
  CONTROLLER_NS=$NS_CTL
  ip link add "fx${FX_ID}pc" type veth peer name eth0 netns "$NS_CTL"
  ip link set "fx${FX_ID}pc" netns "$NS_LAN"
  in_ns "$NS_LAN" ip link set "fx${FX_ID}pc" master br0 up
  in_ns "$NS_CTL" ip link set lo up
  in_ns "$NS_CTL" ip addr add "$addr/24" dev eth0
  in_ns "$NS_CTL" ip link set eth0 up
  wait_for "client reaches the controller's namespace" 10 in_ns "$NS_CLIENT" ping -c1 -W1 "$addr"
}

# The agent's least privilege: uid nobody, no groups, and CAP_NET_ADMIN as
# its only capability (ambient, so it survives the exec; the bounding set
# holds nothing else, so nothing can be regained).
UNPRIVILEGED=(setpriv --reuid=nobody --regid=nogroup --clear-groups
  --inh-caps=-all,+net_admin --ambient-caps=-all,+net_admin --bounding-set=-all,+net_admin)

# make_agent_state_dir DIR: an empty state dir the unprivileged agent owns,
# 0700. $WORK becomes traversable (not readable) by others so nobody can
# reach it.
make_agent_state_dir() {
  chmod 0711 "$WORK"
  mkdir -p "$1"
  chown nobody:nogroup "$1"
  chmod 0700 "$1"
}

# start_unprivileged_agent NS NODE CONTROLLER STATE_DIR [FLAG...]: like
# start_agent, but as nobody with CAP_NET_ADMIN alone, identified by the
# certificate in STATE_DIR (FLAG... may add --join-token for the first
# start). `ip netns exec` and setpriv exec, so AGENT_PID_<node> is the
# agent's own pid.
start_unprivileged_agent() {
  local ns=$1 node=$2 target=$3 state=$4; shift 4
  ip netns exec "$ns" "${UNPRIVILEGED[@]}" "$FERRY_BIN/ferry-agent" --node-name "$node" \
    --controller "$target" --state-dir "$state" --labels "role=${node}" "$@" \
    >>"$WORK/agent-$node.log" 2>&1 &
  PIDS+=($!)
  eval "AGENT_PID_${node//-/_}=$!"
}

# ferryctl_config CONFIG ARGS...: ferryctl from the client's namespace with
# a client config (mutual TLS to the config's server), as a person on
# another machine would run it.
ferryctl_config() {
  local config=$1; shift
  ip netns exec "$NS_CLIENT" env -u FERRY_SERVER "$FERRY_BIN/ferryctl" --config "$config" "$@"
}
