#!/usr/bin/env bash
# The web dashboard in a real browser (Debian's chromium, headless): the
# seed's lab with two forwards, one of them Alert with its DNAT element
# deleted on node-a. The page must render both nodes, both forwards and the
# drifted one; then, with the page open, a new event (web's element deleted
# and repaired) must appear in it without a reload. The screenshot goes to
# $WORK/dashboard.png (docs/dashboard.png is one of these). The browser only
# loads the loopback URL, with a throwaway profile.
source "$(dirname "$0")/lib.sh"
trap cleanup EXIT
need_root
CHROMIUM=$(command -v chromium || true)
if [[ -z $CHROMIUM ]]; then
  echo "SKIP: chromium is not installed (apt-get install --no-install-recommends chromium)" >&2
  exit 77
fi
CHROMIUM_FLAGS=(--headless=new --no-sandbox --disable-gpu --no-first-run
  --disable-background-networking --disable-component-update --disable-sync
  --metrics-recording-only --no-default-browser-check --hide-scrollbars
  --window-size=1280,900 --user-data-dir="$WORK/chromium-profile")

METRICS_PORT=$(free_port)
URL="http://127.0.0.1:$METRICS_PORT/"

make_topology
start_backend_servers 8080
start_backend_servers 9090
# Unix socket only and a loopback address: the listener is plain HTTP.
CONTROLLER_FLAGS=(--metrics-listen "127.0.0.1:$METRICS_PORT")
start_controller
grep -q 'metrics-listen serves plain HTTP' "$WORK/controller.log" ||
  fail "the controller did not log that --metrics-listen is plain HTTP"
start_agent "$NS_A" node-a
start_agent "$NS_B" node-b
wait_for "node-a connected" 20 node_connected node-a
wait_for "node-b connected" 20 node_connected node-b

cat >"$WORK/forwards.yaml" <<YAML
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: web}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 80, targetPort: 8080}]
---
apiVersion: ferry.dev/v1
kind: IPForward
metadata: {name: audit}
spec:
  frontend: {nodeName: node-a, address: 192.0.2.1}
  backend: {nodeName: node-b, address: 10.8.0.2}
  ports: [{protocol: TCP, port: 81, targetPort: 9090}]
  driftPolicy: Alert
YAML
ferryctl apply -f "$WORK/forwards.yaml"
ferryctl wait forwards --all --for=condition=Ready --timeout=30s

drifted() {
  ferryctl get forward audit -o json | python3 -c '
import json, sys
c = [c for c in json.load(sys.stdin).get("status", {}).get("conditions", []) if c["type"] == "Drifted"]
sys.exit(0 if c and c[0]["status"] == "True" else 1)'
}
in_ns "$NS_A" nft delete element inet ferry dnat4 '{ 192.0.2.1 . tcp . 81 }'
wait_for "audit Drifted" 20 drifted

# Read-only: anything but GET is refused.
[[ $(curl -s -o /dev/null -w '%{http_code}' -X POST "${URL}api/v1/forwards") == 405 ]] ||
  fail "POST was not refused with 405"

# 1. The rendered DOM, polled (bounded) until the script has drawn a snapshot.
rendered() {
  timeout 30 "$CHROMIUM" "${CHROMIUM_FLAGS[@]}" --dump-dom "$URL" >"$WORK/dom.html" \
    2>>"$WORK/chromium.log" || return 1
  grep -q 'data-forward="audit"' "$WORK/dom.html"
}
wait_for "the dashboard renders the forwards" 60 rendered
for want in 'data-node="node-a" data-connected="True"' 'data-node="node-b" data-connected="True"' \
  'data-forward="web" data-ready="True" data-drifted="False"' \
  'data-forward="audit" data-ready="True" data-drifted="True"' \
  '192.0.2.1' 'node-b/10.8.0.2' '80→8080/TCP' '81→9090/TCP' 'data-reason="DriftDetected"'; do
  grep -qF "$want" "$WORK/dom.html" || fail "the rendered page lacks: $want"
done
# Every value is text: a script element is only the page's own.
[[ $(grep -o '<script' "$WORK/dom.html" | wc -l) == 1 ]] || fail "unexpected script elements"
log "rendered: nodes, forwards, the drifted forward and its event"

