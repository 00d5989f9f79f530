#!/usr/bin/env bash
# Restarting the whole fleet, in any order, converges. With the seed's
# topology and forwards (Preserve over TCP and UDP, IPv6, Masquerade), the
# controller and both agents are stopped, then started again in a different
# order each round. Each round also applies a new forward as soon as the
# controller is back (before any agent that starts later), so convergence
# means the agents really applied the current config, not that old status
# still reads Ready. After each round: every forward Ready, both nodes
# Connected, and traffic flows with the client's address preserved.
source "$(dirname "$0")/lib.sh"
source "$(dirname "$0")/fault_lib.sh"
trap cleanup EXIT
need_root

make_topology
start_backend_servers 8080
start_backend_servers 9090
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b
ferryctl apply -f "$EXAMPLES/web-forward.yaml" >/dev/null
ferryctl apply -f "$EXAMPLES/web6-forward.yaml" >/dev/null
# Masquerade needs a backend port of its own (masquerade is decided on the
# backend tuple).
sed -e 's/name: web$/name: masq/' -e 's/port: 80$/port: 8000/' -e 's/port: 5353$/port: 5354/' \
  -e 's/targetPort: 8080/targetPort: 9090/' -e 's/sourceIP: Preserve/sourceIP: Masquerade/' \
  "$EXAMPLES/web-forward.yaml" >"$WORK/masq.yaml"
ferryctl apply -f "$WORK/masq.yaml" >/dev/null
wait_for "initial forwards ready" 30 fleet_converged

traffic_ok() {  # traffic_ok ROUND_PORT: every forward serves, as declared
  expect_eq "TCP Preserve" "$CLIENT" "$(seen_by_backend http://192.0.2.1/)"
  expect_eq "UDP Preserve" "$CLIENT" "$(udp_seen_by_backend 192.0.2.1 5353)"
  expect_eq "IPv6 Preserve" "2001:db8::10" "$(seen_by_backend 'http://[2001:db8::1]/')"
  expect_eq "TCP Masquerade" "10.8.0.1" "$(seen_by_backend http://192.0.2.1:8000/)"
  [[ -z ${1:-} ]] ||
    expect_eq "TCP through this round's forward" "$CLIENT" "$(seen_by_backend "http://192.0.2.1:$1/")"
}
traffic_ok

stop_fleet() {  # stop_fleet SIGNAL ORDER: ORDER is e.g. "node-b,controller,node-a"
  local part
  for part in ${2//,/ }; do
    case $part in
      controller) stop_process "$CONTROLLER_PID" "$1" ;;
      node-a) stop_process "$AGENT_PID_node_a" "$1" ;;
      node-b) stop_process "$AGENT_PID_node_b" "$1" ;;
    esac
  done
}

# run_round NAME SIGNAL STOP_ORDER PORT STEP...: stop everything with SIGNAL
# in STOP_ORDER, then run the steps (controller, node-a, node-b) in the
# given order; the round's forward on PORT is applied right after the
# controller is back.
run_round() {
  local name=$1 sig=$2 stop_order=$3 port=$4 step; shift 4
  log "round '$name': stop $stop_order (SIG$sig), start $*"
  stop_fleet "$sig" "$stop_order"
  for step in "$@"; do
    case $step in
      controller)
        start_controller
        ferryctl apply -f "$(extra_forward "round-$port" "$port")" >/dev/null ;;
      node-a) start_agent "$NS_A" node-a ;;
      node-b) start_agent "$NS_B" node-b ;;
    esac
  done
  wait_for "fleet converged after round '$name'" 60 fleet_converged
  traffic_ok "$port"
  log "ok: round '$name' converged and traffic flows"
}

# All six start orders, each after a different stop order, with both
# SIGTERM and SIGKILL.
run_round "agents first, then controller" TERM controller,node-a,node-b 8201 \
  node-a node-b controller
run_round "controller, node-b, node-a" KILL node-a,node-b,controller 8202 \
  controller node-b node-a
run_round "node-b, controller, node-a" TERM node-b,controller,node-a 8203 \
  node-b controller node-a
run_round "node-a, controller, node-b" KILL controller,node-b,node-a 8204 \
  node-a controller node-b
run_round "controller, node-a, node-b" TERM node-a,controller,node-b 8205 \
  controller node-a node-b
run_round "node-b, node-a, controller" KILL node-b,node-a,controller 8206 \
  node-b node-a controller
log "PASS"
