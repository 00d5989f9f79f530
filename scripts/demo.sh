#!/usr/bin/env bash
# The seed's scenario as a demo: namespaces for a client, node-a and node-b on
# one bridge, a wireguard-go tunnel between the nodes, a web server on node-b,
# the controller on its embedded SQLite store, one agent per node, and the
# forward from manifests/examples/. Cleans everything up on exit.
source "$(dirname "$0")/../tests/e2e/lib.sh"
trap cleanup EXIT
need_root

log "building the test network: client 192.0.2.10, node-a 192.0.2.1, node-b 192.0.2.2, tunnel 10.8.0.0/24"
make_topology
start_backend_servers 8080
log "starting ferry-controller (store: $WORK/data/ferry.db) and one ferry-agent per node"
start_controller
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b
ferryctl get nodes

log "\$ ferryctl apply -f manifests/examples/web-forward.yaml"
ferryctl apply -f "$FERRY_SRC/manifests/examples/web-forward.yaml"
ferryctl wait forward/web --for=condition=Ready --timeout=30s
ferryctl get forwards -o wide
log "node-a's nftables table:"
in_ns "$NS_A" nft list table inet ferry
log "node-b's return path:"
in_ns "$NS_B" ip rule list | grep lookup\ 7 || true
in_ns "$NS_B" ip route show table all proto 254

log "client 192.0.2.10 -> http://192.0.2.1/ (node-a); node-b's server answers with the address it saw:"
seen=$(seen_by_backend http://192.0.2.1/)
echo "node-b saw the request come from: $seen"
[[ $seen == 192.0.2.10 ]] || fail "expected node-b to see the client 192.0.2.10"
log "the client's address was preserved; cleaning up"
ferryctl delete forward web
