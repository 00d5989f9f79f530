"""A bounded request loop through a forward, counting every failure.

Runs in the client's namespace for the whole of a fault test. Each round
opens a new TCP connection (so every request is a new conntrack entry that
node-a's DNAT must translate) and sends one HTTP GET, then sends one UDP
datagram from a new socket (a new source port, again a new flow). A request
succeeds only if node-b's answer names the expected client address.

Stops when the stop file appears or after --max-seconds, whichever is first.
The summary file is rewritten after every round, so the test can read the
counts at any moment; failures are also logged one per line with the time.
"""
import argparse
import json
import os
import socket
import sys
import time


def http_once(host, port, timeout):
    with socket.create_connection((host, port), timeout=timeout) as s:
        s.sendall(b"GET / HTTP/1.0\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.0 200") and not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError("status line %r" % head.split(b"\r\n")[0])
    return body.decode().strip()


def udp_once(host, port, timeout):
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.settimeout(timeout)
        s.sendto(b"who", (host, port))
        return s.recvfrom(2048)[0].decode().strip()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--host", required=True)
    p.add_argument("--tcp-port", type=int, required=True)
    p.add_argument("--udp-port", type=int, default=0)
    p.add_argument("--expect", required=True, help="the address node-b must see")
    p.add_argument("--interval", type=float, default=0.05)
    p.add_argument("--timeout", type=float, default=2.0)
    p.add_argument("--max-seconds", type=float, required=True)
    p.add_argument("--stop-file", required=True)
    p.add_argument("--summary", required=True)
    args = p.parse_args()

    counts = {"tcp_ok": 0, "tcp_fail": 0, "udp_ok": 0, "udp_fail": 0,
              "tcp_max_ms": 0.0, "udp_max_ms": 0.0, "rounds": 0}
    checks = [("tcp", http_once, args.tcp_port)]
    if args.udp_port:
        checks.append(("udp", udp_once, args.udp_port))
    deadline = time.monotonic() + args.max_seconds
    while time.monotonic() < deadline and not os.path.exists(args.stop_file):
        for name, once, port in checks:
            start = time.monotonic()
            try:
                seen = once(args.host, port, args.timeout)
                ok = seen == args.expect
                why = "saw %r" % seen
            except Exception as e:  # every failure counts, whatever its kind
                ok, why = False, "%s: %s" % (type(e).__name__, e)
            ms = (time.monotonic() - start) * 1000
            counts[name + "_max_ms"] = round(max(counts[name + "_max_ms"], ms), 1)
            if ok:
                counts[name + "_ok"] += 1
            else:
                counts[name + "_fail"] += 1
                print("%s %s request failed after %.0f ms: %s"
                      % (time.strftime("%H:%M:%S"), name, ms, why), file=sys.stderr, flush=True)
        counts["rounds"] += 1
        tmp = args.summary + ".tmp"
        with open(tmp, "w") as f:
            json.dump(counts, f)
        os.replace(tmp, args.summary)
        time.sleep(args.interval)


if __name__ == "__main__":
    main()