# 2. One page kept open over the DevTools pipe: screenshot, then a new event
#    must reach the page without a reload.
cat >"$WORK/cdp.py" <<'PY'
import json, os, subprocess, sys, time, base64
chromium, url, shot, cause = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
flags = json.loads(os.environ["CHROMIUM_FLAGS_JSON"])
to_browser_r, to_browser_w = os.pipe()
from_browser_r, from_browser_w = os.pipe()
os.set_inheritable(to_browser_r, True); os.set_inheritable(from_browser_w, True)
proc = subprocess.Popen([chromium, *flags, "--remote-debugging-pipe", "about:blank"],
    pass_fds=(3, 4), preexec_fn=lambda: (lambda a, b: (os.dup2(a, 3), os.dup2(b, 4)))(
        os.dup(to_browser_r), os.dup(from_browser_w)),
    stderr=open(os.environ["CHROMIUM_LOG"], "a"))
os.close(to_browser_r); os.close(from_browser_w)
out, inbox, next_id = os.fdopen(to_browser_w, "wb"), os.fdopen(from_browser_r, "rb"), [0]
def call(method, session=None, **params):
    next_id[0] += 1
    msg = {"id": next_id[0], "method": method, "params": params}
    if session: msg["sessionId"] = session
    out.write(json.dumps(msg).encode() + b"\0"); out.flush()
    buf = b""
    while True:
        ch = inbox.read(1)
        if not ch: raise SystemExit("chromium closed the DevTools pipe")
        if ch != b"\0": buf += ch; continue
        reply, buf = json.loads(buf), b""
        if reply.get("id") == next_id[0]:
            if "error" in reply: raise SystemExit(f"{method}: {reply['error']}")
            return reply["result"]
def until(what, seconds, fn):
    deadline = time.time() + seconds
    while time.time() < deadline:
        value = fn()
        if value: return value
        time.sleep(0.2)
    raise SystemExit(f"timed out after {seconds}s waiting for {what}")
try:
    target = call("Target.createTarget", url=url)["targetId"]
    session = call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
    def page(expr):
        return call("Runtime.evaluate", session, expression=expr, returnByValue=True)["result"].get("value")
    # None until the page's body exists: not yet, rather than an error.
    until("the first snapshot", 20, lambda: int(page("document.body.dataset.updates || 0") or 0) > 0
          and page("!!document.querySelector('[data-forward=audit]')"))
    png = call("Page.captureScreenshot", session, format="png")["data"]
    open(shot, "wb").write(base64.b64decode(png))
    origin = page("performance.timeOrigin")
    if int(page("document.body.dataset.liveEvents") or 0) != 0: raise SystemExit("live events before any")
    subprocess.run(["bash", "-c", cause], check=True)
    live = until("a live event in the page", 20,
                 lambda: int(page("document.body.dataset.liveEvents") or 0) > 0 and
                 page("[...document.querySelectorAll('#events li[data-live]')].map(li => li.dataset.reason).join(',')"))
    if page("performance.timeOrigin") != origin: raise SystemExit("the page was reloaded")
    print(live)
finally:
    proc.terminate(); proc.wait(timeout=10)
PY
CHROMIUM_FLAGS_JSON=$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "${CHROMIUM_FLAGS[@]}")
export CHROMIUM_FLAGS_JSON CHROMIUM_LOG="$WORK/chromium.log"
# The cause: web's element deleted on node-a; its agent repairs it (Enforce)
# and the controller records DriftRepaired.
CAUSE="ip netns exec $NS_A nft delete element inet ferry dnat4 '{ 192.0.2.1 . tcp . 80 }'"
live=$(timeout 90 python3 "$WORK/cdp.py" "$CHROMIUM" "$URL" "$WORK/dashboard.png" "$CAUSE") ||
  fail "the page did not show a live event (see chromium.log)"
[[ $live == *Drift* ]] || fail "the live event is not the drift of web: $live"
[[ $(head -c 8 "$WORK/dashboard.png" | od -An -tx1 | tr -d ' \n') == 89504e470d0a1a0a ]] ||
  fail "no PNG screenshot"
log "live event without reload: $live; screenshot $WORK/dashboard.png"
if [[ -n ${FERRY_DASHBOARD_PNG:-} ]]; then cp "$WORK/dashboard.png" "$FERRY_DASHBOARD_PNG"; fi
log "PASS"
