# shellcheck shell=bash
# An etcd cluster for the controller-replica scenarios; sourced before or
# after lib.sh (its functions use lib.sh's helpers). The members run inside
# one of the test's namespaces (ETCD_NS), on its loopback, so controllers
# there reach them and nothing listens in the root namespace. Each member's
# pid is in PIDS as well, so lib.sh's cleanup stops them; their data dirs
# and logs are under $WORK.

ETCD_NS=
ETCD_NAMES=()
declare -A ETCD_PID=()       # member name -> pid (`ip netns exec` execs etcd); empty once killed
declare -A ETCD_URL=()       # member name -> client URL
declare -A ETCD_PEER_URL=()  # member name -> peer URL
ETCD_INITIAL_CLUSTER=
ETCD_ENDPOINTS=              # every member's client URL, comma-separated (the controllers' flag)
ETCD_LIVE_ENDPOINTS=         # those of the members running (etcdctl_ns asks these)

# etcd_skip_unless_installed: exit 77 (skip) with the reason when etcd or
# etcdctl is missing. Call it before sourcing lib.sh (no work dir yet).
etcd_skip_unless_installed() {
  local tool
  for tool in etcd etcdctl; do
    command -v "$tool" >/dev/null || {
      echo "SKIP: $tool is not installed (Debian: apt-get install etcd-server etcd-client)" >&2
      exit 77
    }
  done
}

# free_ports_in NS COUNT: COUNT distinct TCP ports on 127.0.0.1 in NS, free
# a moment ago (all bound at once, so no two are alike).
free_ports_in() {
  in_ns "$1" python3 -c '
import socket, sys
socks = [socket.socket() for _ in range(int(sys.argv[1]))]
for s in socks: s.bind(("127.0.0.1", 0))
print(" ".join(str(s.getsockname()[1]) for s in socks))' "$2"
}

# etcdctl_ns ARGS...: etcdctl in ETCD_NS against the running members,
# bounded.
etcdctl_ns() {
  in_ns "$ETCD_NS" etcdctl --endpoints "$ETCD_LIVE_ENDPOINTS" --dial-timeout 2s \
    --command-timeout 5s "$@"
}

# start_etcd_cluster NS [MEMBERS]: a new cluster of MEMBERS (default 3)
# etcd1..etcdN on NS's 127.0.0.1; returns once every member is healthy.
start_etcd_cluster() {
  ETCD_NS=$1
  local count=${2:-3} ports i name urls=()
  read -r -a ports <<<"$(free_ports_in "$ETCD_NS" $((2 * count)))"
  for ((i = 1; i <= count; i++)); do
    name=etcd$i
    ETCD_NAMES+=("$name")
    ETCD_URL[$name]=http://127.0.0.1:${ports[2 * i - 2]}
    ETCD_PEER_URL[$name]=http://127.0.0.1:${ports[2 * i - 1]}
    urls+=("${ETCD_URL[$name]}")
    ETCD_INITIAL_CLUSTER+=${ETCD_INITIAL_CLUSTER:+,}$name=${ETCD_PEER_URL[$name]}
  done
  ETCD_ENDPOINTS=$(IFS=,; echo "${urls[*]}")
  for name in "${ETCD_NAMES[@]}"; do start_etcd_member "$name"; done
  wait_for "etcd cluster of $count healthy ($ETCD_ENDPOINTS)" 30 etcd_all_healthy "$count"
  log "etcd: $count members healthy in $ETCD_NS: $ETCD_ENDPOINTS"
}

# start_etcd_member NAME: starts (or restarts, on its data dir: etcd then
# ignores the --initial-cluster flags and rejoins) one member.
start_etcd_member() {
  local name=$1
  ip netns exec "$ETCD_NS" etcd --name "$name" --data-dir "$WORK/$name" \
    --listen-client-urls "${ETCD_URL[$name]}" --advertise-client-urls "${ETCD_URL[$name]}" \
    --listen-peer-urls "${ETCD_PEER_URL[$name]}" \
    --initial-advertise-peer-urls "${ETCD_PEER_URL[$name]}" \
    --initial-cluster "$ETCD_INITIAL_CLUSTER" --initial-cluster-state new \
    --initial-cluster-token "ferry-e2e-$FX_ID-$$" \
    --max-txn-ops 100000 --max-request-bytes 67108864 \
    --logger zap --log-outputs stderr >>"$WORK/$name.log" 2>&1 &
  ETCD_PID[$name]=$!
  PIDS+=($!)
  etcd_update_live
}

# etcd_update_live: ETCD_LIVE_ENDPOINTS from the members that have a pid.
etcd_update_live() {
  local live=() name
  for name in "${ETCD_NAMES[@]}"; do [[ -n ${ETCD_PID[$name]:-} ]] && live+=("${ETCD_URL[$name]}"); done
  ETCD_LIVE_ENDPOINTS=$(IFS=,; echo "${live[*]}")
}

# etcd_all_healthy COUNT: COUNT members answer as healthy.
etcd_all_healthy() {
  local healthy
  healthy=$(etcdctl_ns endpoint health 2>&1 | grep -c 'is healthy' || true)
  ((healthy == $1))
}

# etcd_caught_up COUNT: COUNT members answer, all in one raft term, their
# applied indexes within 20 of each other (writers may be busy meanwhile).
etcd_caught_up() {
  etcdctl_ns endpoint status 2>/dev/null | awk -F', ' -v want="$1" '
    { n++; term[$7] = 1; if (min == "" || $9 < min) min = $9; if ($9 > max) max = $9 }
    END { terms = 0; for (t in term) terms++; exit !(n == want && terms == 1 && max - min <= 20) }'
}

# etcd_leader_member: the name of the member that is the etcd leader, from
# `endpoint status` (IS LEADER is its fifth column); fails when none is.
etcd_leader_member() {
  local url name
  url=$(etcdctl_ns endpoint status 2>/dev/null | awk -F', ' '$5 == "true" {print $1}')
  for name in "${ETCD_NAMES[@]}"; do
    if [[ -n $url && ${ETCD_URL[$name]} == "$url" ]]; then
      echo "$name"
      return 0
    fi
  done
  return 1
}

# kill_etcd_member NAME: SIGKILL, reaped; etcdctl_ns stops asking it
# (ETCD_ENDPOINTS, the controllers' list, stays whole).
kill_etcd_member() {
  stop_process "${ETCD_PID[$1]}" KILL
  ETCD_PID[$1]=
  etcd_update_live
}

# etcd_stop_members: SIGKILL to every member still running, reaped (their
# data dirs go with $WORK); for exit traps, so it never fails.
etcd_stop_members() {
  local name pid
  for name in "${ETCD_NAMES[@]}"; do
    pid=${ETCD_PID[$name]:-}
    [[ -n $pid ]] || continue
    kill -9 "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    forget_pid "$pid"
    ETCD_PID[$name]=
  done
  return 0
}
